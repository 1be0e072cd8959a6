// The smaller ops: Dense, Embedding, OutputLoss, dropout and the sequence rearrangements, each
// against finite differences or a direct computation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/dense.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/errors.h"
#include "ops/output_loss.h"
#include "ops/sequence_ops.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::expect_gradient_matches;
using testing::expect_near_all;
using testing::random_values;
using testing::weighted_sum;

class DenseTest : public ::testing::TestWithParam<ops::Activation> {};

TEST_P(DenseTest, BackwardMatchesFiniteDifferences) {
  ops::DnnlContext ctx;
  ops::ParamStore store;
  ops::Dense dense(ctx, store, "dense", 5, 3, GetParam());
  store.initialize(3);
  const int64_t M = 4;
  std::vector<float> x = random_values(M * 5, 1), y(M * 3), diff_x(M * 5);
  const std::vector<float> weight = random_values(M * 3, 2);
  auto loss = [&] {
    dense.forward(x.data(), M, y.data());
    return weighted_sum(y.data(), weight);
  };
  loss();
  store.zero_grads();
  dense.backward(x.data(), y.data(), weight.data(), M, diff_x.data());
  expect_gradient_matches("diff_x", x.data(), diff_x.data(), x.size(), loss);
  for (const ops::ParamView& param : store.params())
    expect_gradient_matches(param.name, param.value, param.grad, param.size, loss);
}

INSTANTIATE_TEST_SUITE_P(BothActivations, DenseTest,
                         ::testing::Values(ops::Activation::kNone, ops::Activation::kTanh),
                         [](const auto& info) {
                           return info.param == ops::Activation::kTanh ? "Tanh" : "Linear";
                         });

TEST(Embedding, ForwardGathersAndBackwardScatterAddsExceptPad) {
  ops::ParamStore store;
  ops::Embedding embedding(store, "embedding", 6, 2);
  store.initialize(1);
  const float* table = store.view(embedding.table()).value;
  const std::vector<int32_t> ids{3, 0, 3, 5};
  std::vector<float> out(4 * 2);
  embedding.forward(ids.data(), 4, out.data(), 2);
  for (int m = 0; m < 4; ++m)
    for (int e = 0; e < 2; ++e) EXPECT_EQ(out[m * 2 + e], table[ids[m] * 2 + e]);
  store.zero_grads();
  const std::vector<float> diff{1, 2, 10, 20, 100, 200, 1000, 2000};
  embedding.backward(ids.data(), 4, diff.data(), 2);
  const float* grad = store.view(embedding.table()).grad;
  EXPECT_EQ(grad[3 * 2 + 0], 101.0f);  // id 3 twice: accumulated
  EXPECT_EQ(grad[3 * 2 + 1], 202.0f);
  EXPECT_EQ(grad[5 * 2 + 0], 1000.0f);
  EXPECT_EQ(grad[0], 0.0f);  // <pad> gets no gradient
  EXPECT_EQ(grad[1], 0.0f);
}

TEST(Embedding, OutOfRangeIdThrowsNamingIt) {
  ops::ParamStore store;
  ops::Embedding embedding(store, "embedding", 6, 2);
  store.finalize();
  const std::vector<int32_t> ids{1, 6};
  std::vector<float> out(4);
  try {
    embedding.forward(ids.data(), 2, out.data(), 2);
    FAIL() << "no error";
  } catch (const std::out_of_range& error) {
    EXPECT_NE(std::string(error.what()).find("6"), std::string::npos) << error.what();
  }
}

class OutputLossTest : public ::testing::TestWithParam<float> {};

