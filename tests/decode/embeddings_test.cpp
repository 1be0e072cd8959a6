// tandem-inspect's embedding tools on a real checkpoint whose source embeddings are planted:
// the nearest tokens by cosine come out in the planted order with the planted similarities,
// reserved tokens never appear, and the Projector export has the vocabulary's shape and values.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "data/corpus.h"
#include "data/prep.h"
#include "ops/errors.h"
#include "ops/optimizer.h"
#include "tests/decode/model_on_disk.h"
#include "tests/test_utils.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/decode/embeddings.h"
#include "trainer/model/model_config.h"

namespace tandem {
namespace {

using testing::TempDir;
using testing::write_text;

// A char-level corpus over a, b, c, d (a most frequent) and a checkpoint of a small model whose
// source embedding rows are: a = (1, 0, 0, 0), b = (0.8, 0.6, 0, 0) [cos(a, b) = 0.8],
// c = (0, 1, 0, 0) [cos(a, c) = 0, cos(b, c) = 0.6], d = (-1, 0, 0, 0) [cos(a, d) = -1];
// every reserved row is (1, 0, 0, 0) too, so it would win if reserved tokens were candidates.
class PlantedEmbeddings : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tsv;
    const char* lines[] = {"aaaa\tx", "aaab\tx y", "abbc\ty", "abcd\tx"};
    for (int repeat = 0; repeat < 5; ++repeat)
      for (const char* line : lines) tsv += std::string(line) + "\n";
    const data::Corpus corpus =
        testing::make_corpus(dir_.file("train.tsv"), tsv, dir_.file("corpus"));
    ops::DnnlContext ctx;
    trainer::Seq2SeqModel model(testing::config_for(corpus), ctx);
    model.params().initialize(3);
    const ops::ParamView* embedding = model.params().find("encoder/embedding");
    ASSERT_NE(embedding, nullptr);
    const data::Vocabulary& vocabulary = corpus.source_vocabulary();
    ASSERT_EQ(vocabulary.token(4), "a");  // the most frequent token comes first
    const std::map<std::string, std::vector<float>> planted = {
        {"a", {1, 0, 0, 0}}, {"b", {0.8f, 0.6f, 0, 0}}, {"c", {0, 1, 0, 0}}, {"d", {-1, 0, 0, 0}}};
    for (int32_t id = 0; id < vocabulary.size(); ++id) {
      auto found = planted.find(vocabulary.token(id));
      const std::vector<float> row =
          found != planted.end() ? found->second : std::vector<float>{1, 0, 0, 0};
      std::copy(row.begin(), row.end(), embedding->value + static_cast<size_t>(id) * 4);
    }
    testing::save_model(model, corpus, dir_.file("corpus"), dir_.file("checkpoints"), 7);
  }

  trainer::EmbeddingTable load(trainer::EmbeddingSide side) {
    trainer::TranslatorOptions options;
    options.checkpoint = dir_.file("checkpoints");
    translator_ = std::make_unique<trainer::Translator>(options, ctx_);
    return trainer::embedding_table(*translator_, side);
  }

  TempDir dir_;
  ops::DnnlContext ctx_;
  std::unique_ptr<trainer::Translator> translator_;
};

TEST_F(PlantedEmbeddings, NearestTokensComeInPlantedOrderWithoutReservedTokens) {
  const trainer::EmbeddingTable table = load(trainer::EmbeddingSide::kSource);
  ASSERT_EQ(table.tokens.size(), 8u);  // 4 reserved + a b c d
  ASSERT_EQ(table.dimension, 4);
  auto a = trainer::nearest_neighbours(table, 4, 3);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].token, "b");
  EXPECT_NEAR(a[0].cosine, 0.8, 1e-6);
  EXPECT_EQ(a[1].token, "c");
  EXPECT_NEAR(a[1].cosine, 0.0, 1e-6);
  EXPECT_EQ(a[2].token, "d");
  EXPECT_NEAR(a[2].cosine, -1.0, 1e-6);
  auto b = trainer::nearest_neighbours(table, 5, 10);  // k beyond the candidates: all three
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].token, "a");
  EXPECT_NEAR(b[0].cosine, 0.8, 1e-6);
  EXPECT_EQ(b[1].token, "c");
  EXPECT_NEAR(b[1].cosine, 0.6, 1e-6);
}

TEST_F(PlantedEmbeddings, ProjectorExportHasTheVocabularyShapeAndValues) {
  const trainer::EmbeddingTable table = load(trainer::EmbeddingSide::kSource);
  const std::string out = dir_.file("export");
  EXPECT_EQ(trainer::export_projector(table, out, 0), 4);
  std::ifstream vectors(out + "/vectors.tsv"), metadata(out + "/metadata.tsv");
  std::vector<std::vector<float>> rows;
  std::vector<std::string> labels;
  for (std::string line; std::getline(vectors, line);) {
    std::istringstream fields(line);
    rows.emplace_back();
    for (std::string field; std::getline(fields, field, '\t');)
      rows.back().push_back(std::stof(field));
  }
  for (std::string line; std::getline(metadata, line);) labels.push_back(line);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(labels, (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const auto& row : rows) EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(rows[1], (std::vector<float>{0.8f, 0.6f, 0, 0}));  // exact: 9 digits round-trip f32
  EXPECT_EQ(trainer::export_projector(table, out, 2), 2);      // --top 2: the two most frequent
  std::ifstream top(out + "/metadata.tsv");
  std::string first, second, third;
  std::getline(top, first), std::getline(top, second);
  EXPECT_EQ(first + second, "ab");
  EXPECT_FALSE(std::getline(top, third));
}

TEST_F(PlantedEmbeddings, TargetSideAndBadSide) {
  const trainer::EmbeddingTable table = load(trainer::EmbeddingSide::kTarget);
  EXPECT_EQ(table.tokens.size(), 6u);  // 4 reserved + x y
  EXPECT_EQ(table.tokens[4], "x");
  EXPECT_THROW(trainer::kEmbeddingSideNames.parse("source"), ConfigError);
}

}  // namespace
}  // namespace tandem
