#include "trainer/model/decoder.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "ops/dropout.h"
#include "ops/rng.h"
#include "ops/sequence_ops.h"

namespace tandem::trainer {
namespace {

// Noise sites (dropout masks, sampling decisions); each chunk draws from its own sub-stream.
constexpr uint64_t kEmbeddingSite = 1;
constexpr uint64_t kAttentionalSite = 2;
constexpr uint64_t kSamplingSite = 3;
constexpr uint64_t kFirstLayerSite = 16;

uint64_t site_key(uint64_t noise_key, uint64_t site, int64_t chunk) {
  return ops::combine_keys(ops::combine_keys(noise_key, site), static_cast<uint64_t>(chunk));
}

int32_t argmax(const float* row, int64_t count) {
  return static_cast<int32_t>(std::max_element(row, row + count) - row);
}

}  // namespace

Decoder::Decoder(ops::DnnlContext& ctx, ops::ParamStore& store, const ModelConfig& config)
    : ctx_(ctx), store_(store), config_(config) {
  const int H = config.hidden_size;
  const size_t first_parameter = store.params().size();
  if (config.decoder_init == DecoderInit::kBridge)
    for (int l = 0; l < config.decoder_layers; ++l)
      bridges_.push_back(std::make_unique<ops::Dense>(
          ctx, store, "decoder/bridge/l" + std::to_string(l), H, H, ops::Activation::kTanh));
  if (config.attention != AttentionType::kNone) {
    const auto kind = config.attention == AttentionType::kDot       ? ops::AttentionKind::kDot
                      : config.attention == AttentionType::kGeneral ? ops::AttentionKind::kGeneral
                                                                    : ops::AttentionKind::kAdditive;
    attention_ = std::make_unique<ops::Attention>(ctx, store, "decoder/attention", kind, H, H);
  }
  embedding_ = std::make_unique<ops::Embedding>(store, "decoder/embedding", config.tgt_vocab_size,
                                                config.embedding_size);
  layers_.resize(static_cast<size_t>(config.decoder_layers));
  for (int l = 0; l < config.decoder_layers; ++l)
    layers_[static_cast<size_t>(l)].rnn =
        std::make_unique<ops::RnnLayer>(ctx, store, "decoder/l" + std::to_string(l), config.cell,
                                        l == 0 ? input_size() : H, H, config.precision);
  attentional_ = std::make_unique<ops::Dense>(ctx, store, "decoder/w_c", 2 * H, H,
                                              ops::Activation::kTanh, config.precision);
  output_ = std::make_unique<ops::OutputLoss>(ctx, store, "output", H, config.tgt_vocab_size,
                                              config.label_smoothing, config.precision);
  first_parameter_offset_ = store.params()[first_parameter].offset;
}

int Decoder::input_size() const {
  return config_.embedding_size + (config_.input_feeding ? config_.hidden_size : 0);
}

void Decoder::initial_states(const Encoder& encoder, bool training) {
  const int64_t N = batch_, H = config_.hidden_size;
  const int chunks = step_by_step_ ? static_cast<int>(steps_) : 1;
  for (int l = 0; l < config_.decoder_layers; ++l) {
    Layer& layer = layers_[static_cast<size_t>(l)];
    float* h0 = ops::resized(layer.states_h, (chunks + 1) * N * H);
    float* c0 = ops::zeroed(layer.states_c, (chunks + 1) * N * H);
    if (config_.decoder_init == DecoderInit::kFinalState) {
      std::memcpy(h0, encoder.final_h(l), sizeof(float) * N * H);
      if (ops::has_cell_state(config_.cell))
        std::memcpy(c0, encoder.final_c(l), sizeof(float) * N * H);
    }
    if (training) {
      ops::zeroed(layer.diff_state_h, N * H);
      ops::zeroed(layer.diff_state_c, N * H);
    }
  }
  if (config_.decoder_init == DecoderInit::kBridge) {
    // Masked mean of the encoder outputs over each sequence's real steps.
    float* mean = ops::zeroed(encoder_mean_, N * H);
    for (int64_t n = 0; n < N; ++n) {
      const float scale = 1.0f / static_cast<float>(source_lengths_[n]);
      for (int64_t s = 0; s < source_lengths_[n]; ++s) {
        const float* row = encoder_outputs_ + (s * N + n) * H;
        for (int64_t h = 0; h < H; ++h) mean[n * H + h] += scale * row[h];
      }
    }
    float* out = ops::resized(bridge_out_, config_.decoder_layers * N * H);
    for (int l = 0; l < config_.decoder_layers; ++l) {
      bridges_[static_cast<size_t>(l)]->forward(mean, N, out + l * N * H);
      std::memcpy(layers_[static_cast<size_t>(l)].states_h.data(), out + l * N * H,
                  sizeof(float) * N * H);
    }
  }
}

void Decoder::run_chunk(int64_t t_begin, int64_t t_end, const int32_t* tokens, int chunk,
                        bool training) {
  const int64_t N = batch_, E = config_.embedding_size, H = config_.hidden_size;
  const int64_t rows = (t_end - t_begin) * N;
  const bool drop = training && config_.dropout > 0.0f;
  const bool lstm = ops::has_cell_state(config_.cell);
  chunk_lengths_.assign(static_cast<size_t>(N), static_cast<int32_t>(t_end - t_begin));

  ops::SectionTimes& times = ctx_.section_times();
  std::optional<ops::ScopedSection> timer(std::in_place, times, "embedding");
  float* embedded = embedded_.data() + t_begin * N * E;
  embedding_->forward(tokens, rows, embedded, E);
  const float* x = embedded;
  if (drop) {
    float* dropped = dropped_embedded_.data() + t_begin * N * E;
    ops::dropout_forward(x, dropped, rows * E, config_.dropout,
                         site_key(noise_key_, kEmbeddingSite, chunk));
    x = dropped;
  }
  if (config_.input_feeding) {  // chunks are single steps here
    float* input = rnn_input_.data() + t_begin * N * (E + H);
    const float* feed =
        t_begin == 0 ? initial_feed_.data() : attentional_out_.data() + (t_begin - 1) * N * H;
    ops::copy_into_columns(x, rows, E, input, E + H, 0);
    ops::copy_into_columns(feed, rows, H, input, E + H, E);
    x = input;
  }
  timer.emplace(times, "decoder_rnn");
  for (int l = 0; l < config_.decoder_layers; ++l) {
    Layer& layer = layers_[static_cast<size_t>(l)];
    float* y = layer.output.data() + t_begin * N * H;
    layer.rnn->forward(x, t_end - t_begin, N, chunk_lengths_.data(),
                       layer.states_h.data() + chunk * N * H, layer.states_c.data() + chunk * N * H,
                       y, layer.states_h.data() + (chunk + 1) * N * H,
                       lstm ? layer.states_c.data() + (chunk + 1) * N * H : nullptr,
                       training ? &layer.tape : nullptr);
    x = y;
    if (drop) {
      float* dropped = layer.dropped_output.data() + t_begin * N * H;
      ops::dropout_forward(y, dropped, rows * H, config_.dropout,
                           site_key(noise_key_, kFirstLayerSite + static_cast<uint64_t>(l), chunk));
      x = dropped;
    }
  }
  timer.emplace(times, "attention");
  float* context = context_.data() + t_begin * N * H;
  if (attention_) {
    attention_->forward(x, t_end - t_begin, context, training ? &attention_tape_ : nullptr);
  } else {  // the classic Seq2Seq: the same context vector at every step
    for (int64_t t = 0; t < t_end - t_begin; ++t)
      std::memcpy(context + t * N * H, encoder_top_final_h_, sizeof(float) * N * H);
  }
  float* concatenated = concatenated_.data() + t_begin * N * 2 * H;
  ops::copy_into_columns(context, rows, H, concatenated, 2 * H, 0);
  ops::copy_into_columns(x, rows, H, concatenated, 2 * H, H);
  float* attentional = attentional_out_.data() + t_begin * N * H;
  attentional_->forward(concatenated, rows, attentional);
  if (drop)
    ops::dropout_forward(attentional, dropped_attentional_.data() + t_begin * N * H, rows * H,
                         config_.dropout, site_key(noise_key_, kAttentionalSite, chunk));
}

void Decoder::begin_batch(const Encoder& encoder, int64_t steps, int64_t batch, bool training,
                          bool step_by_step) {
  steps_ = steps;
  batch_ = batch;
  step_by_step_ = step_by_step;
  source_steps_ = encoder.steps();
  source_lengths_ = encoder.lengths();
  encoder_outputs_ = encoder.outputs();
  encoder_top_final_h_ = encoder.final_h(encoder.layer_count() - 1);
  const int64_t rows = steps * batch, E = config_.embedding_size, H = config_.hidden_size;
  const bool drop = training && config_.dropout > 0.0f;
  ops::resized(embedded_, rows * E);
  if (drop) {
    ops::resized(dropped_embedded_, rows * E);
    ops::resized(dropped_attentional_, rows * H);
  }
  if (config_.input_feeding) ops::resized(rnn_input_, rows * (E + H));
  ops::zeroed(initial_feed_, batch * H);
  for (Layer& layer : layers_) {
    layer.tape.clear();
    ops::resized(layer.output, rows * H);
    if (drop) ops::resized(layer.dropped_output, rows * H);
  }
  ops::resized(context_, rows * H);
  ops::resized(concatenated_, rows * 2 * H);
  ops::resized(attentional_out_, rows * H);
}

ops::LossSum Decoder::forward(Encoder& encoder, const int32_t* target_input,
                              const int32_t* target_output, int64_t steps, int64_t batch,
                              bool training, uint64_t noise_key) {
  begin_batch(encoder, steps, batch, training,
              config_.input_feeding || (training && config_.teacher_forcing_ratio < 1.0f));
  target_output_ = target_output;
  noise_key_ = noise_key;
  const int64_t T = steps, N = batch, H = config_.hidden_size;
  const int64_t V = config_.tgt_vocab_size;
  tokens_.assign(target_input, target_input + T * N);
  ops::resized(probabilities_, T * N * V);
  const int64_t chunks = step_by_step_ ? T : 1, chunk_rows = T * N / chunks;
  real_rows_.resize(static_cast<size_t>(T * N));
  real_row_counts_.resize(static_cast<size_t>(chunks));
  packed_targets_.resize(static_cast<size_t>(chunk_rows));
  ops::resized(packed_h_, chunk_rows * H);
  initial_states(encoder, training);
  attention_tape_.clear();
  if (attention_) attention_->set_keys(encoder_outputs_, source_steps_, N, source_lengths_);

  const bool sampling = training && config_.teacher_forcing_ratio < 1.0f;
  const float* predictions_input =
      training && config_.dropout > 0.0f ? dropped_attentional_.data() : attentional_out_.data();
  ops::LossSum total;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t t_begin = step_by_step_ ? c : 0, t_end = step_by_step_ ? c + 1 : T;
    if (sampling && c > 0) {  // replace teacher tokens by the previous step's greedy prediction
      // (rows whose previous target was <pad> have no prediction and are padding now too)
      const uint64_t key = site_key(noise_key_, kSamplingSite, c);
      const int64_t* previous = real_rows_.data() + (c - 1) * N;
      for (int64_t i = 0; i < real_row_counts_[static_cast<size_t>(c - 1)]; ++i) {
        const int64_t n = previous[i];
        if (ops::uniform01(key, static_cast<uint64_t>(n)) >= config_.teacher_forcing_ratio)
          tokens_[static_cast<size_t>(c * N + n)] =
              argmax(probabilities_.data() + ((c - 1) * N + i) * V, V);
      }
    }
    run_chunk(t_begin, t_end, tokens_.data() + t_begin * N, static_cast<int>(c), training);
    ops::ScopedSection timer(ctx_.section_times(), "output");
    list_output_rows(t_begin, t_end, static_cast<int>(c));
    const int64_t rows = pack_output_rows(t_begin, static_cast<int>(c), predictions_input);
    const ops::LossSum loss = output_->forward(packed_h_.data(), packed_targets_.data(), rows,
                                               probabilities_.data() + t_begin * N * V);
    total.loss += loss.loss;
    total.tokens += loss.tokens;
  }
  return total;
}