TEST_P(OutputLossTest, LossMatchesDirectComputationAndGradientFiniteDifferences) {
  const float smoothing = GetParam();
  ops::DnnlContext ctx;
  ops::ParamStore store;
  const int64_t M = 5, H = 4, V = 7;
  ops::OutputLoss output(ctx, store, "output", H, V, smoothing);
  store.initialize(5);
  std::vector<float> h = random_values(M * H, 1);
  const std::vector<int32_t> targets{3, 0, 6, 1, 0};  // two <pad> rows are ignored
  std::vector<float> logprobs(M * V);
  const ops::LossSum loss = output.forward(h.data(), targets.data(), M, logprobs.data());
  EXPECT_EQ(loss.tokens, 3);

  // Direct computation in double from the logits.
  const ops::ParamView* weight = store.find("output/weight");
  const ops::ParamView* bias = store.find("output/bias");
  double expected = 0.0;
  for (int64_t m = 0; m < M; ++m) {
    if (targets[m] == 0) continue;
    std::vector<double> logits(V);
    double max_logit = -1e300, sum = 0.0;
    for (int64_t k = 0; k < V; ++k) {
      logits[k] = bias->value[k];
      for (int64_t j = 0; j < H; ++j)
        logits[k] += static_cast<double>(h[m * H + j]) * weight->value[k * H + j];
      max_logit = std::max(max_logit, logits[k]);
    }
    for (int64_t k = 0; k < V; ++k) sum += std::exp(logits[k] - max_logit);
    for (int64_t k = 0; k < V; ++k) {
      const double logp = logits[k] - max_logit - std::log(sum);
      const double q =
          (k == targets[m] ? 1.0 - smoothing : 0.0) + (k == 0 ? 0.0 : smoothing / (V - 1));
      expected -= q * logp;
    }
  }
  EXPECT_NEAR(loss.loss, expected, 1e-5 * std::fabs(expected));

  auto loss_of = [&] { return output.forward(h.data(), targets.data(), M, logprobs.data()).loss; };
  store.zero_grads();
  output.forward(h.data(), targets.data(), M, logprobs.data());
  std::vector<float> diff_h(M * H);
  output.backward(h.data(), targets.data(), M, 1.0f, logprobs.data(), diff_h.data());
  expect_gradient_matches("diff_h", h.data(), diff_h.data(), h.size(), loss_of);
  for (const ops::ParamView& param : store.params())
    expect_gradient_matches(param.name, param.value, param.grad, param.size, loss_of);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutSmoothing, OutputLossTest, ::testing::Values(0.0f, 0.1f),
                         [](const auto& info) {
                           return info.param == 0.0f ? "Plain" : "LabelSmoothing";
                         });

TEST(OutputLoss, RejectsTargetOutsideVocabulary) {
  ops::DnnlContext ctx;
  ops::ParamStore store;
  ops::OutputLoss output(ctx, store, "output", 2, 5, 0.0f);
  store.initialize(1);
  const std::vector<float> h(2, 0.5f);
  const std::vector<int32_t> targets{5};
  std::vector<float> logprobs(5);
  EXPECT_THROW(output.forward(h.data(), targets.data(), 1, logprobs.data()), std::out_of_range);
}

TEST(Dropout, MaskIsSeededScaledAndSharedByBackward) {
  const int64_t n = 20000;
  const float p = 0.3f;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> y(n), y_again(n), y_other_key(n), diff(n);
  ops::dropout_forward(x.data(), y.data(), n, p, 99);
  ops::dropout_forward(x.data(), y_again.data(), n, p, 99);
  ops::dropout_forward(x.data(), y_other_key.data(), n, p, 100);
  ops::dropout_backward(x.data(), diff.data(), n, p, 99);
  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(y[i] == 0.0f || std::fabs(y[i] - 1.0f / (1.0f - p)) < 1e-6f);
    ASSERT_EQ(y[i], y_again[i]);
    ASSERT_EQ(y[i], diff[i]);  // backward applies the same mask
    kept += y[i] != 0.0f;
    differ += (y[i] != 0.0f) != (y_other_key[i] != 0.0f);
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 0.02);
  EXPECT_GT(differ, n / 10);
}

TEST(SequenceOps, ReverseWithinLengthsIsItsOwnInverseAndZeroesPadding) {
  const int64_t T = 4, N = 2, C = 2;
  const std::vector<int32_t> lengths{4, 2};
  const std::vector<float> x = random_values(T * N * C, 1);
  std::vector<float> reversed(T * N * C), back(T * N * C);
  ops::reverse_sequences(x.data(), T, N, C, lengths.data(), reversed.data());
  EXPECT_EQ(reversed[(0 * N + 1) * C], x[(1 * N + 1) * C]);  // row 1: t=0 <- t=1
  EXPECT_EQ(reversed[(1 * N + 1) * C], x[(0 * N + 1) * C]);
  EXPECT_EQ(reversed[(2 * N + 1) * C], 0.0f);  // padding
  EXPECT_EQ(reversed[(0 * N + 0) * C + 1], x[(3 * N + 0) * C + 1]);
  ops::reverse_sequences(reversed.data(), T, N, C, lengths.data(), back.data());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const size_t i = static_cast<size_t>((t * N + n) * C + c);
        EXPECT_EQ(back[i], t < lengths[n] ? x[i] : 0.0f);
      }
}

}  // namespace
}  // namespace tandem
