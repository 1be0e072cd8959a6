#include "trainer/model/seq2seq_model.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "ops/memory_scope.h"

namespace tandem::trainer {
namespace {

void check_batch(const data::Batch& batch, bool with_target) {
  const int64_t N = batch.batch_size;
  auto fail = [](const std::string& what) { throw std::invalid_argument("batch: " + what); };
  if (N <= 0) fail("empty batch");
  if (static_cast<int64_t>(batch.source.size()) != batch.source_steps * N)
    fail("source size does not match S x N");
  if (static_cast<int64_t>(batch.source_lengths.size()) != N)
    fail("source_lengths size does not match N");
  for (int32_t length : batch.source_lengths)
    if (length < 1 || length > batch.source_steps) fail("a source length is outside [1, S]");
  if (!with_target) return;
  if (static_cast<int64_t>(batch.target_input.size()) != batch.target_steps * N ||
      static_cast<int64_t>(batch.target_output.size()) != batch.target_steps * N)
    fail("target size does not match T x N");
  if (static_cast<int64_t>(batch.target_lengths.size()) != N)
    fail("target_lengths size does not match N");
}

}  // namespace

ParameterCounts count_parameters(const ModelConfig& config, ops::DnnlContext& ctx) {
  validate(config);
  ops::ParamStore plan;  // declarations only: never finalized, nothing allocated
  Encoder encoder(ctx, plan, config);
  Decoder decoder(ctx, plan, config);
  ParameterCounts counts;
  for (const ops::ParamView& view : plan.params()) {
    counts.total += static_cast<int64_t>(view.size);
    if (view.name.find("/weights_") != std::string::npos)
      counts.recurrent += static_cast<int64_t>(view.size);
  }
  return counts;
}

Seq2SeqModel::Seq2SeqModel(const ModelConfig& config, ops::DnnlContext& ctx)
    : config_(config), ctx_(ctx) {
  validate(config_);
  encoder_ = std::make_unique<Encoder>(ctx, store_, config_);
  decoder_ = std::make_unique<Decoder>(ctx, store_, config_);
  ops::allocating("allocating the parameters and their gradients (" +
                      ops::mib_text(8.0 * static_cast<double>(store_.parameter_count())) + ")",
                  [&] { store_.finalize(); });
}

void Seq2SeqModel::initialize(uint64_t seed, const ops::InitPolicy& policy) {
  store_.initialize(seed, policy);
}

void Seq2SeqModel::sort_by_source_length(const data::Batch& batch, bool with_target) {
  check_batch(batch, with_target);
  const int64_t N = batch.batch_size;
  order_.resize(static_cast<size_t>(N));
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) {
    return batch.source_lengths[static_cast<size_t>(a)] >
           batch.source_lengths[static_cast<size_t>(b)];
  });
  batch_size_ = N;
  // Trailing all-padding steps are dropped: the longest sequence sets the step count.
  source_steps_ = batch.source_lengths[static_cast<size_t>(order_[0])];
  auto permute = [&](const std::vector<int32_t>& in, int64_t steps, std::vector<int32_t>& out) {
    out.resize(static_cast<size_t>(steps * N));
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t n = 0; n < N; ++n)
        out[static_cast<size_t>(t * N + n)] =
            in[static_cast<size_t>(t * N + order_[static_cast<size_t>(n)])];
  };
  permute(batch.source, source_steps_, source_);
  source_lengths_.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    source_lengths_[static_cast<size_t>(n)] =
        batch.source_lengths[static_cast<size_t>(order_[static_cast<size_t>(n)])];
  if (with_target) {
    target_steps_ = batch.target_steps;
    permute(batch.target_input, target_steps_, target_input_);
    permute(batch.target_output, target_steps_, target_output_);
  }
}

ops::LossSum Seq2SeqModel::forward(const data::Batch& batch, uint64_t noise_key) {
  sort_by_source_length(batch, true);
  encoder_->forward(source_.data(), source_steps_, batch_size_, source_lengths_.data(), true,
                    noise_key);
  const ops::LossSum loss =
      decoder_->forward(*encoder_, target_input_.data(), target_output_.data(), target_steps_,
                        batch_size_, true, noise_key);
  has_pending_backward_ = true;
  return loss;
}

void Seq2SeqModel::backward(float loss_scale, const ops::GradientsReady& ready) {
  if (!has_pending_backward_)
    throw std::logic_error("Seq2SeqModel::backward without a training forward");
  has_pending_backward_ = false;
  decoder_->backward(*encoder_, loss_scale, ready);
  encoder_->backward(ready);
}

ops::LossSum Seq2SeqModel::evaluate(const data::Batch& batch) {
  has_pending_backward_ = false;
  sort_by_source_length(batch, true);
  encoder_->forward(source_.data(), source_steps_, batch_size_, source_lengths_.data(), false, 0);
  return decoder_->forward(*encoder_, target_input_.data(), target_output_.data(), target_steps_,
                           batch_size_, false, 0);
}

std::vector<std::vector<int32_t>> Seq2SeqModel::greedy_decode(const data::Batch& batch,
                                                              int max_length) {
  has_pending_backward_ = false;
  sort_by_source_length(batch, false);
  const int64_t N = batch_size_, V = config_.tgt_vocab_size;
  encoder_->forward(source_.data(), source_steps_, N, source_lengths_.data(), false, 0);
  decoder_->start(*encoder_, N);
  std::vector<int32_t> tokens(static_cast<size_t>(N), data::kBosId);
  std::vector<bool> finished(static_cast<size_t>(N), false);
  std::vector<std::vector<int32_t>> sorted_output(static_cast<size_t>(N));
  logprobs_.resize(static_cast<size_t>(N * V));
  for (int step = 0; step < max_length; ++step) {
    decoder_->step(tokens.data(), logprobs_.data());
    bool all_finished = true;
    for (int64_t n = 0; n < N; ++n) {
      const float* row = logprobs_.data() + n * V;
      tokens[static_cast<size_t>(n)] = static_cast<int32_t>(std::max_element(row, row + V) - row);
      if (finished[static_cast<size_t>(n)]) continue;
      if (tokens[static_cast<size_t>(n)] == data::kEosId)
        finished[static_cast<size_t>(n)] = true;
      else
        sorted_output[static_cast<size_t>(n)].push_back(tokens[static_cast<size_t>(n)]);
      all_finished = all_finished && finished[static_cast<size_t>(n)];
    }
    if (all_finished) break;
  }
  std::vector<std::vector<int32_t>> output(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    output[static_cast<size_t>(order_[static_cast<size_t>(n)])] =
        std::move(sorted_output[static_cast<size_t>(n)]);
  return output;
}

int64_t Seq2SeqModel::start_decoding(const data::Batch& batch) {
  has_pending_backward_ = false;
  sort_by_source_length(batch, false);
  encoder_->forward(source_.data(), source_steps_, batch_size_, source_lengths_.data(), false, 0);
  decoder_->start(*encoder_, batch_size_);
  return batch_size_;
}

std::vector<float> Seq2SeqModel::attention_matrix(const std::vector<int32_t>& source,
                                                  const std::vector<int32_t>& target) {
  const data::Batch batch = data::make_batch({source}, {target});
  evaluate(batch);
  const float* weights = decoder_->last_attention_weights();
  if (!weights) return {};
  return std::vector<float>(weights, weights + batch.target_steps * batch.source_steps);
}

}  // namespace tandem::trainer
