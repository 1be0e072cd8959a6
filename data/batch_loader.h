// Streams padded, length-bucketed batches of one split of a corpus for one rank, with bounded
// memory, a deterministic order, an O(window) resume cursor and a prefetch thread.
// The epoch plan (how examples are divided among ranks and ordered) is described at the top of
// batch_loader.cpp and in docs/corpus.md.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/corpus.h"

namespace tandem::data {

struct LoaderOptions {
  int64_t batch_tokens =
      0;  // token budget per batch: N x (longer padded side) <= budget; 0: use batch_size
  int batch_size = 0;    // sentences per batch when batch_tokens == 0
  int pool = 60;         // batches per bucketing window (maxi-batch); docs/corpus.md
  int chunk = 64;        // examples read contiguously; chunk order is shuffled per epoch
  bool shuffle = true;   // false: corpus order, batches sorted by length (validation)
  bool prefetch = true;  // prepare the next window on a background thread
  uint64_t seed = 1;
  int rank = 0, ranks = 1;
};

// Where the next batch comes from. Persisted in checkpoints (epoch, window, batch): never reorder.
struct LoaderCursor {
  int64_t epoch = 0;
  int64_t window = 0;  // bucketing window within this rank's share of the epoch
  int64_t batch = 0;   // batch within the window
  bool operator==(const LoaderCursor& other) const {
    return epoch == other.epoch && window == other.window && batch == other.batch;
  }
};

// How the current epoch started when the rank count changed in the middle of it: the earlier
// run's rank count and cursors. The rest of that epoch is then a "remainder" plan: exactly the
// examples the earlier ranks had not consumed, split over the new ranks. Persisted in
// checkpoints. Empty (ranks == 0) for a normal epoch.
struct EpochOrigin {
  int64_t ranks = 0;
  std::vector<LoaderCursor> cursors;
  bool empty() const { return ranks == 0; }
};

struct PaddingStats {
  int64_t real_tokens = 0;    // source tokens + target tokens incl. <bos>/<eos> position
  int64_t padded_tokens = 0;  // N x S + N x T
  double efficiency() const {
    return padded_tokens ? static_cast<double>(real_tokens) / padded_tokens : 1.0;
  }
};

class BatchLoader {
 public:
  // ConfigError naming the option for invalid options. Opens shards only when it needs them.
  BatchLoader(const Corpus& corpus, const std::string& split, const LoaderOptions& options);
  ~BatchLoader();  // waits for the prefetch thread
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of this rank's share of the epoch; nullopt once it is used up (then
  // start_epoch(epoch + 1)). Errors from the prefetch thread (a corrupt shard...) are rethrown
  // here.
  std::optional<Batch> next();

  // Positions the loader so that next() returns the batch at `cursor` (of the remainder plan
  // of `origin`, if not empty). Reads one window (plus, for a remainder, one window of each
  // earlier rank that had consumed part of one). ConfigError for an impossible cursor.
  void seek(const LoaderCursor& cursor, const EpochOrigin& origin = {});
  void start_epoch(int64_t epoch) { seek({epoch, 0, 0}); }
  LoaderCursor cursor() const { return cursor_; }
  const EpochOrigin& origin() const { return origin_; }

  int64_t epoch_examples() const { return share_; }  // this rank's share
  int64_t windows_per_epoch() const { return windows_; }
  const PaddingStats& padding() const { return padding_; }            // over all batches returned
  const PaddingStats& last_padding() const { return last_padding_; }  // of the last batch
  // Indices (into the split's shard list) of every shard this loader has opened.
  const std::set<size_t>& shards_opened() const { return shards_opened_; }

 private:
  using Piece = std::pair<int64_t, int64_t>;  // [begin, end) positions in the epoch's order
  struct Window {
    std::vector<Batch> batches;
    std::vector<std::vector<int64_t>> positions;  // of each batch's examples
  };
  void order_shards(int64_t epoch);
  std::vector<Piece> normal_pieces(int64_t epoch, int ranks, int rank) const;
  std::vector<Piece> remainder_pieces(int64_t epoch, const EpochOrigin& origin);
  void plan_epoch(int64_t epoch, const EpochOrigin& origin);
  // Window `window` of a plan: pieces [window * k, window * k + k), its batches shuffled with a
  // key of (seed, epoch, ranks, rank, window).
  Window build_window(int64_t epoch, int ranks, int rank, int64_t window,
                      const std::vector<Piece>& pieces);
  void read_range(int64_t begin, int64_t end, std::vector<Example>& out);
  const ShardReader& shard(size_t index);
  void wait_for_prefetch();
  void launch_prefetch(int64_t window);

  const Corpus& corpus_;
  std::string split_;
  LoaderOptions options_;
  std::vector<ShardEntry> shards_;
  int64_t window_examples_ = 0;
  // The epoch plan.
  int64_t planned_epoch_ = -1, ordered_epoch_ = -1;
  EpochOrigin origin_;
  std::vector<size_t> shard_order_;    // shards in this epoch's order
  std::vector<int64_t> order_starts_;  // first global position of each shard in that order
  std::vector<Piece> pieces_;          // this rank's examples, in visiting order
  int64_t share_ = 0;                  // examples in pieces_
  int64_t chunks_per_window_ = 1, windows_ = 0;
  // Shards opened so far (few: a rank's range spans about shards / ranks + 1 of them).
  std::map<size_t, std::unique_ptr<ShardReader>> readers_;
  std::set<size_t> shards_opened_;
  // Current window and the prefetched next one.
  LoaderCursor cursor_;
  Window current_;
  int64_t current_window_ = -1;
  std::future<Window> prefetched_;
  int64_t prefetched_window_ = -1;
  PaddingStats padding_, last_padding_;
};

// A permutation of 0 .. n-1 that is a pure function of `key` (Fisher-Yates on counter-based
// random numbers).
std::vector<int64_t> keyed_permutation(int64_t n, uint64_t key);

}  // namespace tandem::data
