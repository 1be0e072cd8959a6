// tandem-prep and the corpus files: text -> shards -> loader round trips for every tokeniser,
// prep's filters and refusals, and leveldb-style corruption (truncate, flip bytes, delete a
// dataset, mismatched checksums and versions), each an error naming the file and the problem.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "data/atomic_file.h"
#include "data/batch_loader.h"
#include "data/corpus.h"
#include "data/prep.h"
#include "ops/errors.h"
#include "ops/rng.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::error_message;
using testing::TempDir;
using testing::write_text;
namespace h5 = data::h5;
using IdPair = std::pair<std::vector<int32_t>, std::vector<int32_t>>;

// A word made of letters a..h, length in [min_length, max_length], a pure function of (seed, i).
std::string word(uint64_t seed, uint64_t i, int min_length, int max_length) {
  const int length =
      min_length + static_cast<int>(ops::uniform01(seed, i * 100) * (max_length - min_length + 1));
  std::string text;
  for (int k = 0; k < length; ++k)
    text += static_cast<char>('a' + static_cast<int>(ops::uniform01(seed, i * 100 + 1 + k) * 8));
  return text;
}

// "word<TAB>W O R D" lines: characters on the left, space-separated upper-case letters on the
// right.
std::string g2p_like_tsv(int count, uint64_t seed) {
  std::string tsv;
  for (int i = 0; i < count; ++i) {
    const std::string w = word(seed, static_cast<uint64_t>(i), 2, 9) + std::to_string(i % 10);
    std::string phones;
    for (char c : w)
      phones += std::string(phones.empty() ? "" : " ") + static_cast<char>(std::toupper(c));
    tsv += w + "\t" + phones + "\n";
  }
  return tsv;
}

std::vector<IdPair> unpad(const data::Batch& batch) {
  std::vector<IdPair> pairs;
  const int64_t N = batch.batch_size;
  for (int64_t n = 0; n < N; ++n) {
    IdPair pair;
    for (int64_t t = 0; t < batch.source_lengths[static_cast<size_t>(n)]; ++t)
      pair.first.push_back(batch.source[t * N + n]);
    for (int64_t t = 0; t + 1 < batch.target_lengths[static_cast<size_t>(n)]; ++t)
      pair.second.push_back(batch.target_output[t * N + n]);
    EXPECT_EQ(batch.target_output[(batch.target_lengths[static_cast<size_t>(n)] - 1) * N + n],
              data::kEosId);
    EXPECT_EQ(batch.target_input[n], data::kBosId);
    pairs.push_back(pair);
  }
  return pairs;
}

std::vector<IdPair> whole_split(const data::Corpus& corpus, const std::string& split) {
  data::LoaderOptions options;
  options.batch_size = 16;
  data::BatchLoader loader(corpus, split, options);
  std::vector<IdPair> pairs;
  while (auto batch = loader.next())
    for (IdPair& pair : unpad(*batch)) pairs.push_back(std::move(pair));
  return pairs;
}

data::PrepOptions prep_options(const TempDir& dir, data::TokenizerKind source,
                               data::TokenizerKind target) {
  data::PrepOptions options;
  options.train_tsv = dir.file("train.tsv");
  options.output = dir.file("corpus");
  options.source.tokenizer = source;
  options.target.tokenizer = target;
  options.shard_size = 60;
  return options;
}

class RoundTrip : public ::testing::TestWithParam<data::TokenizerKind> {};

