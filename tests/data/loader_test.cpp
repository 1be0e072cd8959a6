// BatchLoader: every example exactly once per epoch over P simulated ranks, order a pure
// function of (seed, epoch, P), cursor resume, token budgets, bucketing efficiency, which shards
// a rank opens, and errors from the prefetch thread.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "data/batch_loader.h"
#include "data/prep.h"
#include "ops/errors.h"
#include "ops/rng.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

using testing::TempDir;
using testing::write_text;

// Example i: source "x<i>" (a unique word: its id identifies the example), source padded with
// filler words up to source_length(i), target about as long. 90 % short, 10 % long: skewed.
class LoaderTest : public ::testing::Test {
 protected:
  static constexpr int kExamples = 600;
  static int source_length(int i) {
    const float u = ops::uniform01(11, static_cast<uint64_t>(i));
    return u < 0.9f ? 2 + static_cast<int>(u * 7) : 25 + static_cast<int>(u * 30);
  }
  void SetUp() override {
    std::string tsv;
    for (int i = 0; i < kExamples; ++i) {
      std::string source = "x" + std::to_string(i), target;
      for (int k = 1; k < source_length(i); ++k) source += " w";
      for (int k = 0; k < source_length(i) + i % 3 - 1; ++k)
        target += "t ";  // lengths correlate, as in G2P
      tsv += source + "\t" + target + "\n";
    }
    write_text(dir_.file("train.tsv"), tsv);
    data::PrepOptions options;
    options.train_tsv = dir_.file("train.tsv");
    options.output = dir_.file("corpus");
    options.source.tokenizer = options.target.tokenizer = data::TokenizerKind::kWord;
    options.shard_size = 100;  // 6 shards
    data::run_prep(options);
    corpus_ = std::make_unique<data::Corpus>(data::Corpus::open(options.output));
    vocabulary_ = std::make_unique<data::Vocabulary>(corpus_->source_vocabulary());
  }
  // The example index of each row of a batch (from its unique first source token).
  std::vector<int> examples_of(const data::Batch& batch) const {
    std::vector<int> indices;
    for (int64_t n = 0; n < batch.batch_size; ++n)
      indices.push_back(
          std::stoi(vocabulary_->token(batch.source[static_cast<size_t>(n)]).substr(1)));
    return indices;
  }
  std::vector<std::vector<int>> epoch(const data::LoaderOptions& options,
                                      int64_t epoch_index) const {
    data::BatchLoader loader(*corpus_, "train", options);
    loader.start_epoch(epoch_index);
    std::vector<std::vector<int>> batches;
    while (auto batch = loader.next()) batches.push_back(examples_of(*batch));
    return batches;
  }
  static data::LoaderOptions options(int rank, int ranks) {
    data::LoaderOptions o;
    o.batch_tokens = 120;
    o.pool = 5;
    o.chunk = 16;
    o.seed = 42;
    o.rank = rank;
    o.ranks = ranks;
    return o;
  }
  TempDir dir_;
  std::unique_ptr<data::Corpus> corpus_;
  std::unique_ptr<data::Vocabulary> vocabulary_;
};

TEST_F(LoaderTest, EveryExampleExactlyOncePerEpochOverRanks) {
  for (int ranks : {1, 2, 3}) {
    for (int64_t e : {0, 1}) {
      std::map<int, int> seen;
      for (int r = 0; r < ranks; ++r)
        for (const auto& batch : epoch(options(r, ranks), e))
          for (int i : batch) ++seen[i];
      ASSERT_EQ(static_cast<int>(seen.size()), kExamples) << ranks << " ranks, epoch " << e;
      for (const auto& [i, count] : seen)
        ASSERT_EQ(count, 1) << "example " << i << ", " << ranks << " ranks";
    }
  }
}

TEST_F(LoaderTest, OrderDependsOnlyOnSeedEpochAndRankCount) {
  EXPECT_EQ(epoch(options(1, 3), 2), epoch(options(1, 3), 2));
  EXPECT_NE(epoch(options(0, 1), 0), epoch(options(0, 1), 1));
  data::LoaderOptions other_seed = options(0, 1);
  other_seed.seed = 43;
  EXPECT_NE(epoch(options(0, 1), 0), epoch(other_seed, 0));
  data::LoaderOptions no_prefetch = options(0, 2);
  no_prefetch.prefetch = false;
  EXPECT_EQ(epoch(options(0, 2), 0), epoch(no_prefetch, 0));
}

TEST_F(LoaderTest, CursorResumeGivesIdenticalFollowingBatches) {
  data::BatchLoader straight(*corpus_, "train", options(1, 2));
  std::vector<std::pair<data::LoaderCursor, std::vector<int>>> history;
  for (int64_t e = 0; e < 2; ++e) {
    straight.start_epoch(e);
    while (true) {
      const data::LoaderCursor cursor = straight.cursor();
      auto batch = straight.next();
      if (!batch) break;
      history.emplace_back(cursor, examples_of(*batch));
    }
  }
  ASSERT_GT(history.size(), 10u);
  for (size_t stop : {size_t{0}, size_t{3}, history.size() / 2, history.size() - 1}) {
    data::BatchLoader resumed(*corpus_, "train", options(1, 2));  // a fresh process
    resumed.seek(history[stop].first);
    for (size_t k = stop; k < history.size(); ++k) {
      if (k > stop && history[k].first.epoch != history[k - 1].first.epoch) {
        ASSERT_FALSE(resumed.next().has_value());
        resumed.start_epoch(history[k].first.epoch);
      }
      EXPECT_EQ(resumed.cursor(), history[k].first)
          << "batch " << k << " after resuming at " << stop;
      auto batch = resumed.next();
      ASSERT_TRUE(batch.has_value());
      ASSERT_EQ(examples_of(*batch), history[k].second)
          << "batch " << k << " after resuming at " << stop;
    }
  }
}

