// The epoch plan. Constraints that shaped it:
// 1. Every example is seen exactly once per epoch across P ranks, and the order is a pure
//    function of (seed, epoch, P): a resumed or repeated run sees the same batches.
// 2. No rank reads shards it does not need and memory does not grow with the corpus: each rank
//    streams a contiguous range of the epoch's global order, a window at a time.
// 3. Resume is a seek, not a replay: the cursor (epoch, window, batch) names a window, whose
//    examples are found with O(1) arithmetic and read again.
// 4. Inputs are often sorted (CMUdict is alphabetical), so consecutive examples must not form
//    consecutive batches: ranges are read in chunks whose order is shuffled per epoch.
//
// Plan for epoch e with P ranks, rank r:
//   shards in a keyed permutation of (seed, e) -> global positions 0 .. E-1;
//   rank r owns positions [E r / P, E (r + 1) / P) (shares differ by at most one example);
//   its range is cut into chunks of `chunk` examples, visited in a keyed permutation of
//   (seed, e, P, r); consecutive groups of chunks form bucketing windows of about
//   pool x (examples per batch) examples; a window is sorted by (longer side, source, target)
//   length, cut into batches (sentence count or token budget) and its batches are shuffled with
//   a key of (seed, e, P, r, window). With shuffle off (validation) every permutation is the
//   identity.
// Ranks may end an epoch with different batch counts (token budgets): next() then returns
// nullopt on the rank that ran out; the trainer agrees on the epoch end collectively
// (docs/corpus.md), so no rank waits for another that has stopped.
// A resume with another rank count mid-epoch plans the rest of that epoch as a remainder: the
// examples the earlier ranks had not consumed (their cursors name them), split evenly over the
// new ranks; that plan is a pure function of (seed, epoch, earlier ranks and cursors, ranks).
#include "data/batch_loader.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "ops/errors.h"
#include "ops/rng.h"

