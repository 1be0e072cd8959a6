#include "data/synthetic.h"

#include "ops/rng.h"

namespace tandem::data {
namespace {

int draw_length(uint64_t key, uint64_t index, int min_length, int max_length) {
  const int span = max_length - min_length + 1;
  return min_length + static_cast<int>(ops::uniform01(key, index) * static_cast<float>(span));
}

std::vector<int32_t> draw_ids(uint64_t key, int length, int first_id, int id_count) {
  std::vector<int32_t> ids(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i)
    ids[static_cast<size_t>(i)] =
        first_id + static_cast<int32_t>(ops::uniform01(key, static_cast<uint64_t>(i)) *
                                        static_cast<float>(id_count));
  return ids;
}

}  // namespace

std::vector<int32_t> ReversalTask::source(uint64_t index) const {
  const uint64_t key = ops::combine_keys(seed, index);
  return draw_ids(ops::mix64(key), draw_length(key, 0, min_length, max_length), kFirstRegularId,
                  symbols);
}

std::vector<int32_t> ReversalTask::target(uint64_t index) const {
  std::vector<int32_t> ids = source(index);
  return {ids.rbegin(), ids.rend()};
}

Batch ReversalTask::batch(uint64_t first, int size) const {
  std::vector<std::vector<int32_t>> sources, targets;
  for (int i = 0; i < size; ++i) {
    sources.push_back(source(first + static_cast<uint64_t>(i)));
    targets.emplace_back(sources.back().rbegin(), sources.back().rend());
  }
  return make_batch(sources, targets);
}

Batch ReversalTask::source_batch(uint64_t first, int size) const {
  std::vector<std::vector<int32_t>> sources;
  for (int i = 0; i < size; ++i) sources.push_back(source(first + static_cast<uint64_t>(i)));
  return make_source_batch(sources);
}

Batch random_batch(int batch_size, int vocab_size, int min_length, int max_length, uint64_t key) {
  std::vector<std::vector<int32_t>> sources, targets;
  const int id_count = vocab_size - kFirstRegularId;
  for (int n = 0; n < batch_size; ++n) {
    const auto row = static_cast<uint64_t>(n);
    const uint64_t row_key = ops::combine_keys(key, row);
    sources.push_back(draw_ids(ops::combine_keys(row_key, 1),
                               draw_length(row_key, 0, min_length, max_length), kFirstRegularId,
                               id_count));
    targets.push_back(draw_ids(ops::combine_keys(row_key, 2),
                               draw_length(row_key, 1, min_length, max_length) - 1, kFirstRegularId,
                               id_count));
  }
  return make_batch(sources, targets);
}

}  // namespace tandem::data
