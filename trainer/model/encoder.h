// The encoder: source embedding, then a stack of RNN layers, each unidirectional or
// bidirectional (a left-to-right layer plus a left-to-right layer over the per-sequence reversed
// input, outputs concatenated: exact for padded batches, docs/design.md, invariant 9).
// Letters: S source steps, N batch, E embedding size, H encoder output size (H/2 per direction).
#pragma once

#include <memory>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/embedding.h"
#include "ops/rnn_layer.h"
#include "trainer/model/model_config.h"

namespace tandem::trainer {

class Encoder {
 public:
  // Declares "encoder/embedding" [V_src, E] and, per layer l, "encoder/l<l>/..." (uni) or
  // "encoder/l<l>/fwd/..." and "encoder/l<l>/bwd/..." (bidirectional).
  Encoder(ops::DnnlContext& ctx, ops::ParamStore& store, const ModelConfig& config);

  // source[S, N] token ids (time-major), lengths[N] sorted longest first (as the RNN layers need).
  // training: records tapes for backward, applies dropout with masks from `noise_key`, and zeroes
  // the gradient accumulators below.
  void forward(const int32_t* source, int64_t steps, int64_t batch, const int32_t* lengths,
               bool training, uint64_t noise_key);

  // Results of the last forward.
  const float* outputs() const { return top_output_; }                             // [S, N, H]
  const float* final_h(int layer) const { return layers_[layer].final_h.data(); }  // [N, H]
  const float* final_c(int layer) const { return layers_[layer].final_c.data(); }  // [N, H] (LSTM)

  // Gradient accumulators, zeroed by a training forward: whoever consumes outputs or final
  // states adds d(loss)/d(them) here before backward().
  float* diff_outputs() { return diff_top_output_.data(); }
  float* diff_final_h(int layer) { return layers_[layer].diff_final_h.data(); }
  float* diff_final_c(int layer) { return layers_[layer].diff_final_c.data(); }

  // Backpropagates the accumulated diffs; accumulates parameter gradients. Reports each layer's
  // (top down) and finally the embedding's gradients as final through `ready` (may be empty).
  void backward(const ops::GradientsReady& ready);

  int64_t steps() const { return steps_; }
  const int32_t* lengths() const { return lengths_; }
  int output_size() const { return config_.hidden_size; }
  int layer_count() const { return config_.encoder_layers; }

 private:
  struct Layer {
    std::unique_ptr<ops::RnnLayer> forward_rnn, backward_rnn;  // backward_rnn: bidirectional only
    ops::RnnTape forward_tape, backward_tape;
    ops::AlignedVector<float> reversed_input, forward_out, reversed_out, output, dropped_output;
    ops::AlignedVector<float> final_h, final_c, direction_h,
        direction_c;  // direction_*: [2][N, H/2]
    ops::AlignedVector<float> diff_final_h, diff_final_c, diff_direction_h, diff_direction_c;
    ops::AlignedVector<float> diff_output, diff_forward_out, diff_reversed_out, diff_reversed_input,
        diff_input, scratch;
  };

  void forward_layer(Layer& layer, int index, const float* input, int input_size, bool training);
  void backward_layer(Layer& layer, int index, const float* diff_output, int input_size,
                      float* diff_input);

  ops::DnnlContext& ctx_;
  ops::ParamStore& store_;
  ModelConfig config_;
  ops::Embedding embedding_;
  std::vector<Layer> layers_;
  // Per batch:
  int64_t steps_ = 0, batch_ = 0;
  const int32_t* source_ = nullptr;
  const int32_t* lengths_ = nullptr;
  uint64_t noise_key_ = 0;
  ops::AlignedVector<float> embedded_, dropped_embedded_, diff_embedded_, diff_top_output_;
  const float* top_output_ = nullptr;
};

}  // namespace tandem::trainer
