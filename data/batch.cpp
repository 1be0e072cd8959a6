#include "data/batch.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tandem::data {
namespace {

void check_ids(const std::vector<int32_t>& ids, const char* side, size_t index) {
  for (int32_t id : ids)
    if (id == kPadId || id == kBosId || id == kEosId || id < 0)
      throw std::invalid_argument(std::string(side) + " sequence " + std::to_string(index) +
                                  " contains reserved or negative id " + std::to_string(id));
}

}  // namespace

int64_t Batch::target_tokens() const {
  int64_t total = 0;
  for (int32_t length : target_lengths) total += length;
  return total;
}

Batch make_source_batch(const std::vector<std::vector<int32_t>>& sources) {
  Batch batch;
  batch.batch_size = static_cast<int64_t>(sources.size());
  for (size_t n = 0; n < sources.size(); ++n) {
    if (sources[n].empty())
      throw std::invalid_argument("source sequence " + std::to_string(n) + " is empty");
    check_ids(sources[n], "source", n);
    batch.source_steps =
        std::max<int64_t>(batch.source_steps, static_cast<int64_t>(sources[n].size()));
  }
  const int64_t N = batch.batch_size;
  batch.source.assign(static_cast<size_t>(batch.source_steps * N), kPadId);
  for (int64_t n = 0; n < N; ++n) {
    const auto& ids = sources[static_cast<size_t>(n)];
    batch.source_lengths.push_back(static_cast<int32_t>(ids.size()));
    for (size_t t = 0; t < ids.size(); ++t) batch.source[t * N + n] = ids[t];
  }
  return batch;
}

Batch make_batch(const std::vector<std::vector<int32_t>>& sources,
                 const std::vector<std::vector<int32_t>>& targets) {
  if (sources.size() != targets.size())
    throw std::invalid_argument("make_batch: " + std::to_string(sources.size()) + " sources but " +
                                std::to_string(targets.size()) + " targets");
  Batch batch = make_source_batch(sources);
  const int64_t N = batch.batch_size;
  for (size_t n = 0; n < targets.size(); ++n) {
    check_ids(targets[n], "target", n);
    batch.target_steps =
        std::max<int64_t>(batch.target_steps, static_cast<int64_t>(targets[n].size()) + 1);
  }
  batch.target_input.assign(static_cast<size_t>(batch.target_steps * N), kPadId);
  batch.target_output.assign(static_cast<size_t>(batch.target_steps * N), kPadId);
  for (int64_t n = 0; n < N; ++n) {
    const auto& ids = targets[static_cast<size_t>(n)];
    const auto m = static_cast<int64_t>(ids.size());
    batch.target_lengths.push_back(static_cast<int32_t>(m + 1));
    batch.target_input[static_cast<size_t>(n)] = kBosId;
    for (int64_t t = 0; t < m; ++t) {
      batch.target_input[static_cast<size_t>((t + 1) * N + n)] = ids[static_cast<size_t>(t)];
      batch.target_output[static_cast<size_t>(t * N + n)] = ids[static_cast<size_t>(t)];
    }
    batch.target_output[static_cast<size_t>(m * N + n)] = kEosId;
  }
  return batch;
}

}  // namespace tandem::data
