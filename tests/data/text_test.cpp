// Text input: UTF-8 checks, vocabularies (build, file round trip, malformed files), tokenisers,
// and the TSV / aligned-file reader's documented handling of bad lines.
#include <gtest/gtest.h>

#include "data/batch.h"
#include "data/text_pairs.h"
#include "data/tokenizer.h"
#include "data/utf8.h"
#include "data/vocabulary.h"
#include "ops/errors.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::error_message;
using testing::TempDir;
using testing::write_text;

TEST(Utf8, AcceptsWellFormedAndRejectsMalformedSequences) {
  EXPECT_TRUE(data::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(data::is_valid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));  // é, 中, emoji
  size_t offset = 0;
  EXPECT_FALSE(data::is_valid_utf8("ab\xC3", &offset));  // truncated
  EXPECT_EQ(offset, 2u);
  EXPECT_FALSE(data::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(data::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(data::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(data::is_valid_utf8("\xFF"));
}

TEST(Tokenizer, CharSplitsCodePointsNotBytes) {
  const auto tokenizer = data::make_tokenizer(data::TokenizerKind::kChar);
  const std::vector<std::string> expected{"c", "a", "f", "\xC3\xA9", " ", "\xE4\xB8\xAD"};
  EXPECT_EQ(tokenizer->split("caf\xC3\xA9 \xE4\xB8\xAD"), expected);
  EXPECT_EQ(tokenizer->join(expected), "caf\xC3\xA9 \xE4\xB8\xAD");
}

TEST(Tokenizer, WordSplitsOnWhitespaceRuns) {
  const auto tokenizer = data::make_tokenizer(data::TokenizerKind::kWord);
  const std::vector<std::string> expected{"HH", "AH0", "L", "OW1"};
  EXPECT_EQ(tokenizer->split("  HH AH0\tL   OW1 "), expected);
  EXPECT_EQ(tokenizer->join(expected), "HH AH0 L OW1");
}

TEST(Tokenizer, SentencePieceTrainsAndRoundTrips) {
  TempDir dir;
  std::vector<std::string> sentences;
  for (int i = 0; i < 300; ++i)
    sentences.push_back("the cat sat on the mat number " + std::to_string(i % 17) +
                        " and the dog ran");
  data::train_sentencepiece(sentences, 60, "bpe", "identity", dir.file("m.model"));
  const auto tokenizer =
      data::make_tokenizer(data::TokenizerKind::kSentencePiece, dir.file("m.model"));
  const auto pieces = tokenizer->split("the dog sat on the cat");
  EXPECT_GT(pieces.size(), 1u);
  EXPECT_LT(pieces.size(), 22u);  // subwords, not characters
  EXPECT_EQ(tokenizer->join(pieces), "the dog sat on the cat");
  EXPECT_FALSE(tokenizer->inventory().empty());
  EXPECT_THROW(data::make_tokenizer(data::TokenizerKind::kSentencePiece, dir.file("missing.model")),
               IoError);
  write_text(dir.file("bad.model"), "not a model");
  EXPECT_THROW(data::make_tokenizer(data::TokenizerKind::kSentencePiece, dir.file("bad.model")),
               FormatError);
}

TEST(Tokenizer, SentencePieceKeepsFullWidthPunctuationWithIdentityNormalisation) {
  TempDir dir;
  std::vector<std::string> sentences;
  for (int i = 0; i < 200; ++i)
    sentences.push_back(std::string(i % 2 ? "你好，世界！" : "打开文件？") + std::to_string(i % 7));
  data::train_sentencepiece(sentences, 40, "unigram", "identity", dir.file("identity.model"));
  data::train_sentencepiece(sentences, 40, "unigram", "nmt_nfkc", dir.file("nfkc.model"));
  const auto as_written =
      data::make_tokenizer(data::TokenizerKind::kSentencePiece, dir.file("identity.model"));
  const auto nfkc =
      data::make_tokenizer(data::TokenizerKind::kSentencePiece, dir.file("nfkc.model"));
  const std::string text = "你好，打开文件？";
  EXPECT_EQ(as_written->join(as_written->split(text)), text);
  EXPECT_EQ(nfkc->join(nfkc->split(text)), "你好,打开文件?");  // what NFKC did to Chinese text
  EXPECT_THROW(data::train_sentencepiece(sentences, 40, "unigram", "nfd", dir.file("x.model")),
               ConfigError);
}

TEST(Vocabulary, ReservedIdsThenByFrequencyWithCapAndMinCount) {
  const auto vocabulary =
      data::Vocabulary::build({{"b", 5}, {"a", 5}, {"c", 9}, {"rare", 1}, {"<eos>", 50}}, 6, 2);
  ASSERT_EQ(vocabulary.size(), 6);
  EXPECT_EQ(vocabulary.token(data::kPadId), "<pad>");
  EXPECT_EQ(vocabulary.token(data::kEosId), "<eos>");
  EXPECT_EQ(vocabulary.token(4), "c");
  EXPECT_EQ(vocabulary.token(5), "a");  // ties broken by byte order; "b" is cut by the cap
  EXPECT_EQ(vocabulary.id("b"), data::kUnkId);
  EXPECT_EQ(vocabulary.id("rare"), data::kUnkId);
  EXPECT_EQ(vocabulary.id("<eos>"), data::kUnkId);  // text never produces reserved ids
}

TEST(Vocabulary, FileRoundTripKeepsTokensWithSpacesTabsAndBackslashes) {
  TempDir dir;
  const auto vocabulary =
      data::Vocabulary::build({{" ", 3}, {"\t", 2}, {"a\\b", 2}, {"\xE4\xB8\xAD", 1}}, 0, 1);
  vocabulary.save(dir.file("v.vocab"));
  const auto loaded = data::Vocabulary::load(dir.file("v.vocab"));
  ASSERT_EQ(loaded.size(), vocabulary.size());
  for (int32_t id = 0; id < vocabulary.size(); ++id)
    EXPECT_EQ(loaded.token(id), vocabulary.token(id));
  EXPECT_EQ(loaded.checksum(), vocabulary.checksum());
  EXPECT_NE(data::Vocabulary::build({{"x", 1}}, 0, 1).checksum(), vocabulary.checksum());
}

TEST(Vocabulary, MalformedFilesNameFileAndLine) {
  TempDir dir;
  write_text(dir.file("a.vocab"), "<pad>\t0\n<unk>\t0\n<bos>\t0\n<eos>\t0\nx\tmany\n");
  EXPECT_NE(error_message<FormatError>([&] {
              data::Vocabulary::load(dir.file("a.vocab"));
            }).find("a.vocab:5:"),
            std::string::npos);
  write_text(dir.file("b.vocab"), "<unk>\t0\n");
  EXPECT_NE(error_message<FormatError>([&] {
              data::Vocabulary::load(dir.file("b.vocab"));
            }).find("b.vocab:1:"),
            std::string::npos);
  write_text(dir.file("c.vocab"), "<pad>\t0\n<unk>\t0\n<bos>\t0\n<eos>\t0\nx\t1\nx\t1\n");
  EXPECT_NE(error_message<FormatError>([&] {
              data::Vocabulary::load(dir.file("c.vocab"));
            }).find("duplicate"),
            std::string::npos);
  EXPECT_THROW(data::Vocabulary::load(dir.file("missing.vocab")), IoError);
}

std::vector<data::TextPair> read_all(data::TextPairReader& reader) {
  std::vector<data::TextPair> pairs;
  data::TextPair pair;
  while (reader.next(pair)) pairs.push_back(pair);
  return pairs;
}

TEST(TextPairReader, AcceptsBomCrlfAndBlankLines) {
  TempDir dir;
  write_text(dir.file("a.tsv"), "\xEF\xBB\xBFone\tuno\r\n\r\n  \ntwo \t dos\r\n");
  data::TextPairReader reader(dir.file("a.tsv"), {});
  const auto pairs = read_all(reader);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].source, "one");  // BOM stripped
  EXPECT_EQ(pairs[0].target, "uno");  // CR stripped
  EXPECT_EQ(pairs[1].source, "two");  // sides trimmed
  EXPECT_EQ(pairs[1].target, "dos");
  EXPECT_EQ(pairs[1].line, 4);
  EXPECT_EQ(reader.counts().blank, 2);
}

TEST(TextPairReader, BadLinesAreErrorsNamingFileAndLineUnlessSkipped) {
  TempDir dir;
  write_text(dir.file("a.tsv"), "ok\tfine\nno tab here\nbad\xFF utf8\tx\nx\ty\tz\nlast\tone\n");
  {
    data::TextPairReader reader(dir.file("a.tsv"), {});
    const std::string message = error_message<FormatError>([&] { read_all(reader); });
    EXPECT_NE(message.find("a.tsv:2: expected exactly one TAB"), std::string::npos) << message;
  }
  data::TextReadOptions skip;
  skip.skip_bad_lines = true;
  data::TextPairReader reader(dir.file("a.tsv"), skip);
  const auto pairs = read_all(reader);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].source, "last");
  EXPECT_EQ(reader.counts().bad_tabs, 2);
  EXPECT_EQ(reader.counts().bad_utf8, 1);

  write_text(dir.file("b.tsv"), "ok\tfine\nbad\xC3\tutf8\n");
  data::TextPairReader utf8_reader(dir.file("b.tsv"), {});
  const std::string message = error_message<FormatError>([&] { read_all(utf8_reader); });
  EXPECT_NE(message.find("b.tsv:2: invalid UTF-8 at byte 4"), std::string::npos) << message;
}

