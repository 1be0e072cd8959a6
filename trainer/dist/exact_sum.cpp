// Constraints that shaped this file (besides those of gradient_allreduce.cpp, which launches its
// buckets the same way):
// 1. The conversion is one vectorised pass (a power-of-two multiply, a range check, rounding by
//    nearbyint in the default rounding mode: to nearest, ties to even); it costs about a memory
//    pass over the gradient, so no extra passes: add() zeroes the gradient while reading it for
//    the next micro-batch, and finish() zeroes the sums while reading them for the next step.
// 2. A bucket is sent only after all of it is converted; the sums of a sent bucket are not
//    touched again until finish() has waited for it.
#include "trainer/dist/exact_sum.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace tandem::trainer {
namespace {

enum Total { kLoss, kTokens, kNonFinite, kOverflow };

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

bool to_fixed_point(double value, int bits, double limit, int64_t& out) {
  const double scaled = std::ldexp(value, bits);   // exact: a power-of-two scale
  if (!(std::fabs(scaled) < limit)) return false;  // also NaN
  out = static_cast<int64_t>(std::nearbyint(scaled));
  return true;
}

ExactSum::ExactSum(const MpiWorld* world, size_t size, int max_terms, size_t bucket_bytes)
    : world_(world),
      sums_(size, 0),
      limit_(std::ldexp(1.0, 62) / std::max(1, max_terms)),
      buckets_(buckets_from_end(size, bucket_bytes / sizeof(int64_t))) {
  requests_.reserve(buckets_.size());
}

ExactSum::~ExactSum() {
  if (!requests_.empty())
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
}

void ExactSum::begin_step() {
  if (!sums_are_zero_) std::fill(sums_.begin(), sums_.end(), 0);  // a step that did not finish
  std::fill(std::begin(totals_), std::end(totals_), 0);
  final_from_ = sums_.size();
  conversion_seconds_ = 0.0;
}

void ExactSum::convert(const float* gradient, size_t begin, size_t end, float* cleared) {
  const auto start = std::chrono::steady_clock::now();
  sums_are_zero_ = false;
  const double scale = std::ldexp(1.0, scale_bits_), limit = limit_;
  int64_t* sums = sums_.data();
  int64_t too_large = 0, not_finite = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : too_large, not_finite)
  for (size_t i = begin; i < end; ++i) {
    const double term = static_cast<double>(gradient[i]) * scale;
    const double size = std::fabs(term);
    const bool fits = size < limit;  // false for NaN
    too_large += fits ? 0 : 1;
    not_finite += size <= std::numeric_limits<double>::max() ? 0 : 1;  // NaN or infinity
    sums[i] += static_cast<int64_t>(std::nearbyint(fits ? term : 0.0));
    if (cleared) cleared[i] = 0.0f;
  }
  if (not_finite > 0)
    ++totals_[kNonFinite];
  else if (too_large > 0)
    ++totals_[kOverflow];
  conversion_seconds_ += seconds_since(start);
}

void ExactSum::add(float* gradient) {
  convert(gradient, 0, sums_.size(), gradient);
}

void ExactSum::add_final(const float* gradient, size_t offset) {
  if (offset >= final_from_) return;
  convert(gradient, offset, final_from_, nullptr);
  final_from_ = offset;
  launch_buckets_from(offset);
}

void ExactSum::add_totals(double loss, int64_t tokens) {
  int64_t term = 0;
  if (to_fixed_point(loss, kLossScaleBits, limit_, term))
    totals_[kLoss] += term;
  else
    ++totals_[kNonFinite];
  totals_[kTokens] += tokens;
}

// Starts the all-reduce of every bucket lying entirely in [offset, end), in the fixed order.
void ExactSum::launch_buckets_from(size_t offset) {
  if (!distributed()) return;
  for (; launched_ < buckets_.size() && buckets_[launched_].begin >= offset; ++launched_) {
    const Bucket& bucket = buckets_[launched_];
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, sums_.data() + bucket.begin,
                             static_cast<int>(bucket.end - bucket.begin), MPI_INT64_T, MPI_SUM,
                             world_->comm(), &request),
              "MPI_Iallreduce");
    requests_.push_back(request);
  }
  int done = 0;  // Open MPI progresses nonblocking collectives only inside MPI calls
  if (!requests_.empty())
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                          MPI_STATUSES_IGNORE),
              "MPI_Testall");
}

ExactSum::Result ExactSum::finish(float* gradient) {
  if (distributed()) {
    launch_buckets_from(0);  // a rank without micro-batches sends its zeros here
    const WatchedCollective watched(world_->watchdog(), "exact gradient all-reduce");
    const int code =
        MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
    launched_ = 0;
    check_mpi(code, "MPI_Waitall");
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, totals_, 4, MPI_INT64_T, MPI_SUM, world_->comm()),
              "MPI_Allreduce");
  }
  const auto start = std::chrono::steady_clock::now();
  const double unit = std::ldexp(1.0, -scale_bits_);
  int64_t* sums = sums_.data();
  const size_t count = sums_.size();
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < count; ++i) {
    gradient[i] = static_cast<float>(static_cast<double>(sums[i]) * unit);
    sums[i] = 0;  // ready for the next step without another pass
  }
  sums_are_zero_ = true;
  conversion_seconds_ += seconds_since(start);
  Result result;
  result.totals.loss = std::ldexp(static_cast<double>(totals_[kLoss]), -kLossScaleBits);
  result.totals.tokens = totals_[kTokens];
  result.non_finite = totals_[kNonFinite] > 0;
  result.overflow = totals_[kOverflow] > 0;
  return result;
}

}  // namespace tandem::trainer
