#include "trainer/model/encoder.h"

#include <algorithm>
#include <cstring>

#include "ops/dropout.h"
#include "ops/rng.h"
#include "ops/sequence_ops.h"

namespace tandem::trainer {
namespace {

// Dropout sites: each gets its own mask stream from the step's noise key.
constexpr uint64_t kEmbeddingSite = 1;
constexpr uint64_t kFirstLayerSite = 16;

}  // namespace

Encoder::Encoder(ops::DnnlContext& ctx, ops::ParamStore& store, const ModelConfig& config)
    : ctx_(ctx),
      store_(store),
      config_(config),
      embedding_(store, "encoder/embedding", config.src_vocab_size, config.embedding_size) {
  const int directions = config.bidirectional_encoder ? 2 : 1;
  const int direction_hidden = config.hidden_size / directions;
  layers_.resize(static_cast<size_t>(config.encoder_layers));
  for (int l = 0; l < config.encoder_layers; ++l) {
    const int input_size = l == 0 ? config.embedding_size : config.hidden_size;
    const std::string prefix = "encoder/l" + std::to_string(l);
    Layer& layer = layers_[static_cast<size_t>(l)];
    if (directions == 1) {
      layer.forward_rnn = std::make_unique<ops::RnnLayer>(
          ctx, store, prefix, config.cell, input_size, direction_hidden, config.precision);
    } else {
      layer.forward_rnn = std::make_unique<ops::RnnLayer>(
          ctx, store, prefix + "/fwd", config.cell, input_size, direction_hidden, config.precision);
      layer.backward_rnn = std::make_unique<ops::RnnLayer>(
          ctx, store, prefix + "/bwd", config.cell, input_size, direction_hidden, config.precision);
    }
  }
}

void Encoder::forward(const int32_t* source, int64_t steps, int64_t batch, const int32_t* lengths,
                      bool training, uint64_t noise_key) {
  steps_ = steps;
  batch_ = batch;
  source_ = source;
  lengths_ = lengths;
  noise_key_ = noise_key;
  const int64_t E = config_.embedding_size, H = config_.hidden_size;
  const bool drop = training && config_.dropout > 0.0f;
  const float* input = ops::resized(embedded_, steps * batch * E);
  {
    ops::ScopedSection timer(ctx_.section_times(), "embedding");
    embedding_.forward(source, steps * batch, embedded_.data(), E);
    if (drop) {
      ops::dropout_forward(input, ops::resized(dropped_embedded_, steps * batch * E),
                           steps * batch * E, config_.dropout,
                           ops::combine_keys(noise_key, kEmbeddingSite));
      input = dropped_embedded_.data();
    }
  }
  ops::ScopedSection timer(ctx_.section_times(), "encoder");
  for (int l = 0; l < config_.encoder_layers; ++l) {
    Layer& layer = layers_[static_cast<size_t>(l)];
    forward_layer(layer, l, input, l == 0 ? config_.embedding_size : config_.hidden_size, training);
    input = drop ? layer.dropped_output.data() : layer.output.data();
  }
  top_output_ = input;
  if (training) {
    ops::zeroed(diff_top_output_, steps * batch * H);
    for (Layer& layer : layers_) {
      ops::zeroed(layer.diff_final_h, batch * H);
      ops::zeroed(layer.diff_final_c, batch * H);
    }
  }
}

void Encoder::forward_layer(Layer& layer, int index, const float* input, int input_size,
                            bool training) {
  const int64_t S = steps_, N = batch_, H = config_.hidden_size;
  const bool lstm = ops::has_cell_state(config_.cell);
  float* output = ops::resized(layer.output, S * N * H);
  float* final_h = ops::zeroed(layer.final_h, N * H);
  float* final_c = ops::zeroed(layer.final_c, N * H);
  if (!layer.backward_rnn) {
    layer.forward_tape.clear();
    layer.forward_rnn->forward(input, S, N, lengths_, nullptr, nullptr, output, final_h,
                               lstm ? final_c : nullptr, training ? &layer.forward_tape : nullptr);
  } else {
    const int64_t Hd = H / 2;
    float* direction_h = ops::resized(layer.direction_h, 2 * N * Hd);
    float* direction_c = ops::zeroed(layer.direction_c, 2 * N * Hd);
    layer.forward_tape.clear();
    layer.backward_tape.clear();
    layer.forward_rnn->forward(
        input, S, N, lengths_, nullptr, nullptr, ops::resized(layer.forward_out, S * N * Hd),
        direction_h, lstm ? direction_c : nullptr, training ? &layer.forward_tape : nullptr);
    ops::reverse_sequences(input, S, N, input_size, lengths_,
                           ops::resized(layer.reversed_input, S * N * input_size));
    layer.backward_rnn->forward(layer.reversed_input.data(), S, N, lengths_, nullptr, nullptr,
                                ops::resized(layer.reversed_out, S * N * Hd), direction_h + N * Hd,
                                lstm ? direction_c + N * Hd : nullptr,
                                training ? &layer.backward_tape : nullptr);
    float* realigned = ops::resized(layer.scratch, S * N * Hd);
    ops::reverse_sequences(layer.reversed_out.data(), S, N, Hd, lengths_, realigned);
    ops::copy_into_columns(layer.forward_out.data(), S * N, Hd, output, H, 0);
    ops::copy_into_columns(realigned, S * N, Hd, output, H, Hd);
    for (int d = 0; d < 2; ++d) {
      ops::copy_into_columns(direction_h + d * N * Hd, N, Hd, final_h, H, d * Hd);
      ops::copy_into_columns(direction_c + d * N * Hd, N, Hd, final_c, H, d * Hd);
    }
  }
  if (training && config_.dropout > 0.0f)
    ops::dropout_forward(
        output, ops::resized(layer.dropped_output, S * N * H), S * N * H, config_.dropout,
        ops::combine_keys(noise_key_, kFirstLayerSite + static_cast<uint64_t>(index)));
}

void Encoder::backward_layer(Layer& layer, int index, const float* diff_output, int input_size,
                             float* diff_input) {
  const int64_t S = steps_, N = batch_, H = config_.hidden_size;
  const bool lstm = ops::has_cell_state(config_.cell);
  if (config_.dropout > 0.0f) {
    ops::dropout_backward(
        diff_output, ops::resized(layer.diff_output, S * N * H), S * N * H, config_.dropout,
        ops::combine_keys(noise_key_, kFirstLayerSite + static_cast<uint64_t>(index)));
    diff_output = layer.diff_output.data();
  }
  if (!layer.backward_rnn) {
    layer.forward_rnn->backward(layer.forward_tape, diff_output, layer.diff_final_h.data(),
                                lstm ? layer.diff_final_c.data() : nullptr, diff_input, nullptr,
                                nullptr);
    return;
  }
  const int64_t Hd = H / 2;
  float* diff_forward_out = ops::resized(layer.diff_forward_out, S * N * Hd);
  float* realigned = ops::resized(layer.scratch, S * N * std::max<int64_t>(Hd, input_size));
  ops::copy_from_columns(diff_output, S * N, H, 0, Hd, diff_forward_out, false);
  ops::copy_from_columns(diff_output, S * N, H, Hd, Hd, realigned, false);
  float* diff_reversed_out = ops::resized(layer.diff_reversed_out, S * N * Hd);
  ops::reverse_sequences(realigned, S, N, Hd, lengths_, diff_reversed_out);
  float* diff_h = ops::resized(layer.diff_direction_h, 2 * N * Hd);
  float* diff_c = ops::resized(layer.diff_direction_c, 2 * N * Hd);
  for (int d = 0; d < 2; ++d) {
    ops::copy_from_columns(layer.diff_final_h.data(), N, H, d * Hd, Hd, diff_h + d * N * Hd, false);
    ops::copy_from_columns(layer.diff_final_c.data(), N, H, d * Hd, Hd, diff_c + d * N * Hd, false);
  }
  layer.forward_rnn->backward(layer.forward_tape, diff_forward_out, diff_h, lstm ? diff_c : nullptr,
                              diff_input, nullptr, nullptr);
  float* diff_reversed_input = ops::resized(layer.diff_reversed_input, S * N * input_size);
  layer.backward_rnn->backward(layer.backward_tape, diff_reversed_out, diff_h + N * Hd,
                               lstm ? diff_c + N * Hd : nullptr, diff_reversed_input, nullptr,
                               nullptr);
  ops::reverse_sequences(diff_reversed_input, S, N, input_size, lengths_, realigned);
  const int64_t count = S * N * input_size;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) diff_input[i] += realigned[i];
}