TEST_P(RoundTrip, LoaderGivesBackExactlyTheTokenIdsOfTheText) {
  TempDir dir;
  const std::string tsv = g2p_like_tsv(400, 3);
  write_text(dir.file("train.tsv"), tsv);
  data::PrepOptions options = prep_options(dir, GetParam(), GetParam());
  options.valid_fraction = 0.1;
  options.source.vocab_size = options.target.vocab_size =
      GetParam() == data::TokenizerKind::kSentencePiece ? 40 : 0;
  const data::PrepSummary summary = data::run_prep(options);
  EXPECT_EQ(summary.kept_train + summary.kept_valid, 400);
  EXPECT_GT(summary.kept_valid, 10);
  EXPECT_GE(summary.train_shards, 6);

  const data::Corpus corpus = data::Corpus::open(options.output);
  const data::Vocabulary vocabularies[2] = {corpus.source_vocabulary(), corpus.target_vocabulary()};
  const data::SideInfo* sides[2] = {&corpus.manifest().source, &corpus.manifest().target};
  std::unique_ptr<data::Tokenizer> tokenizers[2];
  for (int s = 0; s < 2; ++s)
    tokenizers[s] = data::make_tokenizer(
        sides[s]->tokenizer,
        sides[s]->sentencepiece_model.empty() ? "" : corpus.path_of(sides[s]->sentencepiece_model));
  std::multiset<IdPair> expected;
  std::istringstream lines(tsv);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t tab = line.find('\t');
    const std::string texts[2] = {line.substr(0, tab), line.substr(tab + 1)};
    IdPair pair;
    std::vector<int32_t>* ids[2] = {&pair.first, &pair.second};
    for (int s = 0; s < 2; ++s)
      for (const std::string& token : tokenizers[s]->split(texts[s]))
        ids[s]->push_back(vocabularies[s].id(token));
    expected.insert(pair);
  }
  std::multiset<IdPair> found;
  for (const char* split : {"train", "valid"})
    for (IdPair& pair : whole_split(corpus, split)) found.insert(std::move(pair));
  EXPECT_EQ(found, expected);
}

INSTANTIATE_TEST_SUITE_P(EveryTokenizer, RoundTrip,
                         ::testing::Values(data::TokenizerKind::kChar, data::TokenizerKind::kWord,
                                           data::TokenizerKind::kSentencePiece),
                         [](const auto& info) { return data::kTokenizerNames.name(info.param); });

TEST(Prep, CountsDroppedPairsAndKeepsTheRest) {
  TempDir dir;
  write_text(dir.file("train.tsv"), "ab\tA B\n\ncd\t\nlonglonglong\tL O N G\nbad line\nef\tE F\n");
  data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
  options.max_length = 5;
  options.read.skip_bad_lines = true;
  const data::PrepSummary summary = data::run_prep(options);
  EXPECT_EQ(summary.kept_train, 2);
  EXPECT_EQ(summary.blank, 1);
  EXPECT_EQ(summary.empty_side, 1);
  EXPECT_EQ(summary.too_long, 1);
  EXPECT_EQ(summary.bad_tabs, 1);
  EXPECT_EQ(summary.lines, 6);
}

TEST(Prep, BadLineStopsWithFileAndLineAndLeavesNoManifest) {
  TempDir dir;
  write_text(dir.file("train.tsv"), "ab\tA B\ncd\xFF\tC D\n");
  const data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
  const std::string message = error_message<FormatError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("train.tsv:2: invalid UTF-8"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(options.output + "/manifest.json"));
}

// Prep reads the training input twice; a pipe would come back empty the second time and used
// to give a corpus without training examples (on which training then looped for ever).
TEST(Prep, RefusesAPipeAndAnInputWithoutUsablePairs) {
  TempDir dir;
  const std::string fifo = dir.file("train.tsv");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
  std::string message = error_message<IoError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("train.tsv: not a regular file"), std::string::npos) << message;

  std::filesystem::remove(fifo);
  options.train_tsv = dir.file("missing.tsv");
  message = error_message<IoError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("missing.tsv: cannot open"), std::string::npos) << message;

  write_text(dir.file("blank.tsv"), "\n\nab\t\n");
  options.train_tsv = dir.file("blank.tsv");
  options.read.skip_bad_lines = true;
  message = error_message<FormatError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("blank.tsv: no usable training pairs (3 lines read"), std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(options.output + "/manifest.json"));
}

TEST(Prep, RefusesAnExistingCorpusUnlessForced) {
  TempDir dir;
  write_text(dir.file("train.tsv"), g2p_like_tsv(50, 1));
  data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
  data::run_prep(options);
  const std::string message = error_message<ConfigError>([&] { data::run_prep(options); });
  EXPECT_EQ(message.rfind("output:", 0), 0u) << message;
  options.force = true;
  options.shards = 2;
  EXPECT_EQ(data::run_prep(options).train_shards, 2);
  EXPECT_EQ(data::Corpus::open(options.output).manifest().splits.at("train").size(), 2u);
}

