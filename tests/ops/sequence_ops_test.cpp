// Sequence rearrangements for padded batches (reverse within lengths).
#include <gtest/gtest.h>

#include <vector>

#include "ops/sequence_ops.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::random_values;

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

TEST(SequenceOps, GatherPacksListedRowsAndScatterPutsThemBackWithZeros) {
  const int64_t M = 5, C = 3;
  const std::vector<float> x = random_values(M * C, 2);
  const std::vector<int64_t> rows{1, 3, 4};
  std::vector<float> packed(rows.size() * C), back(M * C, 7.0f);
  ops::gather_rows(x.data(), rows.data(), 3, C, packed.data());
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(packed[i * C + c], x[rows[i] * C + c]);
  ops::scatter_rows(packed.data(), rows.data(), 3, C, M, back.data());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c)
      EXPECT_EQ(back[m * C + c], m == 0 || m == 2 ? 0.0f : x[m * C + c]);
}

}  // namespace
}  // namespace tandem