// Lists the chunk's rows that have a real target: only these go through the output layer, whose
// matmuls and softmax over the vocabulary are the step's largest per-row cost (~10 % of the rows
// of real text are padding even in length-bucketed batches).
void Decoder::list_output_rows(int64_t t_begin, int64_t t_end, int chunk) {
  const int64_t first = t_begin * batch_;
  int64_t* rows = real_rows_.data() + first;
  int64_t count = 0;
  for (int64_t r = 0; r < (t_end - t_begin) * batch_; ++r)
    if (target_output_[first + r] != 0) rows[count++] = r;
  real_row_counts_[static_cast<size_t>(chunk)] = count;
}

// Packs the listed rows of h (all rows of the batch) and their targets; returns their count.
int64_t Decoder::pack_output_rows(int64_t t_begin, int chunk, const float* h) {
  const int64_t first = t_begin * batch_, H = config_.hidden_size;
  const int64_t* rows = real_rows_.data() + first;
  const int64_t count = real_row_counts_[static_cast<size_t>(chunk)];
  ops::gather_rows(h + first * H, rows, count, H, packed_h_.data());
  for (int64_t i = 0; i < count; ++i)
    packed_targets_[static_cast<size_t>(i)] = target_output_[first + rows[i]];
  return count;
}

// Gradients are final when the last chunk backward visits (chunk 0) has added to them.
void Decoder::report_final(const std::string& first_parameter, int chunk,
                           const ops::GradientsReady& ready) const {
  if (ready && chunk == 0) ready(store_.find(first_parameter)->offset);
}