TEST_F(LoaderTest, RankCountChangeMidEpochSeesEveryExampleExactlyOnce) {
  for (const auto& [before, after] :
       {std::pair{2, 3}, std::pair{3, 1}, std::pair{2, 1}, std::pair{1, 2}}) {
    // The earlier run: each rank consumed a different number of batches of epoch 1.
    std::map<int, int> seen;
    data::EpochOrigin origin{before, {}};
    for (int r = 0; r < before; ++r) {
      data::BatchLoader loader(*corpus_, "train", options(r, before));
      loader.start_epoch(1);
      for (int b = 0; b < 3 + 4 * r; ++b)
        if (auto batch = loader.next())
          for (int i : examples_of(*batch)) ++seen[i];
      origin.cursors.push_back(loader.cursor());
    }
    // The resumed run with another rank count finishes the epoch, then starts the next.
    for (int r = 0; r < after; ++r) {
      data::BatchLoader loader(*corpus_, "train", options(r, after));
      loader.seek({1, 0, 0}, origin);
      while (auto batch = loader.next())
        for (int i : examples_of(*batch)) ++seen[i];
      EXPECT_EQ(loader.origin().ranks, before);
      loader.start_epoch(2);
      EXPECT_TRUE(loader.origin().empty());
      EXPECT_TRUE(loader.next().has_value());
    }
    ASSERT_EQ(static_cast<int>(seen.size()), kExamples) << before << " -> " << after << " ranks";
    for (const auto& [i, count] : seen)
      ASSERT_EQ(count, 1) << "example " << i << ", " << before << " -> " << after;
  }
}

TEST_F(LoaderTest, RemainderPlanResumesFromItsOwnCursor) {
  data::EpochOrigin origin{2, {}};
  for (int r = 0; r < 2; ++r) {
    data::BatchLoader loader(*corpus_, "train", options(r, 2));
    for (int b = 0; b < 5; ++b) loader.next();
    origin.cursors.push_back(loader.cursor());
  }
  data::BatchLoader straight(*corpus_, "train", options(1, 3));
  straight.seek({0, 0, 0}, origin);
  for (int b = 0; b < 4; ++b) straight.next();
  const data::LoaderCursor cursor = straight.cursor();
  std::vector<std::vector<int>> rest;
  while (auto batch = straight.next()) rest.push_back(examples_of(*batch));
  data::BatchLoader resumed(*corpus_, "train", options(1, 3));
  resumed.seek(cursor, origin);
  std::vector<std::vector<int>> again;
  while (auto batch = resumed.next()) again.push_back(examples_of(*batch));
  EXPECT_EQ(again, rest);
}

TEST_F(LoaderTest, TokenBudgetIsRespectedAndBucketingKeepsPaddingLow) {
  data::BatchLoader loader(*corpus_, "train", options(0, 1));
  int64_t batches = 0;
  while (auto batch = loader.next()) {
    ++batches;
    const int64_t longest = std::max(batch->source_steps, batch->target_steps);
    if (batch->batch_size > 1) {
      EXPECT_LE(batch->batch_size * longest, 120);
    }
  }
  EXPECT_GT(batches, 20);
  EXPECT_GE(loader.padding().efficiency(), 0.90);

  data::LoaderOptions unbucketed =
      options(0, 1);  // windows of one batch: no length sorting to speak of
  unbucketed.batch_tokens = 0;
  unbucketed.batch_size = 8;
  unbucketed.pool = 1;
  unbucketed.chunk = 1;
  data::BatchLoader plain(*corpus_, "train", unbucketed);
  while (plain.next()) {
  }
  EXPECT_LT(plain.padding().efficiency(), 0.80);
  std::printf("padding efficiency: bucketed %.3f, unbucketed %.3f\n", loader.padding().efficiency(),
              plain.padding().efficiency());
}

TEST_F(LoaderTest, RanksOpenOnlyTheShardsTheyNeed) {
  const int ranks = 3;
  for (int r = 0; r < ranks; ++r) {
    data::BatchLoader loader(*corpus_, "train", options(r, ranks));
    while (loader.next()) {
    }
    EXPECT_LE(loader.shards_opened().size(), 3u) << "rank " << r;  // 6 shards / 3 ranks + 1
  }
}

TEST_F(LoaderTest, ErrorsOnThePrefetchThreadReachTheCaller) {
  data::LoaderOptions ordered = options(0, 1);
  ordered.shuffle = false;  // shards in order, so the corrupt one is reached by prefetching
  data::BatchLoader loader(*corpus_, "train", ordered);
  ASSERT_TRUE(loader.next().has_value());  // the first window, read from shard 0
  const std::string victim = corpus_->path_of("train.00004.h5");
  std::filesystem::resize_file(victim, std::filesystem::file_size(victim) / 3);
  const std::string message = testing::error_message<FormatError>([&] {
    while (loader.next()) {
    }
  });
  EXPECT_NE(message.find("train.00004.h5"), std::string::npos) << message;
}

TEST_F(LoaderTest, InvalidOptionsNameTheOption) {
  data::LoaderOptions none = options(0, 1);
  none.batch_tokens = 0;
  EXPECT_EQ(testing::error_message<ConfigError>([&] {
              data::BatchLoader(*corpus_, "train", none);
            }).rfind("batch-tokens:", 0),
            0u);
  data::LoaderOptions bad_rank = options(3, 3);
  EXPECT_EQ(testing::error_message<ConfigError>([&] {
              data::BatchLoader(*corpus_, "train", bad_rank);
            }).rfind("rank:", 0),
            0u);
}

}  // namespace
}  // namespace tandem
