// Optimizers against hand-written double-precision references; global-norm clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/errors.h"
#include "ops/optimizer.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using ops::Optimizer;
using ops::OptimizerConfig;
using ops::OptimizerKind;

TEST(Optimizer, SgdWithWeightDecay) {
  OptimizerConfig config;
  config.kind = OptimizerKind::kSgd;
  config.weight_decay = 0.1f;
  Optimizer optimizer(config, 2);
  std::vector<float> params{1.0f, -2.0f};
  const std::vector<float> grads{0.5f, 0.25f};
  optimizer.step(params.data(), grads.data(), 0.1f);
  EXPECT_FLOAT_EQ(params[0], 1.0f - 0.1f * (0.5f + 0.1f * 1.0f));
  EXPECT_FLOAT_EQ(params[1], -2.0f - 0.1f * (0.25f - 0.1f * 2.0f));
}

TEST(Optimizer, MomentumAccumulatesVelocity) {
  OptimizerConfig config;
  config.kind = OptimizerKind::kMomentum;
  config.momentum = 0.9f;
  Optimizer optimizer(config, 1);
  std::vector<float> params{0.0f};
  const std::vector<float> grads{1.0f};
  optimizer.step(params.data(), grads.data(), 0.1f);  // v = 1
  optimizer.step(params.data(), grads.data(), 0.1f);  // v = 1.9
  EXPECT_NEAR(params[0], -0.1 - 0.19, 1e-6);
  EXPECT_NEAR(optimizer.first_moment()[0], 1.9, 1e-6);
}

TEST(Optimizer, AdamMatchesBiasCorrectedReference) {
  OptimizerConfig config;
  config.kind = OptimizerKind::kAdam;
  config.weight_decay = 0.01f;
  Optimizer optimizer(config, 3);
  std::vector<float> params{0.5f, -1.0f, 2.0f};
  std::vector<double> reference(params.begin(), params.end()), m(3, 0.0), v(3, 0.0);
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, decay = 0.01;
  for (int step = 1; step <= 5; ++step) {
    const std::vector<float> grads{0.1f * step, -0.3f, 1e-3f};
    optimizer.step(params.data(), grads.data(), static_cast<float>(lr));
    for (int i = 0; i < 3; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * grads[i];
      v[i] = b2 * v[i] + (1 - b2) * grads[i] * grads[i];
      const double m_hat = m[i] / (1 - std::pow(b1, step)), v_hat = v[i] / (1 - std::pow(b2, step));
      reference[i] -= lr * m_hat / (std::sqrt(v_hat) + eps) + lr * decay * reference[i];
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(params[i], reference[i], 1e-5) << i;
  EXPECT_EQ(optimizer.step_count(), 5);
}

TEST(Optimizer, UnknownNameIsAConfigErrorNamingTheOption) {
  try {
    ops::kOptimizerNames.parse("adamw2");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("optimizer"), std::string::npos);
  }
}

TEST(Clipping, ScalesToMaxNormAndReportsNormBefore) {
  std::vector<float> g{3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(ops::clip_by_global_norm(g.data(), 2, 1.0), 5.0);
  EXPECT_NEAR(g[0], 0.6f, 1e-7);
  EXPECT_NEAR(g[1], 0.8f, 1e-7);
  std::vector<float> small{0.3f, 0.4f};
  EXPECT_NEAR(ops::clip_by_global_norm(small.data(), 2, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small[0], 0.3f);  // below the threshold: untouched
}

TEST(Clipping, NormOfALargeBufferIsExactAndDeterministic) {
  const size_t n = 100003;
  const std::vector<float> g = testing::random_values(n, 17);
  double reference = 0.0;
  for (float x : g) reference += static_cast<double>(x) * x;
  const double first = ops::global_norm(g.data(), n);
  EXPECT_NEAR(first, std::sqrt(reference), 1e-9 * std::sqrt(reference));
  EXPECT_EQ(first, ops::global_norm(g.data(), n));
}

}  // namespace
}  // namespace tandem
