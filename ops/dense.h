// A fully connected layer y = act(x W^T + b), used for the attentional hidden state W_c[c;h],
// the decoder bridge and the output projection.
// Letters: M rows (time x batch), I input features, O output features.
#pragma once

#include <string>
#include <vector>

#include "ops/dnnl_context.h"
#include "ops/matmul.h"
#include "ops/param_store.h"

namespace tandem::ops {

class Dense {
 public:
  // Declares "<name>/weight" [O, I] (row-major, like torch.nn.Linear) and "<name>/bias" [O].
  // Xavier-uniform weights (the layers it serves feed tanh or softmax), zero bias.
  Dense(DnnlContext& ctx, ParamStore& store, const std::string& name, int input_size,
        int output_size, Activation activation);

  // y[M, O] = act(x[M, I] W^T + b). Overwrites y.
  void forward(const float* x, int64_t rows, float* y) const;

  // Given the forward's x and y and diff_y[M, O]: accumulates into the weight and bias gradients;
  // writes (kOverwrite) or adds (kAdd) diff_x[M, I] unless diff_x is null.
  void backward(const float* x, const float* y, const float* diff_y, int64_t rows, float* diff_x,
                Accumulate diff_x_mode = Accumulate::kOverwrite);

  int input_size() const { return input_size_; }
  int output_size() const { return output_size_; }

 private:
  void tanh_backward(const float* y, const float* diff_y, int64_t rows, float* diff_pre) const;

  DnnlContext& ctx_;
  ParamStore& store_;
  int input_size_, output_size_;
  Activation activation_;
  ParamId weight_, bias_;
  std::vector<float> diff_pre_activation_;
};

}  // namespace tandem::ops
