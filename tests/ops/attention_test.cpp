// Attention: gradients against finite differences for every score function, the padding mask,
// and step-by-step use equal to all-at-once.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/attention.h"
#include "ops/errors.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using ops::AttentionKind;
using testing::expect_gradient_matches;
using testing::expect_near_all;
using testing::random_values;
using testing::weighted_sum;

class AttentionTest : public ::testing::TestWithParam<AttentionKind> {
 protected:
  static constexpr int64_t S = 4, T = 3, N = 3, H = 5;
  ops::DnnlContext ctx_;
  ops::ParamStore store_;
  ops::Attention attention_{ctx_, store_, "attention", GetParam(), H, H};
  std::vector<int32_t> lengths_{4, 2, 3};  // any order: attention does not need sorting
  std::vector<float> keys_ = random_values(S * N * H, 1);
  std::vector<float> queries_ = random_values(T * N * H, 2);
  void SetUp() override { store_.initialize(7); }
};

TEST_P(AttentionTest, BackwardMatchesFiniteDifferences) {
  const std::vector<float> weight = random_values(T * N * H, 3);
  std::vector<float> context(T * N * H);
  auto loss = [&]() {
    attention_.set_keys(keys_.data(), S, N, lengths_.data());
    attention_.forward(queries_.data(), T, context.data(), nullptr);
    return weighted_sum(context.data(), weight);
  };
  store_.zero_grads();
  ops::AttentionTape tape;
  attention_.set_keys(keys_.data(), S, N, lengths_.data());
  attention_.forward(queries_.data(), T, context.data(), &tape);
  std::vector<float> diff_queries(T * N * H), diff_keys(S * N * H, 0.0f);
  attention_.backward(tape, weight.data(), diff_queries.data());
  attention_.finish_backward(diff_keys.data());

  testing::GradientCheck check;
  check.max_checks = 100;
  expect_gradient_matches("diff_queries", queries_.data(), diff_queries.data(), queries_.size(),
                          loss, check);
  expect_gradient_matches("diff_keys", keys_.data(), diff_keys.data(), keys_.size(), loss, check);
  for (const ops::ParamView& param : store_.params())
    expect_gradient_matches(param.name, param.value, param.grad, param.size, loss, check);
}

TEST_P(AttentionTest, PaddedSourcePositionsGetZeroWeight) {
  std::vector<float> context(T * N * H);
  attention_.set_keys(keys_.data(), S, N, lengths_.data());
  attention_.forward(queries_.data(), T, context.data(), nullptr);
  const float* weights = attention_.last_weights();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      double sum = 0.0;
      for (int64_t s = 0; s < S; ++s) {
        const float w = weights[(n * T + t) * S + s];
        if (s >= lengths_[n]) {
          EXPECT_EQ(w, 0.0f) << "n=" << n << " t=" << t << " s=" << s;
        }
        sum += w;
      }
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  // Changing a padded key changes nothing.
  std::vector<float> context_changed(T * N * H);
  keys_[(3 * N + 1) * H] += 100.0f;  // s = 3 is padding for n = 1
  attention_.set_keys(keys_.data(), S, N, lengths_.data());
  attention_.forward(queries_.data(), T, context_changed.data(), nullptr);
  expect_near_all("context", context.data(), context_changed.data(), context.size(), 0.0);
}

TEST_P(AttentionTest, StepByStepEqualsAllAtOnce) {
  const std::vector<float> weight = random_values(T * N * H, 4);
  std::vector<float> context_all(T * N * H), context_steps(T * N * H);
  std::vector<float> diff_q_all(T * N * H), diff_q_steps(T * N * H);
  std::vector<float> diff_k_all(S * N * H, 0.0f), diff_k_steps(S * N * H, 0.0f);
  ops::AttentionTape tape;

  store_.zero_grads();
  attention_.set_keys(keys_.data(), S, N, lengths_.data());
  attention_.forward(queries_.data(), T, context_all.data(), &tape);
  attention_.backward(tape, weight.data(), diff_q_all.data());
  attention_.finish_backward(diff_k_all.data());
  const std::vector<float> grads_all(store_.grads(), store_.grads() + store_.total_size());

  store_.zero_grads();
  attention_.set_keys(keys_.data(), S, N, lengths_.data());
  for (int64_t t = 0; t < T; ++t)
    attention_.forward(queries_.data() + t * N * H, 1, context_steps.data() + t * N * H, &tape);
  for (int64_t t = T - 1; t >= 0; --t)
    attention_.backward(tape, weight.data() + t * N * H, diff_q_steps.data() + t * N * H);
  attention_.finish_backward(diff_k_steps.data());

  expect_near_all("context", context_all.data(), context_steps.data(), context_all.size(), 1e-6);
  expect_near_all("diff_queries", diff_q_all.data(), diff_q_steps.data(), diff_q_all.size(), 1e-6);
  expect_near_all("diff_keys", diff_k_all.data(), diff_k_steps.data(), diff_k_all.size(), 1e-6);
  expect_near_all("parameter gradients", grads_all.data(), store_.grads(), grads_all.size(), 1e-6);
}

TEST(AttentionConfig, DotAttentionNeedsEqualSizes) {
  ops::DnnlContext ctx;
  ops::ParamStore store;
  try {
    ops::Attention attention(ctx, store, "attention", AttentionKind::kDot, 4, 6);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("attention:"), std::string::npos) << error.what();
  }
}

INSTANTIATE_TEST_SUITE_P(AllScores, AttentionTest,
                         ::testing::Values(AttentionKind::kDot, AttentionKind::kGeneral,
                                           AttentionKind::kAdditive),
                         [](const ::testing::TestParamInfo<AttentionKind>& info) {
                           return info.param == AttentionKind::kDot       ? std::string("Dot")
                                  : info.param == AttentionKind::kGeneral ? std::string("General")
                                                                          : std::string("Additive");
                         });

}  // namespace
}  // namespace tandem
