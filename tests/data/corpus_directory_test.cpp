// tandem-prep never loses a user's files: the corpus is built aside and moved in when complete;
// --force replaces only what the earlier corpus's manifest lists; a directory that is not a
// corpus is refused even with --force; a failed rebuild leaves the old corpus as it was.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/atomic_file.h"
#include "data/corpus.h"
#include "data/corpus_directory.h"
#include "data/prep.h"
#include "ops/errors.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A tiny char -> word training set in dir/train.tsv and prep options writing dir/corpus.
data::PrepOptions small_prep(const TempDir& dir, int64_t shard_size) {
  std::string tsv;
  for (int i = 0; i < 60; ++i)
    tsv += "w" + std::to_string(i % 13) + "\tA " + std::to_string(i % 5) + "\n";
  testing::write_text(dir.file("train.tsv"), tsv);
  data::PrepOptions options;
  options.train_tsv = dir.file("train.tsv");
  options.output = dir.file("corpus");
  options.source.tokenizer = data::TokenizerKind::kChar;
  options.target.tokenizer = data::TokenizerKind::kWord;
  options.shard_size = shard_size;
  return options;
}

size_t entries(const std::string& directory) {
  size_t count = 0;
  for (auto it = fs::directory_iterator(directory); it != fs::directory_iterator(); ++it) ++count;
  return count;
}

TEST(CorpusDirectory, ForceReplacesOnlyTheEarlierCorpusFiles) {
  TempDir dir;
  data::PrepOptions options = small_prep(dir, 20);  // 3 training shards
  data::run_prep(options);
  testing::write_text(dir.file("corpus/notes.txt"), "the user's own file");
  options.force = true;
  options.shard_size = 100;  // now one shard: the other two old shards must go
  data::run_prep(options);
  EXPECT_EQ(data::read_file(dir.file("corpus/notes.txt")), "the user's own file");
  const data::Corpus corpus = data::Corpus::open(options.output);
  EXPECT_EQ(corpus.manifest().splits.at("train").size(), 1u);
  // manifest, 2 vocabularies, 1 shard, notes.txt: the old extra shards are gone.
  EXPECT_EQ(entries(options.output), 5u);
  EXPECT_EQ(entries(dir.path()), 2u) << "no temporary directory left beside the corpus";
}

TEST(CorpusDirectory, ForceRefusesADirectoryThatIsNotACorpus) {
  TempDir dir;
  data::PrepOptions options = small_prep(dir, 20);
  fs::create_directories(options.output);
  testing::write_text(dir.file("corpus/ckpt.000000100.h5"), "a user's checkpoint");
  options.force = true;
  const std::string message = testing::error_message<ConfigError>([&] { data::run_prep(options); });
  EXPECT_NE(message.find("is not a tandem corpus"), std::string::npos) << message;
  EXPECT_EQ(data::read_file(dir.file("corpus/ckpt.000000100.h5")), "a user's checkpoint");
  EXPECT_EQ(entries(options.output), 1u);
}

TEST(CorpusDirectory, AFailedRebuildLeavesTheOldCorpusAsItWas) {
  TempDir dir;
  data::PrepOptions options = small_prep(dir, 20);
  data::run_prep(options);
  const std::string manifest = data::read_file(dir.file("corpus/manifest.json"));
  testing::write_text(dir.file("bad.tsv"), "ab\tA B\ncd\xFF\tC D\n");  // invalid UTF-8, line 2
  options.train_tsv = dir.file("bad.tsv");
  options.force = true;
  EXPECT_THROW(data::run_prep(options), FormatError);
  EXPECT_EQ(data::read_file(dir.file("corpus/manifest.json")), manifest);
  EXPECT_EQ(data::Corpus::open(options.output).manifest().examples("train"), 60);
  EXPECT_EQ(entries(dir.path()), 3u) << "train.tsv, bad.tsv, corpus: no temporary directory";
}

TEST(CorpusDirectory, AManifestNamingFilesOutsideTheCorpusIsNotTrusted) {
  TempDir dir;
  data::PrepOptions options = small_prep(dir, 20);
  data::run_prep(options);
  std::string manifest = data::read_file(dir.file("corpus/manifest.json"));
  const size_t at = manifest.find("src.vocab");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 9, "../train.tsv");
  testing::write_text(dir.file("corpus/manifest.json"), manifest);
  options.force = true;
  EXPECT_THROW(data::run_prep(options), ConfigError);
  EXPECT_TRUE(fs::exists(dir.file("train.tsv")));
}

}  // namespace
}  // namespace tandem
