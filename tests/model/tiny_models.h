// Tiny model configurations and a batch of three pairs of mixed lengths, shared by the model,
// training-step and configuration tests.
#pragma once

#include "data/batch.h"
#include "trainer/model/model_config.h"

namespace tandem::testing {

inline trainer::ModelConfig tiny(ops::CellKind cell, trainer::AttentionType attention,
                                 bool bidirectional, trainer::DecoderInit init, int encoder_layers,
                                 int decoder_layers) {
  trainer::ModelConfig config;
  config.cell = cell;
  config.src_vocab_size = 9;
  config.tgt_vocab_size = 8;
  config.embedding_size = 4;
  config.hidden_size = 6;
  config.encoder_layers = encoder_layers;
  config.decoder_layers = decoder_layers;
  config.bidirectional_encoder = bidirectional;
  config.attention = attention;
  config.decoder_init = init;
  return config;
}

inline data::Batch three_pairs() {
  return data::make_batch({{4, 5, 6, 7}, {8, 4}, {5, 6, 7}}, {{4, 5}, {6, 7, 5, 4}, {7}});
}

}  // namespace tandem::testing
