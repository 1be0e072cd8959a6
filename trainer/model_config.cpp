#include "trainer/model_config.h"

#include <sstream>

#include "data/batch.h"
#include "ops/errors.h"

namespace tandem::trainer {
namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

template <typename T>
T parse_number(const std::string& key, const std::string& text) {
  std::istringstream in(text);
  T value{};
  in >> value;
  if (in.fail() || !in.eof()) throw ConfigError(key + ": cannot parse '" + text + "' as a number");
  return value;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  throw ConfigError(key + ": expected true or false, got '" + text + "'");
}

}  // namespace

ops::CellKind parse_cell_kind(const std::string& name) {
  if (name == "lstm") return ops::CellKind::kLstm;
  if (name == "gru") return ops::CellKind::kGru;
  if (name == "lbr_gru") return ops::CellKind::kLbrGru;
  if (name == "rnn_tanh") return ops::CellKind::kVanillaTanh;
  throw ConfigError("cell: unknown value '" + name + "' (expected lstm, gru, lbr_gru or rnn_tanh)");
}

std::string cell_kind_name(ops::CellKind cell) {
  switch (cell) {
    case ops::CellKind::kLstm:
      return "lstm";
    case ops::CellKind::kGru:
      return "gru";
    case ops::CellKind::kLbrGru:
      return "lbr_gru";
    case ops::CellKind::kVanillaTanh:
      return "rnn_tanh";
  }
  return "?";
}

AttentionType parse_attention_type(const std::string& name) {
  if (name == "none") return AttentionType::kNone;
  if (name == "dot") return AttentionType::kDot;
  if (name == "general") return AttentionType::kGeneral;
  if (name == "additive") return AttentionType::kAdditive;
  throw ConfigError("attention: unknown value '" + name +
                    "' (expected none, dot, general or additive)");
}

std::string attention_type_name(AttentionType type) {
  switch (type) {
    case AttentionType::kNone:
      return "none";
    case AttentionType::kDot:
      return "dot";
    case AttentionType::kGeneral:
      return "general";
    case AttentionType::kAdditive:
      return "additive";
  }
  return "?";
}

DecoderInit parse_decoder_init(const std::string& name) {
  if (name == "final") return DecoderInit::kFinalState;
  if (name == "bridge") return DecoderInit::kBridge;
  throw ConfigError("decoder_init: unknown value '" + name + "' (expected final or bridge)");
}

std::string decoder_init_name(DecoderInit init) {
  return init == DecoderInit::kFinalState ? "final" : "bridge";
}

ops::Precision parse_precision(const std::string& name) {
  if (name == "f32") return ops::Precision::kF32;
  if (name == "bf16") return ops::Precision::kBf16;
  throw ConfigError("precision: unknown value '" + name + "' (expected f32 or bf16)");
}

std::string precision_name(ops::Precision precision) {
  return precision == ops::Precision::kBf16 ? "bf16" : "f32";
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
                 "must be in [0, 1), got " + number_text(c.dropout));
  require_config(c.label_smoothing >= 0.0f && c.label_smoothing < 1.0f, "label_smoothing",
                 "must be in [0, 1), got " + number_text(c.label_smoothing));
  require_config(c.teacher_forcing_ratio >= 0.0f && c.teacher_forcing_ratio <= 1.0f,
                 "teacher_forcing",
                 "must be in [0, 1], got " + number_text(c.teacher_forcing_ratio));
}

std::vector<std::pair<std::string, std::string>> to_key_values(const ModelConfig& c) {
  return {{"cell", cell_kind_name(c.cell)},
          {"src_vocab", std::to_string(c.src_vocab_size)},
          {"tgt_vocab", std::to_string(c.tgt_vocab_size)},
          {"embedding_size", std::to_string(c.embedding_size)},
          {"hidden_size", std::to_string(c.hidden_size)},
          {"encoder_layers", std::to_string(c.encoder_layers)},
          {"decoder_layers", std::to_string(c.decoder_layers)},
          {"bidirectional", c.bidirectional_encoder ? "true" : "false"},
          {"attention", attention_type_name(c.attention)},
          {"decoder_init", decoder_init_name(c.decoder_init)},
          {"dropout", number_text(c.dropout)},
          {"label_smoothing", number_text(c.label_smoothing)},
          {"teacher_forcing", number_text(c.teacher_forcing_ratio)},
          {"input_feeding", c.input_feeding ? "true" : "false"},
          {"precision", precision_name(c.precision)}};
}

ModelConfig model_config_from_key_values(const std::map<std::string, std::string>& values) {
  ModelConfig c;
  for (const auto& [key, text] : values) {
    if (key == "cell")
      c.cell = parse_cell_kind(text);
    else if (key == "src_vocab")
      c.src_vocab_size = parse_number<int>(key, text);
    else if (key == "tgt_vocab")
      c.tgt_vocab_size = parse_number<int>(key, text);
    else if (key == "embedding_size")
      c.embedding_size = parse_number<int>(key, text);
    else if (key == "hidden_size")
      c.hidden_size = parse_number<int>(key, text);
    else if (key == "encoder_layers")
      c.encoder_layers = parse_number<int>(key, text);
    else if (key == "decoder_layers")
      c.decoder_layers = parse_number<int>(key, text);
    else if (key == "bidirectional")
      c.bidirectional_encoder = parse_bool(key, text);
    else if (key == "attention")
      c.attention = parse_attention_type(text);
    else if (key == "decoder_init")
      c.decoder_init = parse_decoder_init(text);
    else if (key == "dropout")
      c.dropout = parse_number<float>(key, text);
    else if (key == "label_smoothing")
      c.label_smoothing = parse_number<float>(key, text);
    else if (key == "teacher_forcing")
      c.teacher_forcing_ratio = parse_number<float>(key, text);
    else if (key == "input_feeding")
      c.input_feeding = parse_bool(key, text);
    else if (key == "precision")
      c.precision = parse_precision(text);
    else
      throw ConfigError(key + ": unknown model option");
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
