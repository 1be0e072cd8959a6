// TrainConfig's settings table: config.ini's text parses back into the same configuration, keys
// are unique and documented, run-only options stay out of the run's identity; and the Settings
// and EnumNames machinery (ops/settings.h) refuses bad text naming the option.
#include <gtest/gtest.h>

#include <set>

#include "ops/errors.h"
#include "tests/test_utils.h"
#include "trainer/model/model_config.h"
#include "trainer/train/train_config.h"

namespace tandem {
namespace {

trainer::TrainConfig from_text(const std::string& text) {
  trainer::TrainConfig config;
  const Settings settings = trainer::train_settings(config);
  for (const auto& [key, value] : trainer::parse_key_value_lines(text)) settings.set(key, value);
  return config;
}

TEST(TrainConfig, ConfigIniTextParsesBackToTheSameConfiguration) {
  trainer::TrainConfig config;
  config.corpus = "data/corpus";
  config.model.cell = ops::CellKind::kGru;
  config.model.hidden_size = 96;
  config.model.dropout = 0.25f;
  config.model.precision = ops::Precision::kBf16;
  config.schedule.kind = trainer::ScheduleKind::kPlateau;
  config.schedule.base_lr = 0.0025;
  config.valid_metric = trainer::ValidMetric::kWer;
  config.seed = 123456789012345ull;
  config.max_minutes = 1.5;
  const std::string text = trainer::config_text(config);
  EXPECT_EQ(trainer::config_text(from_text(text)), text);
  EXPECT_NE(text.find("cell = gru\n"), std::string::npos) << text;
  EXPECT_NE(text.find("valid-metric = wer\n"), std::string::npos) << text;
}

TEST(TrainConfig, KeysAreUniqueAndEveryOptionHasHelpAndAGroup) {
  trainer::TrainConfig config;
  std::set<std::string> keys;
  const Settings settings = trainer::train_settings(config);
  for (const Setting& setting : settings.all()) {
    EXPECT_TRUE(keys.insert(setting.key).second) << "duplicate " << setting.key;
    EXPECT_FALSE(setting.help.empty()) << setting.key;
    EXPECT_FALSE(setting.group.empty()) << setting.key;
  }
  EXPECT_TRUE(keys.count("hidden-size") && keys.count("bidirectional") && keys.count("lr"));
  EXPECT_FALSE(keys.count("src-vocab")) << "vocabulary sizes come from the corpus";
}

TEST(TrainConfig, RunOnlyOptionsAreNotPartOfTheRunsIdentity) {
  trainer::TrainConfig a, b;
  b.threads = 7;
  b.resume = "none";
  b.reset_optimizer = true;
  EXPECT_EQ(trainer::config_text(a), trainer::config_text(b));
}

TEST(TrainConfig, DefaultModelIsBidirectional) {
  EXPECT_TRUE(trainer::TrainConfig().model.bidirectional_encoder);
}

TEST(Settings, BadValuesNameTheOption) {
  trainer::TrainConfig config;
  const Settings settings = trainer::train_settings(config);
  auto message = [&](const std::string& key, const std::string& value) {
    return testing::error_message<ConfigError>([&] { settings.set(key, value); });
  };
  EXPECT_EQ(message("hidden-size", "12abc"), "hidden-size: cannot parse '12abc' as a number");
  EXPECT_EQ(message("seed", "-3"), "seed: must not be negative, got '-3'");
  EXPECT_EQ(message("bidirectional", "maybe"),
            "bidirectional: expected true or false, got 'maybe'");
  EXPECT_EQ(message("cell", "lstmm"),
            "cell: unknown value 'lstmm' (expected lstm, gru, lbr_gru or rnn_tanh)");
  EXPECT_EQ(message("no-such-option", "1"), "no-such-option: unknown option");
}

TEST(EnumNames, EveryNameRoundTrips) {
  for (const char* name : {"lstm", "gru", "lbr_gru", "rnn_tanh"})
    EXPECT_EQ(trainer::kCellNames.name(trainer::kCellNames.parse(name)), name);
  for (const char* name : {"constant", "rsqrt", "step", "plateau"})
    EXPECT_EQ(trainer::kScheduleNames.name(trainer::kScheduleNames.parse(name)), name);
}

}  // namespace
}  // namespace tandem