TEST(Prep, VocabularyCapCountsTheReservedIds) {
  TempDir dir;
  write_text(dir.file("train.tsv"), g2p_like_tsv(300, 2));
  data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kSentencePiece, data::TokenizerKind::kChar);
  options.source.vocab_size = 40;
  options.target.vocab_size = 6;
  data::run_prep(options);
  const data::Corpus corpus = data::Corpus::open(options.output);
  EXPECT_LE(corpus.manifest().source.vocab_size, 40);
  EXPECT_GT(corpus.manifest().source.vocab_size, 30);
  EXPECT_EQ(corpus.manifest().target.vocab_size, 6);  // 4 reserved + the 2 most frequent
}

TEST(Prep, RefusesAVocabularyWithoutRealTokens) {
  TempDir dir;
  write_text(dir.file("train.tsv"), g2p_like_tsv(50, 1));
  data::PrepOptions options =
      prep_options(dir, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
  options.source.vocab_size = 4;
  std::string message = error_message<ConfigError>([&] { data::run_prep(options); });
  EXPECT_EQ(message.rfind("vocab-size: must be 0 (no cap) or at least 5", 0), 0u) << message;
  options.source.vocab_size = 0;
  options.source.min_count = options.target.min_count = 1000000;
  message = error_message<ConfigError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("no token is left besides the reserved ones"), std::string::npos)
      << message;
  EXPECT_FALSE(std::filesystem::exists(options.output)) << "a refused prep writes nothing";
}

TEST(Prep, DeflateAndAlignedFilesRoundTrip) {
  TempDir dir;
  write_text(dir.file("a.src"), "hello\nworld\n");
  write_text(dir.file("a.tgt"), "HH AH L OW\nW ER L D\n");
  data::PrepOptions options;
  options.train_source = dir.file("a.src");
  options.train_target = dir.file("a.tgt");
  options.output = dir.file("corpus");
  options.target.tokenizer = data::TokenizerKind::kWord;
  options.deflate = 6;
  data::run_prep(options);
  const auto pairs = whole_split(data::Corpus::open(options.output), "train");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].first.size() + pairs[1].first.size(), 10u);
}

// --- corruption -------------------------------------------------------------------------------

class CorruptCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_.file("train.tsv"), g2p_like_tsv(200, 5));
    options_ = prep_options(dir_, data::TokenizerKind::kChar, data::TokenizerKind::kWord);
    data::run_prep(options_);
  }
  std::string shard_path(int index) const {
    char name[32];
    std::snprintf(name, sizeof name, "/train.%05d.h5", index);
    return options_.output + name;
  }
  // Opens shard 1 the way the loader does.
  void open_shard() const {
    const data::Corpus corpus = data::Corpus::open(options_.output);
    data::ShardReader reader(corpus, "train", corpus.manifest().splits.at("train")[1]);
    std::vector<data::Example> examples;
    reader.read(0, reader.size(), examples);
  }
  std::string failure() const {
    return error_message<FormatError>([&] { open_shard(); });
  }
  TempDir dir_;
  data::PrepOptions options_;
};

TEST_F(CorruptCorpus, TruncatedShardFailsNamingTheFile) {
  std::filesystem::resize_file(shard_path(1), std::filesystem::file_size(shard_path(1)) / 2);
  const std::string message = failure();
  EXPECT_NE(message.find("train.00001.h5:"), std::string::npos) << message;
}

