// OutputLoss: projection, log-softmax and masked cross-entropy against a direct computation and
// finite differences; targets outside the vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/output_loss.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::expect_gradient_matches;
using testing::random_values;

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

}  // namespace
}  // namespace tandem
