// ExactSum in one process: the sum of fixed-point terms does not depend on their order or
// grouping (the float sum does), it is within the scale's rounding of the exact sum, and terms
// too large for the scale or not finite are flagged apart.
#include "trainer/dist/exact_sum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace tandem {
namespace {

using trainer::ExactSum;

// Gradients of very different magnitudes, so float sums in different orders differ.
std::vector<std::vector<float>> gradients(int count, size_t size) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<std::vector<float>> all(static_cast<size_t>(count), std::vector<float>(size));
  for (int g = 0; g < count; ++g)
    for (size_t i = 0; i < size; ++i)
      all[static_cast<size_t>(g)][i] = unit(rng) * std::pow(10.0f, static_cast<float>(g % 7 - 3));
  return all;
}

// Adds a copy (ExactSum::add zeroes what it reads).
void add(ExactSum& sum, std::vector<float> term, double loss, int64_t tokens) {
  sum.add(term.data());
  sum.add_totals(loss, tokens);
}

std::vector<float> exact_sum(const std::vector<std::vector<float>>& terms,
                             const std::vector<int>& order, ExactSum::Result* result = nullptr) {
  const size_t size = terms[0].size();
  ExactSum sum(nullptr, size, static_cast<int>(terms.size()));
  sum.begin_step();
  for (int index : order) add(sum, terms[static_cast<size_t>(index)], 0.5 * index, index);
  std::vector<float> out(size);
  const ExactSum::Result r = sum.finish(out.data());
  if (result) *result = r;
  return out;
}

TEST(ExactSum, TheSumHasTheSameBitsInAnyOrder) {
  const auto terms = gradients(12, 4096);
  std::vector<int> forward(12), backward(12), shuffled(12);
  for (int i = 0; i < 12; ++i) forward[i] = backward[11 - i] = shuffled[i] = i;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  ExactSum::Result a, b, c;
  const std::vector<float> x = exact_sum(terms, forward, &a), y = exact_sum(terms, backward, &b),
                           z = exact_sum(terms, shuffled, &c);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(x.data(), z.data(), x.size() * sizeof(float)), 0);
  EXPECT_EQ(a.totals.loss, b.totals.loss);
  EXPECT_EQ(a.totals.loss, 0.5 * 66);
  EXPECT_EQ(a.totals.tokens, 66);
  EXPECT_FALSE(a.overflow || a.non_finite);

  // The float sums in those orders differ somewhere (so the test can fail), and the exact sum
  // is the double sum to within the rounding of 12 terms at 2^-32 and one float rounding.
  bool float_orders_differ = false;
  for (size_t i = 0; i < x.size(); ++i) {
    float up = 0, down = 0;
    double reference = 0;
    for (int g = 0; g < 12; ++g) {
      up += terms[static_cast<size_t>(g)][i];
      down += terms[static_cast<size_t>(11 - g)][i];
      reference += terms[static_cast<size_t>(g)][i];
    }
    float_orders_differ |= up != down;
    ASSERT_NEAR(x[i], reference, 12 * std::ldexp(1.0, -33) + std::fabs(reference) * 6e-8) << i;
  }
  EXPECT_TRUE(float_orders_differ);
}

TEST(ExactSum, TheLastMicroBatchAddedInPiecesAsBackwardEndsThemIsTheSame) {
  const auto terms = gradients(3, 5000);
  std::vector<float> whole = exact_sum(terms, {0, 1, 2});
  ExactSum sum(nullptr, 5000, 3);
  sum.begin_step();
  add(sum, terms[0], 0, 0);
  add(sum, terms[1], 0, 0);
  std::vector<float> last = terms[2];
  for (size_t offset : {4000, 4000, 2500, 7, 0}) sum.add_final(last.data(), offset);
  EXPECT_EQ(last, terms[2]) << "the last micro-batch's gradient is only read";
  std::vector<float> out(5000);
  sum.finish(out.data());
  EXPECT_EQ(out, whole);

  std::vector<float> cleared = terms[0];
  sum.begin_step();
  sum.add(cleared.data());
  EXPECT_EQ(cleared, std::vector<float>(5000, 0.0f)) << "add() leaves zeros for the next one";
}

TEST(ExactSum, ATermTooLargeForTheScaleIsAnOverflowNotANan) {
  auto terms = gradients(2, 64);
  terms[1][7] = 1e30f;
  ExactSum::Result result;
  exact_sum(terms, {0, 1}, &result);
  EXPECT_TRUE(result.overflow);
  EXPECT_FALSE(result.non_finite);

  terms[1][7] = std::nanf("");
  exact_sum(terms, {0, 1}, &result);
  EXPECT_TRUE(result.non_finite);
}

TEST(ExactSum, TheLimitLeavesRoomForEveryTermOfAStep) {
  // 2^62 / 4 terms at 2^32: a term of 2^28 is refused, one just under it is taken; four of
  // those still fit in int64.
  int64_t out = 0;
  const double limit = std::ldexp(1.0, 62) / 4;
  EXPECT_FALSE(trainer::to_fixed_point(std::ldexp(1.0, 28), 32, limit, out));
  EXPECT_TRUE(trainer::to_fixed_point(std::ldexp(1.0, 28) * (1 - 1e-9), 32, limit, out));
  EXPECT_LT(static_cast<double>(out) * 4, std::ldexp(1.0, 63));
  // Rounding to nearest, ties to even: 2.5 and 3.5 units of 2^-1.
  EXPECT_TRUE(trainer::to_fixed_point(1.25, 1, limit, out));
  EXPECT_EQ(out, 2);
  EXPECT_TRUE(trainer::to_fixed_point(1.75, 1, limit, out));
  EXPECT_EQ(out, 4);
  EXPECT_FALSE(trainer::to_fixed_point(std::nan(""), 1, limit, out));
}

TEST(ExactSum, LoweringTheScaleTakesWhatOverflowedBefore) {
  auto terms = gradients(2, 64);
  terms[1][3] = 1e9f;  // > 2^62 / 2 / 2^32 = 2^29
  ExactSum sum(nullptr, 64, 2);
  std::vector<float> out(64);
  sum.begin_step();
  for (const auto& term : terms) add(sum, term, 1.0, 1);
  EXPECT_TRUE(sum.finish(out.data()).overflow);
  sum.lower_scale();
  EXPECT_EQ(sum.scale_bits(), ExactSum::kDefaultScaleBits - ExactSum::kScaleBitsStep);
  sum.begin_step();
  for (const auto& term : terms) add(sum, term, 1.0, 1);
  EXPECT_FALSE(sum.finish(out.data()).overflow);
  EXPECT_NEAR(out[3], 1e9 + terms[0][3], 1e9 * 1e-7);
}

}  // namespace
}  // namespace tandem
