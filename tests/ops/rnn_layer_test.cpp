// RnnLayer: gradients against finite differences for every cell, exactness under padding,
// oneDNN's accumulate semantics, inference == training forward, argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/param_store.h"
#include "ops/rnn_layer.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using ops::CellKind;
using testing::expect_gradient_matches;
using testing::expect_near_all;
using testing::random_values;
using testing::weighted_sum;

class RnnLayerTest : public ::testing::TestWithParam<CellKind> {
 protected:
  static constexpr int kInput = 3, kHidden = 4;
  ops::DnnlContext ctx_;
  ops::ParamStore store_;
  ops::RnnLayer layer_{ctx_, store_, "rnn", GetParam(), kInput, kHidden};
  void SetUp() override { store_.initialize(42); }
  bool lstm() const { return GetParam() == CellKind::kLstm; }
};

TEST_P(RnnLayerTest, BackwardMatchesFiniteDifferences) {
  const int64_t T = 4, N = 3, I = kInput, H = kHidden;
  const std::vector<int32_t> lengths{4, 3, 1};
  std::vector<float> x = random_values(T * N * I, 1), h0 = random_values(N * H, 2, 0.5f),
                     c0 = random_values(N * H, 3, 0.5f);
  const std::vector<float> weight_y = random_values(T * N * H, 4),
                           weight_h = random_values(N * H, 5), weight_c = random_values(N * H, 6);
  std::vector<float> y(T * N * H), h_last(N * H), c_last(N * H);
  auto loss = [&]() {
    ops::RnnTape tape;
    layer_.forward(x.data(), T, N, lengths.data(), h0.data(), c0.data(), y.data(), h_last.data(),
                   lstm() ? c_last.data() : nullptr, &tape);
    return weighted_sum(y.data(), weight_y) + weighted_sum(h_last.data(), weight_h) +
           (lstm() ? weighted_sum(c_last.data(), weight_c) : 0.0);
  };
  store_.zero_grads();
  ops::RnnTape tape;
  layer_.forward(x.data(), T, N, lengths.data(), h0.data(), c0.data(), y.data(), h_last.data(),
                 lstm() ? c_last.data() : nullptr, &tape);
  std::vector<float> diff_x(T * N * I), diff_h0(N * H), diff_c0(N * H);
  layer_.backward(tape, weight_y.data(), weight_h.data(), weight_c.data(), diff_x.data(),
                  diff_h0.data(), diff_c0.data());

  testing::GradientCheck check;
  check.max_checks = 200;
  expect_gradient_matches("diff_x", x.data(), diff_x.data(), x.size(), loss, check);
  expect_gradient_matches("diff_h0", h0.data(), diff_h0.data(), h0.size(), loss, check);
  if (lstm()) expect_gradient_matches("diff_c0", c0.data(), diff_c0.data(), c0.size(), loss, check);
  for (const ops::ParamView& param : store_.params())
    expect_gradient_matches(param.name, param.value, param.grad, param.size, loss, check,
                            [&] { store_.mark_values_changed(); });
}

TEST_P(RnnLayerTest, PaddedSequenceMatchesItselfAlone) {
  const int64_t I = kInput, H = kHidden;
  // X (length 2) alone, then as row 2 of a batch padded to 5 steps with longer batch-mates.
  const std::vector<float> x_alone = random_values(2 * I, 11);
  const int64_t T = 5, N = 3;
  const std::vector<int32_t> lengths{5, 3, 2};
  std::vector<float> x_batch = random_values(T * N * I, 12);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t i = 0; i < I; ++i) x_batch[(t * N + 2) * I + i] = x_alone[t * I + i];
  const std::vector<float> diff_alone = random_values(2 * H, 13),
                           diff_h_alone = random_values(H, 14);

  store_.zero_grads();
  ops::RnnTape tape;
  std::vector<float> y_alone(2 * H), h_alone(H), c_alone(H), diff_x_alone(2 * I);
  const int32_t length_alone = 2;
  layer_.forward(x_alone.data(), 2, 1, &length_alone, nullptr, nullptr, y_alone.data(),
                 h_alone.data(), lstm() ? c_alone.data() : nullptr, &tape);
  layer_.backward(tape, diff_alone.data(), diff_h_alone.data(), nullptr, diff_x_alone.data(),
                  nullptr, nullptr);
  std::vector<float> grads_alone(store_.grads(), store_.grads() + store_.total_size());

  // In the batch, only X's outputs carry gradient: everything must equal the lone run.
  store_.zero_grads();
  std::vector<float> y(T * N * H), h_last(N * H), c_last(N * H), diff_y(T * N * H, 0.0f),
      diff_h(N * H, 0.0f), diff_x(T * N * I);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t h = 0; h < H; ++h) diff_y[(t * N + 2) * H + h] = diff_alone[t * H + h];
  for (int64_t h = 0; h < H; ++h) diff_h[2 * H + h] = diff_h_alone[h];
  layer_.forward(x_batch.data(), T, N, lengths.data(), nullptr, nullptr, y.data(), h_last.data(),
                 lstm() ? c_last.data() : nullptr, &tape);
  layer_.backward(tape, diff_y.data(), diff_h.data(), nullptr, diff_x.data(), nullptr, nullptr);

  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float expected = t < 2 ? y_alone[t * H + h] : 0.0f;
      ASSERT_NEAR(y[(t * N + 2) * H + h], expected, 1e-6) << "y at t=" << t;
    }
  expect_near_all("h_last", h_last.data() + 2 * H, h_alone.data(), H, 1e-6);
  if (lstm()) expect_near_all("c_last", c_last.data() + 2 * H, c_alone.data(), H, 1e-6);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < I; ++i) {
      const float expected = t < 2 ? diff_x_alone[t * I + i] : 0.0f;
      ASSERT_NEAR(diff_x[(t * N + 2) * I + i], expected, 1e-6) << "diff_x at t=" << t;
    }
  expect_near_all("parameter gradients", store_.grads(), grads_alone.data(), grads_alone.size(),
                  1e-5);
}

