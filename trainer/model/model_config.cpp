#include "trainer/model/model_config.h"

#include <sstream>

#include "data/batch.h"
#include "ops/errors.h"

namespace tandem::trainer {
Settings model_settings(ModelConfig& c) {
  Settings settings;
  settings.add("cell", c.cell, kCellNames, "RNN cell")
      .add("src_vocab", c.src_vocab_size, "source vocabulary size (from the corpus)")
      .add("tgt_vocab", c.tgt_vocab_size, "target vocabulary size (from the corpus)")
      .add("embedding_size", c.embedding_size, "embedding size (both sides)")
      .add("hidden_size", c.hidden_size,
           "decoder hidden size = encoder output size (half per direction when bidirectional)")
      .add("encoder_layers", c.encoder_layers, "encoder RNN layers")
      .add("decoder_layers", c.decoder_layers, "decoder RNN layers")
      .add("bidirectional", c.bidirectional_encoder, "bidirectional encoder")
      .add("attention", c.attention, kAttentionNames, "attention")
      .add("decoder_init", c.decoder_init, kDecoderInitNames,
           "decoder start state: the encoder's final states (equal layer counts) or a bridge")
      .add("dropout", c.dropout, "dropout on embeddings and RNN outputs")
      .add("label_smoothing", c.label_smoothing, "label smoothing epsilon")
      .add("teacher_forcing", c.teacher_forcing_ratio,
           "teacher-forcing ratio; below 1: scheduled sampling")
      .add("input_feeding", c.input_feeding, "feed the previous attentional vector to the decoder")
      .add("precision", c.precision, kPrecisionNames,
           "f32, or bf16: mixed precision (bf16 compute in the RNNs, W_c and the output layer; "
           "f32 master weights, gradients and optimizer state), ~1.4x faster on AVX512-BF16 CPUs");
  return settings;
}

void validate(const ModelConfig& c) {
  const std::string minimum_vocab = std::to_string(data::kFirstRegularId + 1);
  require_config(c.src_vocab_size > data::kFirstRegularId, "src_vocab",
                 "must be at least " + minimum_vocab + " (4 reserved ids + 1), got " +
                     std::to_string(c.src_vocab_size));
  require_config(c.tgt_vocab_size > data::kFirstRegularId, "tgt_vocab",
                 "must be at least " + minimum_vocab + " (4 reserved ids + 1), got " +
                     std::to_string(c.tgt_vocab_size));
  require_config(c.embedding_size > 0, "embedding_size",
                 "must be positive, got " + std::to_string(c.embedding_size));
  require_config(c.hidden_size > 0, "hidden_size",
                 "must be positive, got " + std::to_string(c.hidden_size));
  require_config(c.encoder_layers > 0, "encoder_layers",
                 "must be positive, got " + std::to_string(c.encoder_layers));
  require_config(c.decoder_layers > 0, "decoder_layers",
                 "must be positive, got " + std::to_string(c.decoder_layers));
  require_config(!c.bidirectional_encoder || c.hidden_size % 2 == 0, "hidden_size",
                 "must be even with a bidirectional encoder (each direction gets half), got " +
                     std::to_string(c.hidden_size));
  require_config(c.decoder_init != DecoderInit::kFinalState || c.encoder_layers == c.decoder_layers,
                 "decoder_init",
                 "'final' needs as many encoder layers (" + std::to_string(c.encoder_layers) +
                     ") as decoder layers (" + std::to_string(c.decoder_layers) +
                     "); use 'bridge'");
  require_config(c.dropout >= 0.0f && c.dropout < 1.0f, "dropout",
                 "must be in [0, 1), got " + setting_text(c.dropout));
  require_config(c.label_smoothing >= 0.0f && c.label_smoothing < 1.0f, "label_smoothing",
                 "must be in [0, 1), got " + setting_text(c.label_smoothing));
  require_config(c.teacher_forcing_ratio >= 0.0f && c.teacher_forcing_ratio <= 1.0f,
                 "teacher_forcing",
                 "must be in [0, 1], got " + setting_text(c.teacher_forcing_ratio));
}

std::vector<std::pair<std::string, std::string>> to_key_values(const ModelConfig& c) {
  ModelConfig copy = c;
  return model_settings(copy).key_values();
}

ModelConfig model_config_from_key_values(const std::map<std::string, std::string>& values) {
  ModelConfig c;
  const Settings settings = model_settings(c);
  for (const auto& [key, text] : values) {
    if (!settings.find(key)) throw ConfigError(key + ": unknown model option");
    settings.set(key, text);
  }
  validate(c);
  return c;
}

std::map<std::string, std::string> parse_key_value_lines(const std::string& text) {
  std::map<std::string, std::string> values;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    const size_t separator = line.find(" = ");
    if (separator == std::string::npos)
      throw ConfigError("configuration line " + std::to_string(line_number) +
                        " is not 'key = value': " + line);
    values[line.substr(0, separator)] = line.substr(separator + 3);
  }
  return values;
}

}  // namespace tandem::trainer