void Decoder::backward_chunk(int64_t t_begin, int64_t t_end, int chunk, float loss_scale,
                             Encoder& encoder, const ops::GradientsReady& ready) {
  ops::SectionTimes& times = ctx_.section_times();
  std::optional<ops::ScopedSection> timer(std::in_place, times, "output");
  backward_output(t_begin, t_end, chunk, loss_scale, ready);
  timer.emplace(times, "attention");
  const float* diff_top = backward_attention(t_begin, t_end, chunk, encoder, ready);
  timer.emplace(times, "decoder_rnn");
  backward_layers(t_begin, t_end, chunk, diff_top, ready);
  timer.emplace(times, "embedding");
  backward_embedding(t_begin, t_end, chunk, ready);
}

// The output layer: d(loss)/d(attentional vector after dropout) of the chunk.
void Decoder::backward_output(int64_t t_begin, int64_t t_end, int chunk, float loss_scale,
                              const ops::GradientsReady& ready) {
  const int64_t N = batch_, H = config_.hidden_size, V = config_.tgt_vocab_size;
  const int64_t rows = pack_output_rows(
      t_begin, chunk,
      config_.dropout > 0.0f ? dropped_attentional_.data() : attentional_out_.data());
  output_->backward(packed_h_.data(), packed_targets_.data(), rows, loss_scale,
                    probabilities_.data() + t_begin * N * V, packed_diff_h_.data());
  ops::scatter_rows(packed_diff_h_.data(), real_rows_.data() + t_begin * N, rows, H,
                    (t_end - t_begin) * N, diff_dropped_attentional_.data() + t_begin * N * H);
  report_final("output/weight", chunk, ready);
}

