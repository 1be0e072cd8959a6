// The decoder: target embedding, a stack of unidirectional RNN layers started from the encoder
// (final states or a bridge), attention over the encoder outputs (Luong: after the RNN), the
// attentional vector tanh(W_c [context; h]), and the output projection with the loss.
//
// The target is processed in chunks of steps: one chunk of all T steps under full teacher forcing
// (one RNN primitive per layer, the fast path), or T chunks of one step when the model must see
// its own previous output first (scheduled sampling, input feeding). The same code runs both;
// backward walks the chunks in reverse.
// Letters: T target steps, N batch, E embedding size, H hidden size, V target vocabulary.
#pragma once

#include <memory>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/attention.h"
#include "ops/dense.h"
#include "ops/embedding.h"
#include "ops/output_loss.h"
#include "ops/rnn_layer.h"
#include "trainer/model/encoder.h"
#include "trainer/model/model_config.h"

namespace tandem::trainer {

class Decoder {
 public:
  // Declares, in this order (memory order = the reverse of the order in which backward
  // finishes them, so all-reduce buckets can start from the end of the buffer):
  // "decoder/bridge/l<l>" (bridge init), "decoder/attention/..." (if any), "decoder/embedding",
  // "decoder/l<l>/...", "decoder/w_c", "output".
  Decoder(ops::DnnlContext& ctx, ops::ParamStore& store, const ModelConfig& config);

  // Teacher-forced (or scheduled-sampling) pass over target_input/target_output [T, N] for the
  // batch the encoder just encoded (rows in the encoder's order). training: records for backward,
  // dropout and sampling draw from `noise_key`. Returns the loss sum and real token count.
  ops::LossSum forward(Encoder& encoder, const int32_t* target_input, const int32_t* target_output,
                       int64_t steps, int64_t batch, bool training, uint64_t noise_key);

  // Backward of the last training forward with d(total)/d(loss sum) = loss_scale. Accumulates
  // parameter gradients and adds into the encoder's diff accumulators. Reports finished
  // gradients through `ready` (may be empty).
  void backward(Encoder& encoder, float loss_scale, const ops::GradientsReady& ready);

  // Incremental decoding (inference): start() reads the encoder's last (inference) forward;
  // each step() takes the previous token of every row and writes logprobs[N, V].
  void start(const Encoder& encoder, int64_t batch);
  void step(const int32_t* previous_tokens, float* logprobs);
  // Beam search: row i of the decoding state becomes a copy of row rows[i] (the beam it
  // continues). Requires: rows[i] decodes the same source as row i (same attention keys).
  void select_rows(const std::vector<int64_t>& rows);
  const float* last_attention_weights()
      const;  // [N, 1, S] of the newest step; null without attention

 private:
  struct Layer {
    std::unique_ptr<ops::RnnLayer> rnn;
    ops::RnnTape tape;
    ops::AlignedVector<float> output, dropped_output;  // [T, N, H]
    ops::AlignedVector<float> states_h, states_c;      // [chunks + 1][N, H]
    ops::AlignedVector<float> diff_output, diff_input, diff_state_h, diff_state_c;
  };

  // Records the encoder's results and sizes the per-batch buffers for `steps` x `batch` rows.
  void begin_batch(const Encoder& encoder, int64_t steps, int64_t batch, bool training,
                   bool step_by_step);
  void initial_states(const Encoder& encoder, bool training);
  void run_chunk(int64_t t_begin, int64_t t_end, const int32_t* tokens, int chunk, bool training);
  void list_output_rows(int64_t t_begin, int64_t t_end, int chunk);
  int64_t pack_output_rows(int64_t t_begin, int chunk, const float* h);
  void backward_chunk(int64_t t_begin, int64_t t_end, int chunk, float loss_scale, Encoder& encoder,
                      const ops::GradientsReady& ready);
  void report_final(const std::string& first_parameter, int chunk,
                    const ops::GradientsReady& ready) const;
  void backward_output(int64_t t_begin, int64_t t_end, int chunk, float loss_scale,
                       const ops::GradientsReady& ready);
  const float* backward_attention(int64_t t_begin, int64_t t_end, int chunk, Encoder& encoder,
                                  const ops::GradientsReady& ready);
  void backward_layers(int64_t t_begin, int64_t t_end, int chunk, const float* diff_top,
                       const ops::GradientsReady& ready);
  void backward_embedding(int64_t t_begin, int64_t t_end, int chunk,
                          const ops::GradientsReady& ready);
  void backward_initial_states(Encoder& encoder);
  int input_size() const;

  ops::DnnlContext& ctx_;
  ops::ParamStore& store_;
  ModelConfig config_;
  std::unique_ptr<ops::Embedding> embedding_;
  std::vector<std::unique_ptr<ops::Dense>> bridges_;
  std::vector<Layer> layers_;
  std::unique_ptr<ops::Attention> attention_;
  std::unique_ptr<ops::Dense> attentional_;  // W_c
  std::unique_ptr<ops::OutputLoss> output_;
  size_t first_parameter_offset_ = 0;  // in the flat buffer: where the decoder's parameters start
  ops::AttentionTape attention_tape_;

  // Per batch:
  int64_t steps_ = 0, batch_ = 0, source_steps_ = 0;
  const int32_t* target_output_ = nullptr;
  const int32_t* source_lengths_ = nullptr;
  const float* encoder_outputs_ = nullptr;
  const float* encoder_top_final_h_ = nullptr;
  uint64_t noise_key_ = 0;
  bool step_by_step_ = false;
  std::vector<int32_t> tokens_;             // [T, N] inputs actually fed
  std::vector<int32_t> chunk_lengths_;      // [N], all equal to the chunk's steps
  ops::AlignedVector<float> initial_feed_;  // [N, H] attentional vector fed to the first step
  ops::AlignedVector<float> embedded_, dropped_embedded_, rnn_input_;  // [T, N, E], [T, N, E(+H)]
  ops::AlignedVector<float> context_, concatenated_, attentional_out_, dropped_attentional_;
  // The output layer sees only the rows with a real target (docs/translation.md): chunk c's, as
  // offsets from its first row t_begin * N, at real_rows_[t_begin * N ...], real_row_counts_[c]
  // of them, packed into packed_h_ / packed_targets_; its probabilities are packed the same way.
  std::vector<int64_t> real_rows_, real_row_counts_;
  std::vector<int32_t> packed_targets_;
  ops::AlignedVector<float> packed_h_, packed_diff_h_;
  ops::AlignedVector<float> probabilities_;  // [T, N, V] softmax, then d(loss)/d(logits)
  ops::AlignedVector<float> encoder_mean_, bridge_out_;  // bridge init: [N, H], [L][N, H]
  ops::AlignedVector<float> diff_embedded_, diff_rnn_input_, diff_context_, diff_concatenated_,
      diff_attentional_, diff_dropped_attentional_, diff_queries_, diff_scratch_, diff_mean_;
};

}  // namespace tandem::trainer
