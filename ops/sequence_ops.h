// Copies that rearrange padded time-major (tnc) sequences: per-sequence reversal (which turns a
// left-to-right RNN into an exact right-to-left one), and joining/splitting feature blocks
// (bidirectional outputs, [context; hidden] concatenation), and time-major <-> batch-major
// (attention's batched matmuls), and packing the rows a mask selects (the output layer sees only
// rows with a real target). Plain loops: no primitive fits.
// Letters: T steps, N batch, C channels.
#pragma once

#include <cstdint>

namespace tandem::ops {

// dst[t, n, :] = src[lengths[n] - 1 - t, n, :] for t < lengths[n], zero for the padded steps.
// Its own inverse, so it also maps right-to-left gradients back. src and dst must not alias.
void reverse_sequences(const float* src, int64_t steps, int64_t batch, int64_t channels,
                       const int32_t* lengths, float* dst);

// Writes the columns [offset, offset + C) of every row of dst[M, dst_width] from src[M, C].
void copy_into_columns(const float* src, int64_t rows, int64_t channels, float* dst,
                       int64_t dst_width, int64_t offset);

// The inverse: dst[M, C] = columns [offset, offset + C) of src[M, src_width], written
// (accumulate == false) or added (accumulate == true).
void copy_from_columns(const float* src, int64_t rows, int64_t src_width, int64_t offset,
                       int64_t channels, float* dst, bool accumulate);

// dst[b, a, :] = src[a, b, :] for src [A, B, X] (tnc <-> ntc), written or added
// (accumulate == true). src and dst must not alias.
void swap_outer_dims(const float* src, int64_t a_count, int64_t b_count, int64_t channels,
                     float* dst, bool accumulate);

// dst[i, :] = src[rows[i], :] for i < count.
void gather_rows(const float* src, const int64_t* rows, int64_t count, int64_t channels,
                 float* dst);

// The inverse into dst[M, C]: dst[rows[i], :] = src[i, :], every row not listed zero.
void scatter_rows(const float* src, const int64_t* rows, int64_t count, int64_t channels,
                  int64_t dst_rows, float* dst);

}  // namespace tandem::ops