void Encoder::backward(const ops::GradientsReady& ready) {
  const int64_t S = steps_, N = batch_, E = config_.embedding_size;
  const float* diff = diff_top_output_.data();
  {
    ops::ScopedSection timer(ctx_.section_times(), "encoder");
    for (int l = config_.encoder_layers - 1; l >= 0; --l) {
      Layer& layer = layers_[static_cast<size_t>(l)];
      const int input_size = l == 0 ? config_.embedding_size : config_.hidden_size;
      float* diff_input = ops::resized(layer.diff_input, S * N * input_size);
      backward_layer(layer, l, diff, input_size, diff_input);
      if (ready) {
        const std::string prefix = "encoder/l" + std::to_string(l);
        const ops::ParamView* first = store_.find(prefix + "/weights_layer");
        ready((first ? first : store_.find(prefix + "/fwd/weights_layer"))->offset);
      }
      diff = diff_input;
    }
  }
  ops::ScopedSection timer(ctx_.section_times(), "embedding");
  if (config_.dropout > 0.0f) {
    ops::dropout_backward(diff, ops::resized(diff_embedded_, S * N * E), S * N * E, config_.dropout,
                          ops::combine_keys(noise_key_, kEmbeddingSite));
    diff = diff_embedded_.data();
  }
  embedding_.backward(source_, S * N, diff, E);
  if (ready) ready(store_.view(embedding_.table()).offset);
}

}  // namespace tandem::trainer
