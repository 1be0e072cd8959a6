// The encoder-decoder with attention, assembled from ops/ as ModelConfig says: the one place
// that knows the architecture. Holds the parameters (one flat buffer) and the scratch of one
// batch; batches come in any row order and are sorted by source length inside (the exact
// variable-length RNN needs it), which changes nothing in the loss or the gradients.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/batch.h"
#include "ops/dnnl_context.h"
#include "ops/output_loss.h"
#include "ops/param_store.h"
#include "trainer/model/decoder.h"
#include "trainer/model/encoder.h"
#include "trainer/model/model_config.h"

namespace tandem::trainer {

// How many parameters a configuration declares, without allocating them.
struct ParameterCounts {
  int64_t total = 0;
  int64_t recurrent =
      0;  // RNN weights (weights_layer, weights_iter): oneDNN keeps reordered copies
};
ParameterCounts count_parameters(const ModelConfig& config, ops::DnnlContext& ctx);

class Seq2SeqModel {
 public:
  // Validates the config (ConfigError naming the option) and declares every parameter. Values
  // are zero until initialize() (or a checkpoint load).
  Seq2SeqModel(const ModelConfig& config, ops::DnnlContext& ctx);

  const ModelConfig& config() const { return config_; }
  ops::DnnlContext& context() { return ctx_; }
  ops::ParamStore& params() { return store_; }
  const ops::ParamStore& params() const { return store_; }

  // Initialises every parameter from its initialiser, seeded (same seed, same values).
  void initialize(uint64_t seed, const ops::InitPolicy& policy = {});

  // Training forward: dropout and scheduled sampling draw from noise_key (derive it from the run
  // seed and the step so a resumed run draws the same). Returns the loss SUM over real target
  // tokens and their count. Keeps what backward() needs; the batch may be freed after.
  // Throws std::invalid_argument / std::out_of_range for malformed batches or ids.
  ops::LossSum forward(const data::Batch& batch, uint64_t noise_key);

  // Backward of the last forward with d(objective)/d(loss sum) = loss_scale (e.g. 1 / global
  // target tokens). Accumulates into params().grads(): zero them first (the trainer does).
  // `ready` hears, with decreasing offsets, which tail of the gradient buffer is final (for
  // starting all-reduce buckets while backward goes on); it ends with offset 0.
  void backward(float loss_scale, const ops::GradientsReady& ready = {});

  // Loss of a batch without dropout or sampling (validation). Does not touch gradients.
  ops::LossSum evaluate(const data::Batch& batch);

  // Greedy decoding of batch.source: per row, the predicted target ids without <bos>/<eos>,
  // at most max_length tokens, in the batch's row order.
  std::vector<std::vector<int32_t>> greedy_decode(const data::Batch& batch, int max_length);

  // Incremental decoding (for beam search): encodes batch.source and prepares the decoder.
  // Rows are then in the order decoding_order() gives: decoding row i is batch row
  // decoding_order()[i] (sorted by source length). Returns the number of rows.
  int64_t start_decoding(const data::Batch& batch);
  const std::vector<int64_t>& decoding_order() const { return order_; }
  const std::vector<int32_t>& decoding_source_lengths() const { return source_lengths_; }
  // logprobs[rows, V] of the next token given each row's previous token.
  void decode_step(const int32_t* previous_tokens, float* logprobs) {
    decoder_->step(previous_tokens, logprobs);
  }
  // Row i continues row rows[i] (rows of the same source only).
  void select_rows(const std::vector<int64_t>& rows) { decoder_->select_rows(rows); }

  // The attention weights [T, S] the model gives when reading `target` (teacher-forced,
  // T = target length + 1 for <eos>) for `source`; empty without attention.
  std::vector<float> attention_matrix(const std::vector<int32_t>& source,
                                      const std::vector<int32_t>& target);

 private:
  void sort_by_source_length(const data::Batch& batch, bool with_target);

  ModelConfig config_;
  ops::DnnlContext& ctx_;
  ops::ParamStore store_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Decoder> decoder_;
  // The current batch, rows sorted by source length (longest first); order_[i] = original row.
  std::vector<int64_t> order_;
  std::vector<int32_t> source_, source_lengths_, target_input_, target_output_;
  int64_t source_steps_ = 0, target_steps_ = 0, batch_size_ = 0;
  bool has_pending_backward_ = false;
  std::vector<float> logprobs_;
};

}  // namespace tandem::trainer