// The attentional vector, context and attention. Returns d(loss)/d(top layer's output after
// dropout) of the chunk.
const float* Decoder::backward_attention(int64_t t_begin, int64_t t_end, int chunk,
                                         Encoder& encoder, const ops::GradientsReady& ready) {
  const int64_t N = batch_, H = config_.hidden_size;
  const int64_t rows = (t_end - t_begin) * N;
  const float* attentional = attentional_out_.data() + t_begin * N * H;
  float* diff_dropped = diff_dropped_attentional_.data() + t_begin * N * H;
  if (config_.dropout > 0.0f)
    ops::dropout_backward(diff_dropped, diff_dropped, rows * H, config_.dropout,
                          site_key(noise_key_, kAttentionalSite, chunk));
  float* diff_attentional =
      diff_attentional_.data() + t_begin * N * H;  // holds the input-feed part
  for (int64_t i = 0; i < rows * H; ++i) diff_attentional[i] += diff_dropped[i];
  float* diff_concatenated = diff_concatenated_.data() + t_begin * N * 2 * H;
  attentional_->backward(concatenated_.data() + t_begin * N * 2 * H, attentional, diff_attentional,
                         rows, diff_concatenated);
  report_final("decoder/w_c/weight", chunk, ready);

  // Context and queries (the top decoder layer's output).
  float* diff_context = diff_context_.data() + t_begin * N * H;
  float* diff_top = diff_queries_.data() + t_begin * N * H;
  ops::copy_from_columns(diff_concatenated, rows, 2 * H, 0, H, diff_context, false);
  ops::copy_from_columns(diff_concatenated, rows, 2 * H, H, H, diff_top, false);
  if (attention_) {
    float* diff_from_attention = ops::resized(diff_scratch_, rows * H);
    attention_->backward(attention_tape_, diff_context, diff_from_attention);
    for (int64_t i = 0; i < rows * H; ++i) diff_top[i] += diff_from_attention[i];
  } else {
    float* diff_final = encoder.diff_final_h(encoder.layer_count() - 1);
    for (int64_t t = 0; t < t_end - t_begin; ++t)
      for (int64_t i = 0; i < N * H; ++i) diff_final[i] += diff_context[t * N * H + i];
  }
  return diff_top;
}

