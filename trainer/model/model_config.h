// ModelConfig: everything that fixes the shape and behaviour of a Seq2SeqModel, its validation
// (errors name the option) and its text form (key = value; persisted with every run and
// checkpoint, so the keys and enum names below never change meaning).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ops/attention.h"
#include "ops/bf16.h"
#include "ops/rnn_layer.h"
#include "ops/settings.h"

namespace tandem::trainer {

enum class AttentionType { kNone, kDot, kGeneral, kAdditive };  // none, dot, general, additive
enum class DecoderInit { kFinalState, kBridge };                // final, bridge

struct ModelConfig {
  ops::CellKind cell = ops::CellKind::kLstm;  // lstm, gru, lbr_gru, rnn_tanh
  int src_vocab_size = 0;
  int tgt_vocab_size = 0;
  int embedding_size = 128;  // source and target embeddings
  int hidden_size = 256;     // decoder hidden size = encoder output size (H/2 per direction if bi)
  int encoder_layers = 1;
  int decoder_layers = 1;
  bool bidirectional_encoder = false;
  // none: the classic Seq2Seq; the context is the encoder's final top-layer state at every step.
  AttentionType attention = AttentionType::kGeneral;
  // final: decoder layer l starts from encoder layer l's final state (needs equal layer counts);
  // bridge: tanh(W_l * masked mean of the encoder outputs), cell state zero (Marian's choice).
  DecoderInit decoder_init = DecoderInit::kFinalState;
  float dropout = 0.0f;  // on embeddings, every RNN layer's output, the attentional vector
  float label_smoothing = 0.0f;
  // 1: teacher forcing over the whole target at once (fast path). < 1: scheduled sampling, step by
  // step, feeding the model's own greedy prediction with probability 1 - ratio.
  float teacher_forcing_ratio = 1.0f;
  // Concatenates the previous attentional vector to the decoder input (Luong); step by step.
  bool input_feeding = false;
  // bf16: RNN layers, W_c and the output projection compute on bf16 copies (mixed precision;
  // weights, gradients and optimizer state stay f32). About 1.4x faster on AVX512-BF16 CPUs.
  ops::Precision precision = ops::Precision::kF32;

  // True when the decoder has to run one step at a time.
  bool step_by_step_decoder() const { return teacher_forcing_ratio < 1.0f || input_feeding; }
};

inline const EnumNames<ops::CellKind> kCellNames("cell",
                                                 {{ops::CellKind::kLstm, "lstm"},
                                                  {ops::CellKind::kGru, "gru"},
                                                  {ops::CellKind::kLbrGru, "lbr_gru"},
                                                  {ops::CellKind::kVanillaTanh, "rnn_tanh"}});
inline const EnumNames<AttentionType> kAttentionNames("attention",
                                                      {{AttentionType::kNone, "none"},
                                                       {AttentionType::kDot, "dot"},
                                                       {AttentionType::kGeneral, "general"},
                                                       {AttentionType::kAdditive, "additive"}});
inline const EnumNames<DecoderInit> kDecoderInitNames("decoder_init",
                                                      {{DecoderInit::kFinalState, "final"},
                                                       {DecoderInit::kBridge, "bridge"}});
inline const EnumNames<ops::Precision> kPrecisionNames("precision",
                                                       {{ops::Precision::kF32, "f32"},
                                                        {ops::Precision::kBf16, "bf16"}});

// THE list of the model's settings: key (persisted in checkpoints; tandem-train's option is the
// key with '-' for '_'), field, help. Everything below is derived from it.
Settings model_settings(ModelConfig& config);

// Throws ConfigError "<option>: <problem>" for the first invalid setting.
void validate(const ModelConfig& config);

// The configuration as ordered (key, value) text pairs, and back. from_key_values starts from
// the defaults, rejects unknown keys and unparsable values (ConfigError naming the key) and
// validates the result.
std::vector<std::pair<std::string, std::string>> to_key_values(const ModelConfig& config);
ModelConfig model_config_from_key_values(const std::map<std::string, std::string>& values);

// "key = value" lines (as stored in checkpoints and config.ini) -> map; blank lines and lines
// starting with '#' are skipped. ConfigError naming the line for anything else without " = ".
std::map<std::string, std::string> parse_key_value_lines(const std::string& text);

}  // namespace tandem::trainer
