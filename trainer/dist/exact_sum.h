// Exact sums for --deterministic training (docs/training.md, "Deterministic training"). Float
// addition is not associative, so summing micro-batch gradients grouped by rank makes the result
// depend on the rank count. Here each micro-batch's finished gradient is turned into 64-bit
// fixed point (value x 2^scale_bits, rounded to nearest) and added as integers, within a rank and
// across ranks (MPI_SUM on MPI_INT64_T): integer addition is exact and associative, so the sum
// has the same bits for any rank count, order or MPI algorithm. A term that would not fit (its
// magnitude could overflow the sum of max_terms terms) or is not finite is flagged; the flags
// are summed too, so every rank sees them and skips the same step.
// As in the default mode (gradient_allreduce.h), the all-reduce overlaps the rank's last
// backward: buckets from the end of the buffer are converted and sent as backward finishes them.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "trainer/dist/buckets.h"
#include "trainer/dist/gradient_reducer.h"
#include "trainer/dist/mpi_world.h"

namespace tandem::trainer {

class ExactSum {
 public:
  static constexpr int kDefaultScaleBits = 32;  // resolution 2^-32 of a loss-sum gradient
  static constexpr int kLossScaleBits = 32;     // of the loss totals (never lowered)
  static constexpr int kScaleBitsStep = 8;      // how far an overflow lowers the scale

  // size: floats per gradient; max_terms: the most gradients one step adds over all ranks (the
  // step's micro-batches); bucket_bytes: of one MPI_Iallreduce. world: null (one process) or
  // the ranks to sum over. 1 MiB buckets, not the default mode's 16: with the progress made
  // only inside MPI calls during backward, smaller pieces of the doubled traffic hid better
  // (bench-base 2x1, interleaved runs: 0.95 of the default mode's tokens/s vs 0.80 with 16 MiB).
  ExactSum(const MpiWorld* world, size_t size, int max_terms, size_t bucket_bytes = 1 << 20);
  ~ExactSum();  // completes outstanding requests (never drops one)
  ExactSum(const ExactSum&) = delete;
  ExactSum& operator=(const ExactSum&) = delete;

  void begin_step();  // zero the sums and flags
  // A micro-batch that is not this rank's last of the step: adds its whole gradient and zeroes
  // it (so the next micro-batch's backward starts from zero).
  void add(float* gradient);
  // This rank's last micro-batch, while its backward runs: gradient[offset, size) is final.
  // Adds the part not added yet and starts the all-reduce of every bucket it completes. Call
  // with offset 0 once backward has ended.
  void add_final(const float* gradient, size_t offset);
  void add_totals(double loss, int64_t tokens);  // of each micro-batch

  struct Result {
    StepTotals totals;        // over all ranks
    bool non_finite = false;  // some rank saw a NaN or infinity
    bool overflow = false;    // some rank saw a term too large for the scale
  };
  // Collective: completes the sums over ranks and writes the gradient's, x 2^-scale_bits, into
  // `gradient`.
  Result finish(float* gradient);

  int scale_bits() const { return scale_bits_; }
  void set_scale_bits(int bits) { scale_bits_ = bits; }
  // After an overflow: a coarser scale, so the next steps fit.
  void lower_scale() { scale_bits_ -= kScaleBitsStep; }

  // Bytes one step all-reduces (the gradient as int64 plus the totals).
  size_t reduced_bytes() const { return sums_.size() * sizeof(int64_t) + sizeof(totals_); }
  // Seconds of this step spent converting to and from fixed point (the all-reduce excluded).
  double conversion_seconds() const { return conversion_seconds_; }

 private:
  // Adds gradient[begin, end) to the sums; zeroes it there too if `cleared` (== gradient).
  void convert(const float* gradient, size_t begin, size_t end, float* cleared);
  void launch_buckets_from(size_t offset);
  bool distributed() const { return world_ && world_->size() > 1; }

  const MpiWorld* world_;
  std::vector<int64_t> sums_;
  double limit_;  // |term| must stay below this, so max_terms terms cannot overflow int64
  int scale_bits_ = kDefaultScaleBits;
  int64_t totals_[4] = {0, 0, 0, 0};  // loss (fixed point), tokens, non-finite, overflow
  std::vector<Bucket> buckets_;       // buckets.h
  std::vector<MPI_Request> requests_;
  size_t launched_ = 0;    // buckets whose all-reduce has started this step
  size_t final_from_ = 0;  // the last micro-batch's gradient is added from here to the end
  double conversion_seconds_ = 0.0;
  bool sums_are_zero_ = true;
};

// `value` x 2^bits rounded to the nearest integer (ties to even); false if it is not finite or
// |value x 2^bits| >= limit (then `out` is untouched).
bool to_fixed_point(double value, int bits, double limit, int64_t& out);

}  // namespace tandem::trainer
