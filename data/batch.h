// A padded batch of (source, target) pairs in time-major layout, ready for the model.
// Letters: S source steps, T target steps, N batch.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::data {

// Reserved vocabulary ids. Persisted in every vocabulary and corpus: never change.
constexpr int32_t kPadId = 0;
constexpr int32_t kUnkId = 1;
constexpr int32_t kBosId = 2;
constexpr int32_t kEosId = 3;
constexpr int32_t kFirstRegularId = 4;

struct Batch {
  int64_t batch_size = 0;               // N
  int64_t source_steps = 0;             // S = max source length
  int64_t target_steps = 0;             // T = max target length + 1 (for <bos>/<eos>)
  std::vector<int32_t> source;          // [S, N], <pad> after each sequence
  std::vector<int32_t> target_input;    // [T, N]: <bos> y_1 .. y_m, then <pad>
  std::vector<int32_t> target_output;   // [T, N]: y_1 .. y_m <eos>, then <pad>
  std::vector<int32_t> source_lengths;  // [N], >= 1
  std::vector<int32_t> target_lengths;  // [N], m + 1

  int64_t target_tokens() const;  // real target tokens (sum of target_lengths)
  int64_t padded_target_tokens() const { return batch_size * target_steps; }
};

// Builds a padded batch from token-id sequences (no <bos>/<eos> in the inputs: they are added to
// the target). Throws std::invalid_argument if the counts differ, a source is empty, or an id
// is reserved (<pad>, <bos>, <eos>).
Batch make_batch(const std::vector<std::vector<int32_t>>& sources,
                 const std::vector<std::vector<int32_t>>& targets);

// A source-only batch for decoding (target fields empty).
Batch make_source_batch(const std::vector<std::vector<int32_t>>& sources);

}  // namespace tandem::data
