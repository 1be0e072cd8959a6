// Constraints that shaped this file:
// 1. Every rank must issue the same collectives in the same order: buckets are launched in a
//    fixed order (end of the buffer first), driven by backward's program order, not by timing.
// 2. Open MPI progresses nonblocking collectives only inside MPI calls: each readiness report
//    also tests the outstanding requests, so earlier buckets advance while backward runs.
// 3. No MPI_Request is ever dropped: finish() and the destructor wait for all of them.
// 4. The sums are all ranks' d(loss sum); normalisation by the global token count (summed
//    here too) happens in the optimizer's pass, so N ranks equal one rank on the union.
#include "trainer/dist/gradient_allreduce.h"

#include <algorithm>
#include <chrono>

#include "ops/errors.h"

namespace tandem::trainer {

BucketedAllReduce::BucketedAllReduce(const MpiWorld& world, ops::ParamStore& store,
                                     size_t bucket_bytes)
    : world_(world),
      store_(store),
      buckets_(buckets_from_end(store.total_size(), bucket_bytes / sizeof(float))) {
  requests_.reserve(buckets_.size());
}

BucketedAllReduce::~BucketedAllReduce() {
  if (!requests_.empty())
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
}

void BucketedAllReduce::launch_through(size_t bucket_index) {
  float* grads = store_.grads();
  for (; launched_ <= bucket_index && launched_ < buckets_.size(); ++launched_) {
    const Bucket& bucket = buckets_[launched_];
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, grads + bucket.begin,
                             static_cast<int>(bucket.end - bucket.begin), MPI_FLOAT, MPI_SUM,
                             world_.comm(), &request),
              "MPI_Iallreduce");
    requests_.push_back(request);
  }
}

void BucketedAllReduce::gradients_ready(size_t offset) {
  // Launch every bucket lying entirely in [offset, end).
  size_t last_ready = launched_;
  while (last_ready < buckets_.size() && buckets_[last_ready].begin >= offset) ++last_ready;
  if (last_ready > launched_) launch_through(last_ready - 1);
  if (!requests_.empty()) {
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                          MPI_STATUSES_IGNORE),
              "MPI_Testall");
  }
}

StepTotals BucketedAllReduce::finish(const StepTotals& local) {
  size_t early_bytes = 0;
  for (size_t i = 0; i < launched_; ++i) early_bytes += buckets_[i].end - buckets_[i].begin;
  launched_early_fraction_ = store_.total_size() ? static_cast<double>(early_bytes) /
                                                       static_cast<double>(store_.total_size())
                                                 : 0.0;
  const auto start = std::chrono::steady_clock::now();
  launch_through(buckets_.size());
  const WatchedCollective watched(world_.watchdog(), "gradient all-reduce");
  const int code =
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  requests_.clear();
  launched_ = 0;
  check_mpi(code, "MPI_Waitall");
  wait_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> totals{local.loss, static_cast<double>(local.tokens)};
  world_.sum(totals);
  return {totals[0], static_cast<int64_t>(totals[1])};
}

}  // namespace tandem::trainer
