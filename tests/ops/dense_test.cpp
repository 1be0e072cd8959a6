// Dense (inner product + activation): backward against finite differences.
#include <gtest/gtest.h>

#include <vector>

#include "ops/dense.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::expect_gradient_matches;
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

}  // namespace
}  // namespace tandem
