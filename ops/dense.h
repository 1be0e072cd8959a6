// A fully connected layer y = act(x W^T + b), used for the attentional hidden state W_c[c;h],
// the decoder bridge and the output projection.
// Letters: M rows (time x batch), I input features, O output features.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/bf16.h"
#include "ops/dnnl_context.h"
#include "ops/matmul.h"
#include "ops/param_store.h"

namespace tandem::ops {

class Dense {
 public:
  // Declares "<name>/weight" [O, I] (row-major, like torch.nn.Linear) and "<name>/bias" [O].
  // Xavier-uniform weights (the layers it serves feed tanh or softmax) unless `weight_init` says
  // otherwise, zero bias.
  // precision kBf16: the three products run on bf16 copies of their operands (f32 results).
  Dense(DnnlContext& ctx, ParamStore& store, const std::string& name, int input_size,
        int output_size, Activation activation, Precision precision = Precision::kF32,
        std::optional<InitSpec> weight_init = std::nullopt);

  // y[M, O] = act(x[M, I] W^T + b). Overwrites y.
  void forward(const float* x, int64_t rows, float* y);

  // Given the forward's x and y and diff_y[M, O]: accumulates into the weight and bias gradients;
  // writes (kOverwrite) or adds (kAdd) diff_x[M, I] unless diff_x is null.
  void backward(const float* x, const float* y, const float* diff_y, int64_t rows, float* diff_x,
                Accumulate diff_x_mode = Accumulate::kOverwrite);

  int input_size() const { return input_size_; }
  int output_size() const { return output_size_; }

 private:
  void tanh_backward(const float* y, const float* diff_y, int64_t rows, float* diff_pre) const;
  StridedMatrix weight_matrix();  // W [O, I], as f32 or as a bf16 copy
  // `values` [rows, cols] as a matmul operand: itself (f32) or converted into `low` (bf16).
  StridedMatrix operand(const float* values, int64_t rows, int64_t cols,
                        AlignedVector<bf16_t>& low);

  DnnlContext& ctx_;
  ParamStore& store_;
  int input_size_, output_size_;
  Activation activation_;
  Precision precision_;
  ParamId weight_, bias_;
  std::vector<float> diff_pre_activation_;
  AlignedVector<bf16_t> low_weight_, low_input_, low_diff_;
  uint64_t low_weight_version_ = 0;
};

}  // namespace tandem::ops