// RNN layers, top down, from diff_top = d(loss)/d(top layer's output after dropout).
void Decoder::backward_layers(int64_t t_begin, int64_t t_end, int chunk, const float* diff_top,
                              const ops::GradientsReady& ready) {
  const int64_t N = batch_, H = config_.hidden_size;
  const int64_t rows = (t_end - t_begin) * N;
  const bool lstm = ops::has_cell_state(config_.cell);
  const float* diff_y = diff_top;
  for (int l = config_.decoder_layers - 1; l >= 0; --l) {
    Layer& layer = layers_[static_cast<size_t>(l)];
    if (config_.dropout > 0.0f) {
      float* diff_output = layer.diff_output.data() + t_begin * N * H;
      ops::dropout_backward(
          diff_y, diff_output, rows * H, config_.dropout,
          site_key(noise_key_, kFirstLayerSite + static_cast<uint64_t>(l), chunk));
      diff_y = diff_output;
    }
    float* diff_input =
        l > 0 ? layers_[static_cast<size_t>(l - 1)].diff_input.data() + t_begin * N * H
              : diff_rnn_input_.data() + t_begin * N * input_size();
    layer.rnn->backward(layer.tape, diff_y, layer.diff_state_h.data(),
                        lstm ? layer.diff_state_c.data() : nullptr, diff_input,
                        layer.diff_state_h.data(), lstm ? layer.diff_state_c.data() : nullptr);
    report_final("decoder/l" + std::to_string(l) + "/weights_layer", chunk, ready);
    diff_y = diff_input;
  }
}

// Decoder input: the embedding (and the fed-back attentional vector of the previous step).
void Decoder::backward_embedding(int64_t t_begin, int64_t t_end, int chunk,
                                 const ops::GradientsReady& ready) {
  const int64_t N = batch_, E = config_.embedding_size, H = config_.hidden_size;
  const int64_t rows = (t_end - t_begin) * N;
  float* diff_embedded = diff_embedded_.data() + t_begin * N * E;
  if (config_.input_feeding) {
    const float* diff_input = diff_rnn_input_.data() + t_begin * N * (E + H);
    ops::copy_from_columns(diff_input, rows, E + H, 0, E, diff_embedded, false);
    if (t_begin > 0)
      ops::copy_from_columns(diff_input, rows, E + H, E, H,
                             diff_attentional_.data() + (t_begin - 1) * N * H, true);
  } else {
    std::memcpy(diff_embedded, diff_rnn_input_.data() + t_begin * N * E, sizeof(float) * rows * E);
  }
  if (config_.dropout > 0.0f)
    ops::dropout_backward(diff_embedded, diff_embedded, rows * E, config_.dropout,
                          site_key(noise_key_, kEmbeddingSite, chunk));
  embedding_->backward(tokens_.data() + t_begin * N, rows, diff_embedded, E);
  report_final("decoder/embedding", chunk, ready);
}

