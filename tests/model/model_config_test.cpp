// ModelConfig: invalid settings name the option; names and keys round-trip through the settings
// table.
#include <gtest/gtest.h>

#include <functional>
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
  // One invalid change of the good configuration each, and the option its error must name.
  const std::vector<std::pair<std::function<void(ModelConfig&)>, std::string>> cases = {
      {[](ModelConfig& c) { c.hidden_size = 0; }, "hidden_size"},
      {[](ModelConfig& c) { c.embedding_size = 0; }, "embedding_size"},
      {[](ModelConfig& c) { c.encoder_layers = 0; }, "encoder_layers"},
      {[](ModelConfig& c) { c.src_vocab_size = 3; }, "src_vocab"},
      {[](ModelConfig& c) { c.decoder_layers = 1; }, "decoder_init"},  // final needs equal layers
      {[](ModelConfig& c) { c.hidden_size = 7; }, "hidden_size"},      // odd, bidirectional
      {[](ModelConfig& c) { c.dropout = 1.0f; }, "dropout"},
      {[](ModelConfig& c) { c.teacher_forcing_ratio = 1.5f; }, "teacher_forcing"},
  };
  for (const auto& [change, option] : cases) {
    ModelConfig c = good;
    change(c);
    expect_config_error(c, option);
  }
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
