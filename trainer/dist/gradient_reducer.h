// The seam between the training step and the ranks: what a step needs summed over ranks (the
// flat gradient buffer and the step's loss/token totals). trainer/train knows only this
// interface; dist/gradient_allreduce.h is the MPI implementation, and one process needs none.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::trainer {

// Loss and token totals of a step: this rank's, or all ranks' after the reduction.
struct StepTotals {
  double loss = 0.0;
  int64_t tokens = 0;
};

// Sums the gradient buffer and the totals over ranks. The single-process trainer has none.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // During the last backward of the step: gradients from `offset` to the end are final.
  virtual void gradients_ready(size_t offset) = 0;
  // Collective: completes the sum of the whole gradient buffer and returns the global totals.
  virtual StepTotals finish(const StepTotals& local) = 0;
};

}  // namespace tandem::trainer