TEST_F(CorruptCorpus, FlippedByteInTokenDataFailsTheChecksum) {
  haddr_t address = 0;
  {
    h5::Handle file(H5Fopen(shard_path(1).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    h5::Handle dataset(H5Dopen2(file.get(), "src_tokens", H5P_DEFAULT), H5Dclose);
    hsize_t offset[1] = {0}, size = 0;
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(dataset.get(), offset, &mask, &address, &size), 0);
  }
  std::string bytes = data::read_file(shard_path(1));
  bytes[address + 8] ^= 0x5A;
  write_text(shard_path(1), bytes);
  const std::string message = failure();
  EXPECT_NE(message.find("train.00001.h5: dataset src_tokens is corrupt"), std::string::npos)
      << message;
}

TEST_F(CorruptCorpus, FlippedBytesAnywhereNeverPassSilently) {
  const std::string original = data::read_file(shard_path(1));
  const std::vector<data::Example> good = [&] {
    const data::Corpus corpus = data::Corpus::open(options_.output);
    data::ShardReader reader(corpus, "train", corpus.manifest().splits.at("train")[1]);
    std::vector<data::Example> examples;
    reader.read(0, reader.size(), examples);
    return examples;
  }();
  for (size_t offset = 0; offset < original.size(); offset += original.size() / 97 + 1) {
    std::string bytes = original;
    bytes[offset] ^= 0xFF;
    write_text(shard_path(1), bytes);
    try {
      const data::Corpus corpus = data::Corpus::open(options_.output);
      data::ShardReader reader(corpus, "train", corpus.manifest().splits.at("train")[1]);
      std::vector<data::Example> examples;
      reader.read(0, reader.size(), examples);
      ASSERT_EQ(examples.size(), good.size()) << "offset " << offset;  // an unused byte: same data
      for (size_t i = 0; i < good.size(); ++i) {
        ASSERT_EQ(examples[i].source, good[i].source) << "offset " << offset;
        ASSERT_EQ(examples[i].target, good[i].target) << "offset " << offset;
      }
    } catch (const FormatError& error) {
      EXPECT_NE(std::string(error.what()).find("train.00001.h5"), std::string::npos)
          << error.what();
    }
  }
}

TEST_F(CorruptCorpus, DeletedDatasetIsNamed) {
  {
    h5::Handle file(H5Fopen(shard_path(1).c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(file.get(), "tgt_offsets", H5P_DEFAULT), 0);
  }
  const std::string message = failure();
  EXPECT_NE(message.find("train.00001.h5: dataset tgt_offsets is missing"), std::string::npos)
      << message;
}

TEST_F(CorruptCorpus, ShardWithAnotherVocabularyChecksumIsRejected) {
  {
    h5::Handle file(H5Fopen(shard_path(1).c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Adelete(file.get(), "src_vocab_checksum"), 0);
    h5::set_attribute(file.get(), "src_vocab_checksum", std::string("0123456789abcdef"),
                      shard_path(1));
  }
  const std::string message = failure();
  EXPECT_NE(message.find("train.00001.h5: src_vocab_checksum 0123456789abcdef differs"),
            std::string::npos)
      << message;
}

TEST_F(CorruptCorpus, ShardOfAnotherFormatVersionIsRejected) {
  {
    h5::Handle file(H5Fopen(shard_path(1).c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Adelete(file.get(), "format_version"), 0);
    h5::set_attribute(file.get(), "format_version", int64_t{2}, shard_path(1));
  }
  const std::string message = failure();
  EXPECT_NE(message.find("train.00001.h5: shard format version 2, expected 1"), std::string::npos)
      << message;
}

TEST_F(CorruptCorpus, ManifestOfAnotherVersionOrMissingIsRejected) {
  const std::string manifest_path = options_.output + "/manifest.json";
  std::string manifest = data::read_file(manifest_path);
  const size_t at = manifest.find("\"format_version\": 1");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 19, "\"format_version\": 2");
  write_text(manifest_path, manifest);
  const std::string message =
      error_message<FormatError>([&] { data::Corpus::open(options_.output); });
  EXPECT_NE(message.find("manifest.json: corpus format version 2"), std::string::npos) << message;
  write_text(manifest_path, "{ not json");
  EXPECT_NE(error_message<FormatError>([&] {
              data::Corpus::open(options_.output);
            }).find("malformed manifest"),
            std::string::npos);
  std::filesystem::remove(manifest_path);
  EXPECT_THROW(data::Corpus::open(options_.output), IoError);
}

TEST_F(CorruptCorpus, VocabularyMismatchesAreNamed) {
  const data::Corpus corpus = data::Corpus::open(options_.output);
  const std::string target = corpus.manifest().target.vocab_checksum;
  const std::string message =
      error_message<ConfigError>([&] { corpus.check_vocabularies("ffffffffffffffff", target); });
  EXPECT_EQ(message.rfind("src_vocab:", 0), 0u) << message;
  write_text(corpus.path_of("tgt.vocab"),
             data::read_file(corpus.path_of("tgt.vocab")) + "EXTRA\t1\n");
  const std::string edited = error_message<FormatError>([&] { corpus.target_vocabulary(); });
  EXPECT_NE(edited.find("tgt.vocab: checksum"), std::string::npos) << edited;
}

}  // namespace
}  // namespace tandem
