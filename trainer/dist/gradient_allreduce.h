// The distributed GradientReducer: sums the flat gradient buffer over ranks in buckets with
// MPI_Iallreduce, launching each bucket (from the end of the buffer, where the output layer's
// gradients are finished first) as soon as backward reports it final, so communication overlaps
// the rest of backward; then sums the step's loss and token totals.
#pragma once

#include <mpi.h>

#include <vector>

#include "ops/param_store.h"
#include "trainer/dist/buckets.h"
#include "trainer/dist/gradient_reducer.h"
#include "trainer/dist/mpi_world.h"

namespace tandem::trainer {

class BucketedAllReduce : public GradientReducer {
 public:
  // bucket_bytes: size of one MPI_Iallreduce (the last bucket, at the start of the buffer, may
  // be smaller). Requires: every rank has the same parameter layout (checked at start-up).
  BucketedAllReduce(const MpiWorld& world, ops::ParamStore& store, size_t bucket_bytes);
  ~BucketedAllReduce() override;  // completes outstanding requests (never drops one)

  void gradients_ready(size_t offset) override;
  StepTotals finish(const StepTotals& local) override;

  // Of the last finish(): seconds waiting for gradient buckets, and the fraction of the
  // buffer's bytes whose all-reduce had been started before finish() was entered.
  double wait_seconds() const { return wait_seconds_; }
  double launched_early_fraction() const { return launched_early_fraction_; }
  size_t bucket_count() const { return buckets_.size(); }

 private:
  void launch_through(size_t bucket_index);

  const MpiWorld& world_;
  ops::ParamStore& store_;
  std::vector<Bucket> buckets_;  // buckets.h
  std::vector<MPI_Request> requests_;
  size_t launched_ = 0;  // buckets launched this step
  double wait_seconds_ = 0.0, launched_early_fraction_ = 0.0;
};

}  // namespace tandem::trainer
