#include "ops/dense.h"

#include "ops/errors.h"

namespace tandem::ops {

Dense::Dense(DnnlContext& ctx, ParamStore& store, const std::string& name, int input_size,
             int output_size, Activation activation)
    : ctx_(ctx), store_(store), input_size_(input_size), output_size_(output_size),
      activation_(activation) {
  require_config(input_size > 0 && output_size > 0, name, "sizes must be positive");
  weight_ = store.declare(name + "/weight", {output_size, input_size},
                          {InitKind::kXavierUniform, 0.0f, input_size, output_size});
  bias_ = store.declare(name + "/bias", {output_size}, {InitKind::kZeros});
}

void Dense::forward(const float* x, int64_t rows, float* y) const {
  const ParamView& weight = store_.view(weight_);
  matmul(ctx_, StridedMatrix::dense(x, rows, input_size_),
         StridedMatrix::dense(weight.value, output_size_, input_size_).transposed(),
         StridedMatrix::dense(y, rows, output_size_), Accumulate::kOverwrite,
         store_.view(bias_).value, activation_);
}

void Dense::backward(const float* x, const float* y, const float* diff_y, int64_t rows,
                     float* diff_x, Accumulate diff_x_mode) {
  const ParamView& weight = store_.view(weight_);
  const float* diff_pre = diff_y;
  if (activation_ == Activation::kTanh) {
    const size_t count = static_cast<size_t>(rows) * output_size_;
    diff_pre_activation_.resize(count);
    float* out = diff_pre_activation_.data();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; ++i) out[i] = diff_y[i] * (1.0f - y[i] * y[i]);
    diff_pre = out;
  }
  const StridedMatrix diff_pre_m = StridedMatrix::dense(diff_pre, rows, output_size_);
  matmul(ctx_, diff_pre_m.transposed(), StridedMatrix::dense(x, rows, input_size_),
         StridedMatrix::dense(weight.grad, output_size_, input_size_), Accumulate::kAdd);
  add_column_sums(ctx_, diff_pre, rows, output_size_, store_.view(bias_).grad);
  if (diff_x)
    matmul(ctx_, diff_pre_m, StridedMatrix::dense(weight.value, output_size_, input_size_),
           StridedMatrix::dense(diff_x, rows, input_size_), diff_x_mode);
}

}  // namespace tandem::ops
