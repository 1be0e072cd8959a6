// ModelConfig: invalid settings name the option; names and keys round-trip through the settings
// table.
#include <gtest/gtest.h>

#include <string>

#include "data/batch.h"
#include "ops/errors.h"
#include "tests/model/tiny_models.h"
#include "tests/test_utils.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem {
namespace {

using testing::tiny;
using trainer::AttentionType;
using trainer::DecoderInit;
using trainer::ModelConfig;
using trainer::Seq2SeqModel;

// Config errors name the option.
void expect_config_error(const ModelConfig& config, const std::string& option) {
  ops::DnnlContext ctx;
  try {
    Seq2SeqModel model(config, ctx);
    FAIL() << "no error for " << option;
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind(option + ":", 0), 0u) << error.what();
  }
}

TEST(ModelConfig, InvalidSettingsNameTheOption) {
  const ModelConfig good =
      tiny(ops::CellKind::kLstm, AttentionType::kGeneral, true, DecoderInit::kFinalState, 2, 2);
  ModelConfig c = good;
  c.hidden_size = 0;
  expect_config_error(c, "hidden_size");
  c = good;
  c.embedding_size = 0;
  expect_config_error(c, "embedding_size");
  c = good;
  c.encoder_layers = 0;
  expect_config_error(c, "encoder_layers");
  c = good;
  c.src_vocab_size = 3;
  expect_config_error(c, "src_vocab");
  c = good;
  c.decoder_layers = 1;  // final-state init needs equal layer counts
  expect_config_error(c, "decoder_init");
  c = good;
  c.hidden_size = 7;  // odd with a bidirectional encoder
  expect_config_error(c, "hidden_size");
  c = good;
  c.dropout = 1.0f;
  expect_config_error(c, "dropout");
  c = good;
  c.teacher_forcing_ratio = 1.5f;
  expect_config_error(c, "teacher_forcing");
}

TEST(ModelConfig, UnknownNamesAndKeysAreRejectedAndTextRoundTrips) {
  EXPECT_THROW(trainer::kCellNames.parse("lstmm"), ConfigError);
  try {
    trainer::model_config_from_key_values(
        {{"cell", "lstm"}, {"attention", "luong"}, {"src_vocab", "10"}, {"tgt_vocab", "10"}});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("attention:", 0), 0u) << error.what();
  }
  try {
    trainer::model_config_from_key_values({{"hiden_size", "10"}});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("hiden_size:", 0), 0u) << error.what();
  }
  EXPECT_THROW(trainer::model_config_from_key_values({{"hidden_size", "12x"}}), ConfigError);
  ModelConfig config =
      tiny(ops::CellKind::kLbrGru, AttentionType::kAdditive, true, DecoderInit::kBridge, 2, 3);
  config.dropout = 0.25f;
  config.input_feeding = true;
  std::map<std::string, std::string> text;
  for (const auto& [key, value] : trainer::to_key_values(config)) text[key] = value;
  const ModelConfig back = trainer::model_config_from_key_values(text);
  EXPECT_EQ(trainer::to_key_values(back), trainer::to_key_values(config));
}
}  // namespace
}  // namespace tandem
