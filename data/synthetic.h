// Generated data for tests, benchmarks and the built-in demo: no files, a pure function of a key.
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch.h"

namespace tandem::data {

// The classic toy task: a random string of `symbols` regular tokens (ids 4 ..), lengths in
// [min_length, max_length]; the target is the source reversed. Example i is a pure function of
// (seed, i).
struct ReversalTask {
  int symbols = 10;
  int min_length = 3, max_length = 10;
  uint64_t seed = 1;

  int vocab_size() const { return kFirstRegularId + symbols; }
  std::vector<int32_t> source(uint64_t index) const;
  std::vector<int32_t> target(uint64_t index) const;  // source(index) reversed
  // Examples first .. first + size - 1 as a padded batch (with targets) or sources only.
  Batch batch(uint64_t first, int size) const;
  Batch source_batch(uint64_t first, int size) const;
};

// A batch of random ids from [4, vocab): source lengths and target lengths (including <eos>)
// drawn from [min_length, max_length]. For benchmarks.
Batch random_batch(int batch_size, int vocab_size, int min_length, int max_length, uint64_t key);

}  // namespace tandem::data