TEST_P(RnnLayerTest, BackwardAccumulatesIntoGradients) {
  const int64_t T = 3, N = 2;
  const std::vector<int32_t> lengths{3, 2};
  const std::vector<float> x = random_values(T * N * kInput, 21),
                           diff_y = random_values(T * N * kHidden, 22);
  std::vector<float> y(T * N * kHidden), diff_x(T * N * kInput);
  auto forward_backward = [&] {
    ops::RnnTape tape;
    layer_.forward(x.data(), T, N, lengths.data(), nullptr, nullptr, y.data(), nullptr, nullptr,
                   &tape);
    layer_.backward(tape, diff_y.data(), nullptr, nullptr, diff_x.data(), nullptr, nullptr);
  };
  store_.zero_grads();
  forward_backward();
  const std::vector<float> once(store_.grads(), store_.grads() + store_.total_size());
  forward_backward();  // no zeroing in between: oneDNN adds
  std::vector<float> twice_expected(once);
  for (float& g : twice_expected) g *= 2.0f;
  expect_near_all("twice", store_.grads(), twice_expected.data(), once.size(), 1e-6);
  double norm = 0.0;
  for (float g : once) norm += g * g;
  EXPECT_GT(norm, 0.0);
}

// The layer keeps at most RnnLayer::kMaxCachedPrimitives primitives and forgets the least
// recently used one when full. Here the cache is flooded between a batch's forward and its
// backward, so backward must re-create the primitive of the forward it differentiates: the
// results stay exactly the same.
TEST_P(RnnLayerTest, EvictedPrimitivesGiveTheSameResults) {
  const int64_t T = 3, N = 2;
  const std::vector<int32_t> lengths{3, 2};
  const std::vector<float> x = random_values(T * N * kInput, 31),
                           diff_y = random_values(T * N * kHidden, 32);
  auto run = [&](bool flood) {
    std::vector<float> y(T * N * kHidden), diff_x(T * N * kInput);
    store_.zero_grads();
    ops::RnnTape tape;
    layer_.forward(x.data(), T, N, lengths.data(), nullptr, nullptr, y.data(), nullptr, nullptr,
                   &tape);
    if (flood) {
      for (int64_t n = 1; n <= 140; ++n) {  // 140 shapes (1, n): more than the cache holds
        const std::vector<int32_t> ones(static_cast<size_t>(n), 1);
        const std::vector<float> other = random_values(static_cast<size_t>(n * kInput), 33);
        std::vector<float> other_y(static_cast<size_t>(n * kHidden));
        ops::RnnTape other_tape;
        layer_.forward(other.data(), 1, n, ones.data(), nullptr, nullptr, other_y.data(), nullptr,
                       nullptr, &other_tape);
      }
    }
    layer_.backward(tape, diff_y.data(), nullptr, nullptr, diff_x.data(), nullptr, nullptr);
    std::vector<float> result(y);
    result.insert(result.end(), diff_x.begin(), diff_x.end());
    result.insert(result.end(), store_.grads(), store_.grads() + store_.total_size());
    return result;
  };
  static_assert(ops::RnnLayer::kMaxCachedPrimitives < 140, "the flood must overflow the cache");
  const std::vector<float> plain = run(false), flooded = run(true);
  ASSERT_EQ(plain.size(), flooded.size());
  for (size_t i = 0; i < plain.size(); ++i) ASSERT_EQ(plain[i], flooded[i]) << "element " << i;
}

