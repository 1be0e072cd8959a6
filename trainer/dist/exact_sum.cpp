#include "trainer/dist/exact_sum.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "ops/errors.h"

namespace tandem::trainer {
namespace {

enum Total { kLoss, kTokens, kNonFinite, kOverflow };

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

bool to_fixed_point(double value, int bits, double limit, int64_t& out) {
  const double scaled = std::ldexp(value, bits);  // exact: a power-of-two scale
  if (!(std::fabs(scaled) < limit)) return false;  // also NaN
  out = std::llrint(scaled);                        // the default rounding: to nearest, ties even
  return true;
}

ExactSum::ExactSum(const MpiWorld* world, size_t size, int max_terms)
    : world_(world), sums_(size, 0), limit_(std::ldexp(1.0, 62) / std::max(1, max_terms)) {}

void ExactSum::begin_step() {
  std::fill(sums_.begin(), sums_.end(), 0);
  std::fill(std::begin(totals_), std::end(totals_), 0);
  conversion_seconds_ = 0.0;
}

void ExactSum::add(const float* gradient, double loss, int64_t tokens) {
  const auto start = std::chrono::steady_clock::now();
  const auto count = static_cast<int64_t>(sums_.size());
  const int bits = scale_bits_;
  const double limit = limit_;
  int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad)
  for (int64_t i = 0; i < count; ++i) {
    int64_t term = 0;
    if (to_fixed_point(gradient[i], bits, limit, term))
      sums_[static_cast<size_t>(i)] += term;
    else
      ++bad;
  }
  // One pass decides whether a bad term was a NaN/infinity or only too large: rare, so cheap.
  if (bad > 0) {
    const bool finite =
        std::all_of(gradient, gradient + count, [](float g) { return std::isfinite(g); });
    ++totals_[finite ? kOverflow : kNonFinite];
  }
  int64_t loss_term = 0;
  if (to_fixed_point(loss, kLossScaleBits, limit_, loss_term))
    totals_[kLoss] += loss_term;
  else
    ++totals_[kNonFinite];
  totals_[kTokens] += tokens;
  conversion_seconds_ += seconds_since(start);
}

ExactSum::Result ExactSum::finish(float* gradient) {
  if (world_ && world_->size() > 1) {
    const WatchedCollective watched(world_->watchdog(), "exact gradient all-reduce");
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, sums_.data(), static_cast<int>(sums_.size()),
                            MPI_INT64_T, MPI_SUM, world_->comm()),
              "MPI_Allreduce");
    check_mpi(
        MPI_Allreduce(MPI_IN_PLACE, totals_, 4, MPI_INT64_T, MPI_SUM, world_->comm()),
        "MPI_Allreduce");
  }
  const auto start = std::chrono::steady_clock::now();
  const auto count = static_cast<int64_t>(sums_.size());
  const int bits = scale_bits_;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i)
    gradient[i] =
        static_cast<float>(std::ldexp(static_cast<double>(sums_[static_cast<size_t>(i)]), -bits));
  conversion_seconds_ += seconds_since(start);
  Result result;
  result.totals.loss = std::ldexp(static_cast<double>(totals_[kLoss]), -kLossScaleBits);
  result.totals.tokens = totals_[kTokens];
  result.non_finite = totals_[kNonFinite] > 0;
  result.overflow = totals_[kOverflow] > 0;
  return result;
}

}  // namespace tandem::trainer
