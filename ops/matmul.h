// C = A x B (+ bias) (+ C) on oneDNN's matmul primitive, for plain and batched strided matrices.
// Every dense product in tandem goes through here, so primitives are cached in one place and
// transposes or time-major (tnc) slices cost nothing: they are just other strides.
#pragma once

#include <cstdint>

#include "ops/dnnl_context.h"

namespace tandem::ops {

// A batch of matrices [batch][rows][cols] at `data`, addressed through strides (in elements),
// f32 or (inputs only) bf16. Not owning.
struct StridedMatrix {
  void* data = nullptr;
  int64_t batch = 1, rows = 0, cols = 0;
  int64_t batch_stride = 0, row_stride = 0, col_stride = 1;
  dnnl::memory::data_type type = dnnl::memory::data_type::f32;

  // A row-major [rows, cols] matrix.
  static StridedMatrix dense(const float* data, int64_t rows, int64_t cols) {
    return {const_cast<float*>(data), 1, rows, cols, rows * cols, cols, 1};
  }
  // A row-major bf16 [rows, cols] matrix (an input: products are accumulated in f32).
  static StridedMatrix dense_bf16(const uint16_t* data, int64_t rows, int64_t cols) {
    return {const_cast<uint16_t*>(data),  1, rows, cols, rows * cols, cols, 1,
            dnnl::memory::data_type::bf16};
  }
  // A general batched view.
  static StridedMatrix batched(const float* data, int64_t batch, int64_t rows, int64_t cols,
                               int64_t batch_stride, int64_t row_stride, int64_t col_stride = 1) {
    return {const_cast<float*>(data), batch, rows, cols, batch_stride, row_stride, col_stride};
  }
  StridedMatrix transposed() const {
    return {data, batch, cols, rows, batch_stride, col_stride, row_stride, type};
  }
};

enum class Accumulate { kOverwrite, kAdd };  // C = AB  or  C += AB
enum class Activation { kNone, kTanh };      // applied after the bias; only with kOverwrite

// c = activation(a x b + bias) or c += a x b (+ bias).
// Shapes: a [B, M, K], b [B, K, N], c [B, M, N] (B may be 1 for a or b: broadcast); bias [N] or
// null. Throws std::invalid_argument on mismatched shapes, naming both.
void matmul(DnnlContext& ctx, const StridedMatrix& a, const StridedMatrix& b,
            const StridedMatrix& c, Accumulate accumulate, const float* bias = nullptr,
            Activation activation = Activation::kNone);

// bias_grad[N] += sum over the M rows of dy[M, N] (a ones-vector matmul: the reduction
// primitive is ~50x slower here; docs/design.md, oneDNN fact 4).
void add_column_sums(DnnlContext& ctx, const float* dy, int64_t rows, int64_t cols,
                     float* bias_grad);

}  // namespace tandem::ops