TEST_P(RnnLayerTest, InferenceForwardMatchesTrainingForward) {
  const int64_t T = 6, N = 4;
  const std::vector<int32_t> lengths{6, 6, 4, 1};
  const std::vector<float> x = random_values(T * N * kInput, 31),
                           h0 = random_values(N * kHidden, 32);
  std::vector<float> y_train(T * N * kHidden), y_infer(T * N * kHidden), h_train(N * kHidden),
      h_infer(N * kHidden);
  ops::RnnTape tape;
  layer_.forward(x.data(), T, N, lengths.data(), h0.data(), nullptr, y_train.data(), h_train.data(),
                 nullptr, &tape);
  layer_.forward(x.data(), T, N, lengths.data(), h0.data(), nullptr, y_infer.data(), h_infer.data(),
                 nullptr, nullptr);
  expect_near_all("y", y_train.data(), y_infer.data(), y_train.size(), 1e-5);
  expect_near_all("h_last", h_train.data(), h_infer.data(), h_train.size(), 1e-5);
}

TEST_P(RnnLayerTest, RejectsUnsortedOrOutOfRangeLengths) {
  const std::vector<float> x(3 * 2 * kInput, 0.1f);
  std::vector<float> y(3 * 2 * kHidden);
  const std::vector<int32_t> unsorted{2, 3}, too_long{4, 1}, empty{3, 0};
  for (const auto* lengths : {&unsorted, &too_long, &empty})
    EXPECT_THROW(layer_.forward(x.data(), 3, 2, lengths->data(), nullptr, nullptr, y.data(),
                                nullptr, nullptr, nullptr),
                 std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(AllCells, RnnLayerTest,
                         ::testing::Values(CellKind::kLstm, CellKind::kGru, CellKind::kLbrGru,
                                           CellKind::kVanillaTanh),
                         [](const ::testing::TestParamInfo<CellKind>& info) {
                           switch (info.param) {
                             case CellKind::kLstm:
                               return std::string("Lstm");
                             case CellKind::kGru:
                               return std::string("Gru");
                             case CellKind::kLbrGru:
                               return std::string("LbrGru");
                             case CellKind::kVanillaTanh:
                               return std::string("VanillaTanh");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

// bf16 mixed precision: the same layer and inputs give outputs and gradients within bf16
// rounding of the f32 ones, and a padded sequence still equals itself alone.
class Bf16RnnLayerTest : public ::testing::TestWithParam<ops::CellKind> {};

TEST_P(Bf16RnnLayerTest, MatchesF32WithinBf16Rounding) {
  const int64_t T = 6, N = 3, I = 16, H = 32;
  const std::vector<int32_t> lengths{6, 4, 2};
  ops::DnnlContext ctx;
  ops::ParamStore f32_store, bf16_store;
  ops::RnnLayer f32_layer(ctx, f32_store, "rnn", GetParam(), I, H);
  ops::RnnLayer bf16_layer(ctx, bf16_store, "rnn", GetParam(), I, H, ops::Precision::kBf16);
  f32_store.initialize(3);
  bf16_store.initialize(3);
  const std::vector<float> x = testing::random_values(T * N * I, 1),
                           diff_y = testing::random_values(T * N * H, 2);
  std::vector<float> y[2], diff_x[2], grads[2];
  ops::RnnLayer* layers[2] = {&f32_layer, &bf16_layer};
  ops::ParamStore* stores[2] = {&f32_store, &bf16_store};
  for (int k = 0; k < 2; ++k) {
    y[k].resize(T * N * H);
    diff_x[k].resize(T * N * I);
    stores[k]->zero_grads();
    ops::RnnTape tape;
    layers[k]->forward(x.data(), T, N, lengths.data(), nullptr, nullptr, y[k].data(), nullptr,
                       nullptr, &tape);
    layers[k]->backward(tape, diff_y.data(), nullptr, nullptr, diff_x[k].data(), nullptr, nullptr);
    grads[k].assign(stores[k]->grads(), stores[k]->grads() + stores[k]->total_size());
  }
  testing::expect_near_all("y", y[1].data(), y[0].data(), y[0].size(), 2e-2);
  testing::expect_near_all("diff_x", diff_x[1].data(), diff_x[0].data(), diff_x[0].size(), 5e-2);
  double dot = 0, a2 = 0, b2 = 0;
  for (size_t i = 0; i < grads[0].size(); ++i) {
    dot += grads[0][i] * grads[1][i];
    a2 += grads[0][i] * grads[0][i];
    b2 += grads[1][i] * grads[1][i];
  }
  EXPECT_GT(dot / std::sqrt(a2 * b2), 0.999) << "cosine of f32 and bf16 weight gradients";
  for (int64_t t = 2; t < T; ++t)  // padded steps of the shortest sequence stay exactly zero
    for (int64_t h = 0; h < H; ++h) ASSERT_EQ(y[1][(t * N + 2) * H + h], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(AllCells, Bf16RnnLayerTest,
                         ::testing::Values(ops::CellKind::kLstm, ops::CellKind::kGru,
                                           ops::CellKind::kLbrGru, ops::CellKind::kVanillaTanh));

}  // namespace
}  // namespace tandem