void Decoder::backward_initial_states(Encoder& encoder) {
  const int64_t N = batch_, H = config_.hidden_size;
  const bool lstm = ops::has_cell_state(config_.cell);
  if (config_.decoder_init == DecoderInit::kFinalState) {
    for (int l = 0; l < config_.decoder_layers; ++l) {
      const Layer& layer = layers_[static_cast<size_t>(l)];
      float* diff_h = encoder.diff_final_h(l);
      float* diff_c = encoder.diff_final_c(l);
      for (int64_t i = 0; i < N * H; ++i) diff_h[i] += layer.diff_state_h[static_cast<size_t>(i)];
      if (lstm)
        for (int64_t i = 0; i < N * H; ++i) diff_c[i] += layer.diff_state_c[static_cast<size_t>(i)];
    }
    return;
  }
  float* diff_mean = ops::resized(diff_mean_, N * H);
  for (int l = 0; l < config_.decoder_layers; ++l)
    bridges_[static_cast<size_t>(l)]->backward(
        encoder_mean_.data(), bridge_out_.data() + l * N * H,
        layers_[static_cast<size_t>(l)].diff_state_h.data(), N, diff_mean,
        l == 0 ? ops::Accumulate::kOverwrite : ops::Accumulate::kAdd);
  float* diff_outputs = encoder.diff_outputs();
  for (int64_t n = 0; n < N; ++n) {
    const float scale = 1.0f / static_cast<float>(source_lengths_[n]);
    for (int64_t s = 0; s < source_lengths_[n]; ++s)
      for (int64_t h = 0; h < H; ++h)
        diff_outputs[(s * N + n) * H + h] += scale * diff_mean[n * H + h];
  }
}

void Decoder::backward(Encoder& encoder, float loss_scale, const ops::GradientsReady& ready) {
  const int64_t T = steps_, N = batch_, E = config_.embedding_size, H = config_.hidden_size;
  ops::resized(diff_dropped_attentional_, T * N * H);
  ops::resized(packed_diff_h_, packed_h_.size());
  ops::zeroed(diff_attentional_, T * N * H);
  ops::resized(diff_concatenated_, T * N * 2 * H);
  ops::resized(diff_context_, T * N * H);
  ops::resized(diff_queries_, T * N * H);
  ops::resized(diff_rnn_input_, T * N * input_size());
  ops::resized(diff_embedded_, T * N * E);
  for (Layer& layer : layers_) {
    ops::resized(layer.diff_output, T * N * H);
    ops::resized(layer.diff_input, T * N * H);
  }
  const int64_t chunks = step_by_step_ ? T : 1;
  for (int64_t c = chunks - 1; c >= 0; --c)
    backward_chunk(step_by_step_ ? c : 0, step_by_step_ ? c + 1 : T, static_cast<int>(c),
                   loss_scale, encoder, ready);
  ops::ScopedSection timer(ctx_.section_times(), "attention");
  backward_initial_states(encoder);
  if (attention_) attention_->finish_backward(encoder.diff_outputs());
  // Bridge and attention parameters (declared first among the decoder's) are final now.
  if (ready) ready(first_parameter_offset_);
}

void Decoder::start(const Encoder& encoder, int64_t batch) {
  begin_batch(encoder, 1, batch, false, true);
  initial_states(encoder, false);
  if (attention_) attention_->set_keys(encoder_outputs_, source_steps_, batch, source_lengths_);
}

void Decoder::step(const int32_t* previous_tokens, float* logprobs) {
  const int64_t N = batch_, H = config_.hidden_size;
  run_chunk(0, 1, previous_tokens, 0, false);
  output_->log_probabilities(attentional_out_.data(), N, logprobs);
  // The new states become the next step's initial states; the attentional vector is fed back.
  for (Layer& layer : layers_) {
    std::memcpy(layer.states_h.data(), layer.states_h.data() + N * H, sizeof(float) * N * H);
    std::memcpy(layer.states_c.data(), layer.states_c.data() + N * H, sizeof(float) * N * H);
  }
  std::memcpy(initial_feed_.data(), attentional_out_.data(), sizeof(float) * N * H);
}

void Decoder::select_rows(const std::vector<int64_t>& rows) {
  const int64_t N = batch_, H = config_.hidden_size;
  std::vector<float> copy(static_cast<size_t>(N * H));
  auto gather = [&](float* state) {
    std::memcpy(copy.data(), state, sizeof(float) * N * H);
    for (int64_t i = 0; i < N; ++i)
      std::memcpy(state + i * H, copy.data() + rows[static_cast<size_t>(i)] * H, sizeof(float) * H);
  };
  for (Layer& layer : layers_) {
    gather(layer.states_h.data());
    gather(layer.states_c.data());
  }
  gather(initial_feed_.data());
}

const float* Decoder::last_attention_weights() const {
  return attention_ ? attention_->last_weights() : nullptr;
}

}  // namespace tandem::trainer