namespace tandem::data {

std::vector<int64_t> keyed_permutation(int64_t n, uint64_t key) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(ops::mix64(key ^ ops::mix64(static_cast<uint64_t>(i))) %
                                        static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

BatchLoader::BatchLoader(const Corpus& corpus, const std::string& split,
                         const LoaderOptions& options)
    : corpus_(corpus), split_(split), options_(options) {
  require_config(options.batch_tokens > 0 || options.batch_size > 0, "batch-tokens",
                 "set a token budget (--batch-tokens) or a sentence count (--batch-size)");
  require_config(options.batch_tokens >= 0 && options.batch_size >= 0, "batch-size",
                 "must not be negative");
  require_config(options.pool >= 1, "pool", "must be at least 1");
  require_config(options.chunk >= 1, "chunk", "must be at least 1");
  require_config(options.ranks >= 1 && options.rank >= 0 && options.rank < options.ranks, "rank",
                 "rank " + std::to_string(options.rank) + " is not in [0, " +
                     std::to_string(options.ranks) + ")");
  const auto found = corpus.manifest().splits.find(split);
  if (found != corpus.manifest().splits.end()) shards_ = found->second;
  int64_t examples = 0, longest_mean = 1;
  int64_t source_tokens = 0, target_tokens = 0;
  for (const ShardEntry& shard : shards_) {
    examples += shard.examples;
    source_tokens += shard.source_tokens;
    target_tokens += shard.target_tokens;
  }
  if (examples > 0)
    longest_mean =
        std::max<int64_t>(1, std::max(source_tokens, target_tokens + examples) / examples);
  const int64_t per_batch = options.batch_tokens > 0
                                ? std::max<int64_t>(1, options.batch_tokens / longest_mean)
                                : options.batch_size;
  window_examples_ = per_batch * options.pool;
  chunks_per_window_ = std::max<int64_t>(1, (window_examples_ + options.chunk - 1) / options.chunk);
  seek({0, 0, 0});
}

BatchLoader::~BatchLoader() {
  try {
    wait_for_prefetch();
  } catch (...) {
  }
}

void BatchLoader::order_shards(int64_t epoch) {
  if (ordered_epoch_ == epoch) return;
  shard_order_.clear();
  if (options_.shuffle) {
    const uint64_t epoch_key = ops::combine_keys(options_.seed, static_cast<uint64_t>(epoch));
    for (int64_t i : keyed_permutation(static_cast<int64_t>(shards_.size()), epoch_key))
      shard_order_.push_back(static_cast<size_t>(i));
  } else {
    for (size_t i = 0; i < shards_.size(); ++i) shard_order_.push_back(i);
  }
  order_starts_.assign(1, 0);
  for (size_t index : shard_order_)
    order_starts_.push_back(order_starts_.back() + shards_[index].examples);
  ordered_epoch_ = epoch;
}

// Rank `rank` of `ranks` in a normal epoch: its contiguous slice of the epoch's order, in chunks
// visited in a keyed order.
std::vector<BatchLoader::Piece> BatchLoader::normal_pieces(int64_t epoch, int ranks,
                                                           int rank) const {
  const int64_t total = order_starts_.back();
  const int64_t begin = total * rank / ranks, end = total * (rank + 1) / ranks;
  const int64_t chunks = (end - begin + options_.chunk - 1) / options_.chunk;
  std::vector<int64_t> order(static_cast<size_t>(chunks));
  if (options_.shuffle) {
    const uint64_t key = ops::combine_keys(
        ops::combine_keys(ops::combine_keys(options_.seed, static_cast<uint64_t>(epoch)),
                          static_cast<uint64_t>(ranks)),
        static_cast<uint64_t>(rank));
    order = keyed_permutation(chunks, key);
  } else {
    std::iota(order.begin(), order.end(), 0);
  }
  std::vector<Piece> pieces;
  for (int64_t c : order)
    pieces.emplace_back(begin + c * options_.chunk,
                        std::min(begin + (c + 1) * options_.chunk, end));
  return pieces;
}

// After a rank-count change: what the earlier ranks had not consumed of the epoch (the unread
// batches of each partly used window, then their remaining chunks), split evenly over the ranks
// of this run in that order.
std::vector<BatchLoader::Piece> BatchLoader::remainder_pieces(int64_t epoch,
                                                              const EpochOrigin& origin) {
  require_config(origin.ranks >= 1 && static_cast<int64_t>(origin.cursors.size()) == origin.ranks,
                 "cursor", "the epoch origin needs one cursor per earlier rank");
  std::vector<Piece> remaining;
  int64_t total = 0;
  for (int r = 0; r < origin.ranks; ++r) {
    const LoaderCursor& cursor = origin.cursors[static_cast<size_t>(r)];
    const std::vector<Piece> pieces = normal_pieces(epoch, static_cast<int>(origin.ranks), r);
    const auto windows =
        static_cast<int64_t>((pieces.size() + static_cast<size_t>(chunks_per_window_) - 1) /
                             static_cast<size_t>(chunks_per_window_));
    if (cursor.epoch != epoch || cursor.window > windows)
      throw ConfigError("cursor: the earlier rank " + std::to_string(r) + "'s cursor (epoch " +
                        std::to_string(cursor.epoch) + ", window " + std::to_string(cursor.window) +
                        ") does not fit epoch " + std::to_string(epoch) + " of this corpus");
    int64_t next_window = cursor.window;
    if (cursor.window < windows && cursor.batch > 0) {
      Window window = build_window(epoch, static_cast<int>(origin.ranks), r, cursor.window, pieces);
      if (cursor.batch > static_cast<int64_t>(window.batches.size()))
        throw ConfigError("cursor: the earlier rank " + std::to_string(r) + "'s batch " +
                          std::to_string(cursor.batch) + " is past its window");
      std::vector<int64_t> positions;
      for (size_t b = static_cast<size_t>(cursor.batch); b < window.positions.size(); ++b)
        positions.insert(positions.end(), window.positions[b].begin(), window.positions[b].end());
      std::sort(positions.begin(), positions.end());
      for (int64_t position : positions) {  // runs of consecutive positions become one piece
        if (!remaining.empty() && remaining.back().second == position)
          ++remaining.back().second;
        else
          remaining.emplace_back(position, position + 1);
      }
      next_window = cursor.window + 1;
    }
    for (size_t i = static_cast<size_t>(next_window * chunks_per_window_); i < pieces.size(); ++i)
      remaining.push_back(pieces[i]);
  }
  for (const Piece& piece : remaining) total += piece.second - piece.first;
  // This rank's share: [total * r / P, total * (r + 1) / P) of the concatenated pieces.
  const int64_t from = total * options_.rank / options_.ranks,
                to = total * (options_.rank + 1) / options_.ranks;
  std::vector<Piece> share;
  int64_t seen = 0;
  for (const Piece& piece : remaining) {
    const int64_t length = piece.second - piece.first;
    const int64_t lo = std::max(from, seen), hi = std::min(to, seen + length);
    if (lo < hi) share.emplace_back(piece.first + (lo - seen), piece.first + (hi - seen));
    seen += length;
  }
  return share;
}

void BatchLoader::plan_epoch(int64_t epoch, const EpochOrigin& origin) {
  const bool same_origin = origin.ranks == origin_.ranks && origin.cursors == origin_.cursors;
  if (planned_epoch_ == epoch && same_origin) return;
  order_shards(epoch);
  pieces_ = origin.empty() ? normal_pieces(epoch, options_.ranks, options_.rank)
                           : remainder_pieces(epoch, origin);
  origin_ = origin;
  share_ = 0;
  for (const Piece& piece : pieces_) share_ += piece.second - piece.first;
  windows_ = (static_cast<int64_t>(pieces_.size()) + chunks_per_window_ - 1) / chunks_per_window_;
  planned_epoch_ = epoch;
}

const ShardReader& BatchLoader::shard(size_t index) {
  auto found = readers_.find(index);
  if (found == readers_.end()) {
    if (readers_.size() >= 4) readers_.erase(readers_.begin());  // keep a few open
    found = readers_.emplace(index, std::make_unique<ShardReader>(corpus_, split_, shards_[index]))
                .first;
    shards_opened_.insert(index);
  }
  return *found->second;
}

// Reads global positions [begin, end) of the planned epoch's order.
void BatchLoader::read_range(int64_t begin, int64_t end, std::vector<Example>& out) {
  while (begin < end) {
    const auto position =
        static_cast<size_t>(std::upper_bound(order_starts_.begin(), order_starts_.end(), begin) -
                            order_starts_.begin() - 1);
    const int64_t shard_end = order_starts_[position + 1];
    const int64_t count = std::min(end, shard_end) - begin;
    const size_t first = out.size();
    shard(shard_order_[position]).read(begin - order_starts_[position], count, out);
    for (size_t i = first; i < out.size(); ++i)
      out[i].position = begin + static_cast<int64_t>(i - first);
    begin += count;
  }
}

BatchLoader::Window BatchLoader::build_window(int64_t epoch, int ranks, int rank, int64_t window,
                                              const std::vector<Piece>& pieces) {
  std::vector<Example> examples;
  const size_t first = static_cast<size_t>(window * chunks_per_window_);
  const size_t last = std::min(first + static_cast<size_t>(chunks_per_window_), pieces.size());
  for (size_t p = first; p < last; ++p) read_range(pieces[p].first, pieces[p].second, examples);
  std::vector<size_t> by_length(examples.size());
  std::iota(by_length.begin(), by_length.end(), 0);
  // By the longer side first: a batch's budget and most of its padding follow the longer side,
  // and sorting by source length alone left the targets of real text ragged (docs/corpus.md).
  std::stable_sort(by_length.begin(), by_length.end(), [&](size_t a, size_t b) {
    const size_t as = examples[a].source.size(), at = examples[a].target.size();
    const size_t bs = examples[b].source.size(), bt = examples[b].target.size();
    return std::make_tuple(std::max(as, at), as, at) < std::make_tuple(std::max(bs, bt), bs, bt);
  });

  Window result;
  std::vector<std::vector<int32_t>> sources, targets;
  std::vector<int64_t> positions;
  int64_t longest_source = 0, longest_target = 0;
  auto close_batch = [&] {
    if (sources.empty()) return;
    result.batches.push_back(make_batch(sources, targets));
    result.positions.push_back(std::move(positions));
    sources.clear();
    targets.clear();
    positions.clear();
    longest_source = longest_target = 0;
  };
  for (size_t index : by_length) {
    Example& example = examples[index];
    const auto source_steps = static_cast<int64_t>(example.source.size());
    const auto target_steps = static_cast<int64_t>(example.target.size()) + 1;  // <bos>/<eos>
    const auto rows = static_cast<int64_t>(sources.size()) + 1;
    const bool full =
        options_.batch_tokens > 0
            ? rows * std::max({longest_source, longest_target, source_steps, target_steps}) >
                  options_.batch_tokens
            : rows > options_.batch_size;
    if (full) close_batch();
    longest_source = std::max(longest_source, source_steps);
    longest_target = std::max(longest_target, target_steps);
    sources.push_back(std::move(example.source));
    targets.push_back(std::move(example.target));
    positions.push_back(example.position);
  }
  close_batch();
  if (options_.shuffle) {
    const uint64_t key = ops::combine_keys(
        ops::combine_keys(
            ops::combine_keys(ops::combine_keys(options_.seed, static_cast<uint64_t>(epoch)),
                              static_cast<uint64_t>(ranks)),
            static_cast<uint64_t>(rank)),
        ops::combine_keys(0x77696E646F77ull, static_cast<uint64_t>(window)));
    const std::vector<int64_t> order =
        keyed_permutation(static_cast<int64_t>(result.batches.size()), key);
    Window shuffled;
    for (int64_t i : order) {
      shuffled.batches.push_back(std::move(result.batches[static_cast<size_t>(i)]));
      shuffled.positions.push_back(std::move(result.positions[static_cast<size_t>(i)]));
    }
    result = std::move(shuffled);
  }
  return result;
}

void BatchLoader::wait_for_prefetch() {
  if (prefetched_.valid()) prefetched_.wait();
  prefetched_ = {};
  prefetched_window_ = -1;
}

void BatchLoader::launch_prefetch(int64_t window) {
  if (!options_.prefetch || window >= windows_) return;
  const int64_t epoch = cursor_.epoch;
  prefetched_ = std::async(std::launch::async, [this, epoch, window] {
    return build_window(epoch, options_.ranks, options_.rank, window, pieces_);
  });
  prefetched_window_ = window;
}

void BatchLoader::seek(const LoaderCursor& cursor, const EpochOrigin& origin) {
  require_config(cursor.epoch >= 0 && cursor.window >= 0 && cursor.batch >= 0, "cursor",
                 "negative position in the loader cursor");
  wait_for_prefetch();
  plan_epoch(cursor.epoch, origin);
  if (cursor.window > windows_ || (cursor.window == windows_ && cursor.batch > 0))
    throw ConfigError("cursor: window " + std::to_string(cursor.window) + " is past this rank's " +
                      std::to_string(windows_) + " windows of epoch " +
                      std::to_string(cursor.epoch) +
                      " (was the cursor made with another rank count or corpus?)");
  cursor_ = cursor;
  current_window_ = -1;
  current_.batches.clear();
  if (cursor.window == windows_) return;
  current_ = build_window(cursor.epoch, options_.ranks, options_.rank, cursor.window, pieces_);
  current_window_ = cursor.window;
  const auto size = static_cast<int64_t>(current_.batches.size());
  if (cursor.batch > size)
    throw ConfigError("cursor: batch " + std::to_string(cursor.batch) + " is past the " +
                      std::to_string(size) + " batches of window " + std::to_string(cursor.window));
  if (cursor.batch == size) cursor_ = {cursor.epoch, cursor.window + 1, 0};
  launch_prefetch(current_window_ + 1);
}

std::optional<Batch> BatchLoader::next() {
  while (cursor_.window < windows_) {
    if (current_window_ != cursor_.window) {
      if (prefetched_window_ == cursor_.window) {
        current_ = prefetched_.get();  // rethrows errors from the prefetch thread
        prefetched_window_ = -1;
      } else {
        wait_for_prefetch();
        current_ =
            build_window(cursor_.epoch, options_.ranks, options_.rank, cursor_.window, pieces_);
      }
      current_window_ = cursor_.window;
      launch_prefetch(current_window_ + 1);
    }
    const auto size = static_cast<int64_t>(current_.batches.size());
    if (cursor_.batch >= size) {
      cursor_ = {cursor_.epoch, cursor_.window + 1, 0};
      continue;
    }
    Batch batch = std::move(current_.batches[static_cast<size_t>(cursor_.batch)]);
    cursor_ = cursor_.batch + 1 == size
                  ? LoaderCursor{cursor_.epoch, cursor_.window + 1, 0}
                  : LoaderCursor{cursor_.epoch, cursor_.window, cursor_.batch + 1};
    last_padding_.real_tokens = 0;
    for (int32_t length : batch.source_lengths) last_padding_.real_tokens += length;
    last_padding_.real_tokens += batch.target_tokens();
    last_padding_.padded_tokens = batch.batch_size * (batch.source_steps + batch.target_steps);
    padding_.real_tokens += last_padding_.real_tokens;
    padding_.padded_tokens += last_padding_.padded_tokens;
    return batch;
  }
  return std::nullopt;
}

}  // namespace tandem::data
