// The buckets both gradient reducers cut a flat buffer into (gradient_allreduce.h, exact_sum.h):
// from the end of the buffer, where backward finishes first, to its start; the last bucket, at
// the start of the buffer, may be smaller. Every rank cuts the same buckets and launches them in
// this order (one MPI_Iallreduce each), so the collectives match.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace tandem::trainer {

struct Bucket {
  size_t begin, end;  // in elements
};

// Buckets of `per_bucket` elements (at least 1024) over [0, size), from the end.
inline std::vector<Bucket> buckets_from_end(size_t size, size_t per_bucket) {
  const size_t bucket = std::max<size_t>(1024, per_bucket);
  std::vector<Bucket> buckets;
  for (size_t end = size; end > 0;) {
    const size_t begin = end > bucket ? end - bucket : 0;
    buckets.push_back({begin, end});
    end = begin;
  }
  return buckets;
}

}  // namespace tandem::trainer