TEST(TextPairReader, OverlongLinesAreRejectedWithoutStoringThem) {
  TempDir dir;
  write_text(dir.file("a.tsv"), "a\tb\n" + std::string(5000, 'x') + "\ty\nc\td\n");
  data::TextReadOptions options;
  options.max_line_bytes = 1000;
  data::TextPairReader strict(dir.file("a.tsv"), options);
  EXPECT_NE(error_message<FormatError>([&] {
              read_all(strict);
            }).find("a.tsv:2: line longer than 1000 bytes"),
            std::string::npos);
  options.skip_bad_lines = true;
  data::TextPairReader lenient(dir.file("a.tsv"), options);
  EXPECT_EQ(read_all(lenient).size(), 2u);
  EXPECT_EQ(lenient.counts().too_long, 1);
}

TEST(TextPairReader, AlignedFilesMustHaveEqualLineCounts) {
  TempDir dir;
  write_text(dir.file("a.en"), "one\ntwo\n\nfour\n");
  write_text(dir.file("a.de"), "eins\nzwei\n\nvier\n");
  data::TextPairReader reader(dir.file("a.en"), dir.file("a.de"), {});
  const auto pairs = read_all(reader);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[2].target, "vier");
  EXPECT_EQ(reader.counts().blank, 1);
  write_text(dir.file("b.de"), "eins\nzwei\n");
  data::TextPairReader short_reader(dir.file("a.en"), dir.file("b.de"), {});
  const std::string message = error_message<FormatError>([&] { read_all(short_reader); });
  EXPECT_NE(message.find("b.de: has 2 lines"), std::string::npos) << message;
}

}  // namespace
}  // namespace tandem
