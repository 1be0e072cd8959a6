// ParamStore: the plan, the flat buffers, and seeded, reproducible initialisers.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "ops/errors.h"
#include "ops/param_store.h"

namespace tandem {
namespace {

using ops::InitKind;
using ops::InitSpec;
using ops::ParamStore;

TEST(ParamStore, DeclarationOrderIsMemoryOrderAndViewsShareOneBuffer) {
  ParamStore store;
  const auto a = store.declare("encoder/a", {3, 5}, {InitKind::kZeros});
  const auto b = store.declare("decoder/b", {7}, {InitKind::kZeros});
  store.finalize();
  EXPECT_EQ(store.view(a).offset, 0u);
  EXPECT_GE(store.view(b).offset, 15u);
  EXPECT_EQ(store.view(b).offset % 16, 0u);  // 64-byte aligned starts
  EXPECT_EQ(store.view(a).value, store.values());
  EXPECT_EQ(store.view(b).grad, store.grads() + store.view(b).offset);
  EXPECT_EQ(store.parameter_count(), 22u);
  EXPECT_EQ(store.find("decoder/b"), &store.view(b));
  EXPECT_EQ(store.find("missing"), nullptr);
}

TEST(ParamStore, RejectsDuplicateNamesBadShapesAndLateDeclarations) {
  ParamStore store;
  store.declare("w", {2}, {InitKind::kZeros});
  EXPECT_THROW(store.declare("w", {2}, {InitKind::kZeros}), ConfigError);
  EXPECT_THROW(store.declare("v", {2, 0}, {InitKind::kZeros}), ConfigError);
  EXPECT_THROW(store.declare("x", {2}, {InitKind::kXavierUniform}), ConfigError);  // no fans
  store.finalize();
  EXPECT_THROW(store.declare("late", {2}, {InitKind::kZeros}), ConfigError);
}

TEST(ParamStore, InitialisersAreSeededReproducibleAndHaveTheirScale) {
  auto build = [](ParamStore& store) {
    store.declare("uniform", {1000}, {InitKind::kUniform, 0.1f});
    store.declare("xavier_uniform", {100, 300}, {InitKind::kXavierUniform, 0, 100, 300});
    store.declare("xavier_normal", {100, 300}, {InitKind::kXavierNormal, 0, 100, 300});
    store.declare("he", {200, 100}, {InitKind::kHeNormal, 0, 200, 0});
    store.declare("zeros", {10}, {InitKind::kZeros});
    store.declare("constant", {10}, {InitKind::kConstant, 1.0f});
  };
  ParamStore first, second, other_seed;
  build(first);
  build(second);
  build(other_seed);
  first.initialize(5);
  second.initialize(5);
  other_seed.initialize(6);
  for (size_t i = 0; i < first.total_size(); ++i) ASSERT_EQ(first.values()[i], second.values()[i]);
  EXPECT_NE(first.values()[0], other_seed.values()[0]);

  auto stats = [](const ops::ParamView* view) {
    double max_abs = 0, sum_sq = 0;
    for (size_t i = 0; i < view->size; ++i) {
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(view->value[i])));
      sum_sq += view->value[i] * view->value[i];
    }
    return std::make_pair(max_abs, std::sqrt(sum_sq / view->size));
  };
  EXPECT_LE(stats(first.find("uniform")).first, 0.1);
  EXPECT_GT(stats(first.find("uniform")).first, 0.09);
  const double xavier_limit = std::sqrt(6.0 / 400.0);
  EXPECT_LE(stats(first.find("xavier_uniform")).first, xavier_limit);
  EXPECT_NEAR(stats(first.find("xavier_uniform")).second, xavier_limit / std::sqrt(3.0),
              0.01 * xavier_limit);
  EXPECT_NEAR(stats(first.find("xavier_normal")).second, std::sqrt(2.0 / 400.0),
              0.02 * std::sqrt(2.0 / 400.0));
  EXPECT_NEAR(stats(first.find("he")).second, std::sqrt(2.0 / 200.0),
              0.02 * std::sqrt(2.0 / 200.0));
  EXPECT_EQ(stats(first.find("zeros")).first, 0.0);
  EXPECT_EQ(first.find("constant")->value[9], 1.0f);
}

