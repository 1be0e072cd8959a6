#include "ops/dense.h"

#include "ops/errors.h"

namespace tandem::ops {

Dense::Dense(DnnlContext& ctx, ParamStore& store, const std::string& name, int input_size,
             int output_size, Activation activation, Precision precision,
             std::optional<InitSpec> weight_init)
    : ctx_(ctx),
      store_(store),
      input_size_(input_size),
      output_size_(output_size),
      activation_(activation),
      precision_(precision) {
  require_config(input_size > 0 && output_size > 0, name, "sizes must be positive");
  weight_ = store.declare(
      name + "/weight", {output_size, input_size},
      weight_init.value_or(InitSpec{InitKind::kXavierUniform, 0.0f, input_size, output_size}));
  bias_ = store.declare(name + "/bias", {output_size}, {InitKind::kZeros});
}

StridedMatrix Dense::weight_matrix() {
  const ParamView& weight = store_.view(weight_);
  if (precision_ == Precision::kF32)
    return StridedMatrix::dense(weight.value, output_size_, input_size_);
  if (low_weight_version_ != store_.values_version()) {  // refreshed once per update
    low_weight_.resize(weight.size);
    convert_to_bf16(weight.value, low_weight_.data(), static_cast<int64_t>(weight.size));
    low_weight_version_ = store_.values_version();
  }
  return StridedMatrix::dense_bf16(low_weight_.data(), output_size_, input_size_);
}

StridedMatrix Dense::operand(const float* values, int64_t rows, int64_t cols,
                             AlignedVector<bf16_t>& low) {
  if (precision_ == Precision::kF32) return StridedMatrix::dense(values, rows, cols);
  low.resize(static_cast<size_t>(rows * cols));
  convert_to_bf16(values, low.data(), rows * cols);
  return StridedMatrix::dense_bf16(low.data(), rows, cols);
}

void Dense::forward(const float* x, int64_t rows, float* y) {
  matmul(ctx_, operand(x, rows, input_size_, low_input_), weight_matrix().transposed(),
         StridedMatrix::dense(y, rows, output_size_), Accumulate::kOverwrite,
         store_.view(bias_).value, activation_);
}

// diff_pre = diff_y * (1 - y^2) on oneDNN's eltwise backward (computed from the output y).
void Dense::tanh_backward(const float* y, const float* diff_y, int64_t rows,
                          float* diff_pre) const {
  const dnnl::memory::desc md({rows, output_size_}, dnnl::memory::data_type::f32,
                              dnnl::memory::format_tag::ab);
  const std::string key = "tanh_bwd|" + std::to_string(rows) + "x" + std::to_string(output_size_);
  dnnl::primitive* found = ctx_.find_primitive(key);
  if (!found) {
    const auto algorithm = dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
    dnnl::eltwise_forward::primitive_desc hint(
        {dnnl::prop_kind::forward_training, algorithm, md, 0.0f, 0.0f}, DnnlContext::attributes(),
        ctx_.engine());
    dnnl::eltwise_backward::primitive_desc pd({algorithm, md, md, 0.0f, 0.0f},
                                              DnnlContext::attributes(), ctx_.engine(), hint);
    found = &ctx_.remember(key, dnnl::eltwise_backward(pd));
  }
  ctx_.run(*found, {{DNNL_ARG_DST, user_memory(ctx_, md, y)},
                    {DNNL_ARG_DIFF_DST, user_memory(ctx_, md, diff_y)},
                    {DNNL_ARG_DIFF_SRC, user_memory(ctx_, md, diff_pre)}});
}

void Dense::backward(const float* x, const float* y, const float* diff_y, int64_t rows,
                     float* diff_x, Accumulate diff_x_mode) {
  const ParamView& weight = store_.view(weight_);
  const float* diff_pre = diff_y;
  // With bf16 the products take bf16 copies of dY, X and W; the gradients accumulate in f32.
  if (activation_ == Activation::kTanh) {
    diff_pre_activation_.resize(static_cast<size_t>(rows) * output_size_);
    tanh_backward(y, diff_y, rows, diff_pre_activation_.data());
    diff_pre = diff_pre_activation_.data();
  }
  const StridedMatrix diff_pre_m = operand(diff_pre, rows, output_size_, low_diff_);
  matmul(ctx_, diff_pre_m.transposed(), operand(x, rows, input_size_, low_input_),
         StridedMatrix::dense(weight.grad, output_size_, input_size_), Accumulate::kAdd);
  add_column_sums(ctx_, diff_pre, rows, output_size_, store_.view(bias_).grad);
  if (diff_x)
    matmul(ctx_, diff_pre_m, weight_matrix(), StridedMatrix::dense(diff_x, rows, input_size_),
           diff_x_mode);
}

}  // namespace tandem::ops
