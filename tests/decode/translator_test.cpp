// Translator: loads a verified checkpoint with its corpus's vocabularies, prepares lines with the
// per-line checks tandem-translate reports, decodes as the model does, and refuses a corpus whose
// vocabularies are not the checkpoint's.
#include <gtest/gtest.h>

#include "ops/errors.h"
#include "tests/decode/model_on_disk.h"
#include "tests/test_utils.h"
#include "trainer/decode/translator.h"

namespace tandem {
namespace {

const char* kPairs = "abc\tx y\nbca\ty z\ncab\tz x\naab\tx x\n";

class TranslatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const data::Corpus corpus = testing::make_corpus(dir_.file("a.tsv"), kPairs, dir_.file("a"));
    model_ = std::make_unique<trainer::Seq2SeqModel>(testing::config_for(corpus), ctx_);
    model_->params().initialize(11);
    testing::save_model(*model_, corpus, dir_.file("a"), dir_.file("run/checkpoints"), 5);
  }
  trainer::Translator load(const std::string& corpus = "") {
    trainer::TranslatorOptions options;
    options.checkpoint = dir_.file("run");
    options.corpus = corpus;
    return trainer::Translator(options, ctx_);
  }

  testing::TempDir dir_;
  ops::DnnlContext ctx_;
  std::unique_ptr<trainer::Seq2SeqModel> model_;
};

TEST_F(TranslatorTest, DecodesLikeTheModelItWasSavedFrom) {
  trainer::Translator translator = load();
  EXPECT_EQ(translator.step(), 5);
  const trainer::PreparedSource source = translator.prepare("  cab ");  // trimmed like prep
  ASSERT_EQ(source.problem, "");
  EXPECT_EQ(source.tokens, (std::vector<std::string>{"c", "a", "b"}));
  trainer::BeamOptions greedy;
  greedy.beam_size = 1;
  const auto decoded = trainer::decode_sources(translator.model(), {source.ids}, {0}, greedy);
  const auto expected =
      model_->greedy_decode(data::make_source_batch({source.ids}), greedy.max_length_extra + 2 * 3);
  EXPECT_EQ(decoded[0][0].tokens, expected[0]);
}

TEST_F(TranslatorTest, UnknownTokensBecomeUnkAndBadLinesGetAProblem) {
  trainer::Translator translator = load();
  const trainer::PreparedSource unknown = translator.prepare("abz");
  EXPECT_EQ(unknown.problem, "");
  EXPECT_EQ(unknown.ids.back(), data::kUnkId);
  EXPECT_NE(translator.prepare("").problem, "");
  EXPECT_NE(translator.prepare("a\xff").problem, "");  // invalid UTF-8
  EXPECT_NE(translator.prepare(std::string(translator.max_source_tokens() + 1, 'a')).problem, "");
}

TEST_F(TranslatorTest, ACorpusWithOtherVocabulariesIsRefusedNamingIt) {
  testing::make_corpus(dir_.file("b.tsv"), "xyz\tq r\n", dir_.file("b"));
  const std::string message = testing::error_message<ConfigError>([&] { load(dir_.file("b")); });
  EXPECT_NE(message.find(dir_.file("b")), std::string::npos) << message;
}

TEST_F(TranslatorTest, DecodingBatchesDependOnLengthsAlone) {
  const std::vector<std::vector<int32_t>> sources = {{4}, {4, 5, 6}, {5, 6}, {6, 5, 4}, {4, 4}};
  const auto batches = trainer::plan_decoding_batches(sources, 2);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<size_t>{1, 3}));  // longest first, ties in input order
  EXPECT_EQ(batches[1], (std::vector<size_t>{2, 4}));
  EXPECT_EQ(batches[2], (std::vector<size_t>{0}));
}

}  // namespace
}  // namespace tandem