TEST(ParamStore, InitPoliciesOverrideTheLayersInitialisers) {
  auto build = [](ParamStore& store) {
    store.declare("embedding", {1000, 64}, {InitKind::kXavierNormal, 0, 1000, 64});
    store.declare("lstm", {32, 4, 16}, {InitKind::kUniform, 0.25f});
    store.declare("bias", {200}, {InitKind::kZeros});
  };
  auto max_abs = [](const ops::ParamView* view) {
    double value = 0;
    for (size_t i = 0; i < view->size; ++i)
      value = std::max(value, std::fabs(static_cast<double>(view->value[i])));
    return value;
  };
  ParamStore layers, uniform, xavier;
  build(layers);
  build(uniform);
  build(xavier);
  layers.initialize(3, ops::parse_init_policy("layers"));
  uniform.initialize(3, ops::parse_init_policy("uniform:0.1"));
  xavier.initialize(3, ops::parse_init_policy("xavier"));
  EXPECT_GT(max_abs(layers.find("lstm")), 0.2);  // its own U(+-0.25)
  EXPECT_EQ(max_abs(layers.find("bias")), 0.0);
  for (const char* name : {"embedding", "lstm", "bias"}) {  // everything U(+-0.1), biases too
    EXPECT_LE(max_abs(uniform.find(name)), 0.1) << name;
    EXPECT_GT(max_abs(uniform.find(name)), 0.09) << name;
  }
  // Xavier-uniform over (first dimension, product of the others); vectors zero.
  EXPECT_LE(max_abs(xavier.find("embedding")), std::sqrt(6.0 / 1064.0));
  EXPECT_GT(max_abs(xavier.find("embedding")), 0.99 * std::sqrt(6.0 / 1064.0));
  EXPECT_LE(max_abs(xavier.find("lstm")), std::sqrt(6.0 / 96.0));
  EXPECT_GT(max_abs(xavier.find("lstm")), 0.95 * std::sqrt(6.0 / 96.0));
  EXPECT_EQ(max_abs(xavier.find("bias")), 0.0);
}

TEST(ParamStore, InitPolicyTextRoundTripsAndBadTextIsRefused) {
  for (const char* text : {"layers", "uniform:0.1", "xavier"})
    EXPECT_EQ(ops::init_policy_text(ops::parse_init_policy(text)), text);
  for (const char* bad : {"uniform", "uniform:", "uniform:0", "uniform:2", "uniform:0.1x", "he"})
    EXPECT_THROW(ops::parse_init_policy(bad), std::invalid_argument) << bad;
}

TEST(ParamStore, ValuesOfAParameterDoNotDependOnOtherDeclarations) {
  ParamStore alone, with_others;
  alone.declare("w", {50}, {InitKind::kUniform, 1.0f});
  with_others.declare("extra", {13}, {InitKind::kUniform, 1.0f});
  with_others.declare("w", {50}, {InitKind::kUniform, 1.0f});
  alone.initialize(9);
  with_others.initialize(9);
  for (size_t i = 0; i < 50; ++i)
    ASSERT_EQ(alone.find("w")->value[i], with_others.find("w")->value[i]);
}

TEST(ParamStore, ZeroGradsAndVersionCounter) {
  ParamStore store;
  store.declare("w", {4}, {InitKind::kZeros});
  store.finalize();
  store.grads()[2] = 3.0f;
  store.zero_grads();
  EXPECT_EQ(store.grads()[2], 0.0f);
  const uint64_t version = store.values_version();
  store.initialize(1);
  EXPECT_NE(store.values_version(), version);
}

}  // namespace
}  // namespace tandem
