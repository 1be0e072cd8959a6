// One training step of one rank: zero gradients -> forward/backward over this rank's
// micro-batches (accumulating) -> reduce with the other ranks (gradients summed, statistics
// totalled; the all-reduce of a bucket starts as soon as the last backward has finished it) ->
// non-finite check -> global-norm clipping and the optimizer in one pass.
// The gradient buffer holds d(loss SUM); the update scales it by 1 / (global target tokens), so
// N ranks are one rank over the union of their batches (docs/design.md, invariant 2), and every
// decision is taken on reduced values, so all ranks take the same one (invariants 3, 4, 8).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "data/batch.h"
#include "ops/optimizer.h"
#include "trainer/dist/exact_sum.h"
#include "trainer/dist/gradient_reducer.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem::trainer {

struct TrainStepConfig {
  ops::OptimizerConfig optimizer;
  float learning_rate = 1e-3f;
  double clip_norm = 5.0;  // <= 0: no clipping
  uint64_t seed = 1;       // noise key = f(seed, step, micro-batch, rank); exact sum: no rank
  int rank = 0;
};

struct StepResult {
  StepTotals local, global;
  double grad_norm = 0.0;  // of the normalised global gradient, before clipping
  bool empty = false;      // no rank had data: nothing done (the epoch is over everywhere)
  bool skipped = false;    // non-finite loss or gradient on some rank: no update anywhere
  bool overflow = false;   // (--deterministic) a gradient too large for the fixed-point scale:
                           // skipped, and the scale lowered
};

class Trainer {
 public:
  Trainer(Seq2SeqModel& model, const TrainStepConfig& config);

  void set_gradient_reducer(GradientReducer* reducer) { reducer_ = reducer; }
  // --deterministic: the step's sums are exact (exact_sum.h) instead of the reducer's, and the
  // noise key of a micro-batch is its position in the global step, not (rank, index).
  void set_exact_sum(ExactSum* sum) { exact_ = sum; }
  ExactSum* exact_sum() const { return exact_; }
  // Test hook (fault injection): sees every "gradients from offset on are final" report of the
  // step's last backward before the reducer does, so it can poison a final gradient (a NaN)
  // exactly where a real one would appear.
  void set_gradient_hook(std::function<void(ops::ParamStore&, size_t offset)> hook) {
    gradient_hook_ = std::move(hook);
  }

  // One step over this rank's micro-batches (none: this rank has no data left, but still takes
  // part in the collectives). Collective when a reducer or exact sum is set. With an exact sum,
  // positions[i] is micro-batch i's place in the global step (its noise key).
  StepResult train_step(const std::vector<const data::Batch*>& micro_batches,
                        const std::vector<int64_t>& positions = {});
  StepResult train_step(const data::Batch& batch) {
    return train_step(std::vector<const data::Batch*>{&batch});
  }

  int64_t step() const { return step_; }  // steps taken (updates and skips; not empty steps)
  void set_step(int64_t step) { step_ = step; }
  ops::Optimizer& optimizer() { return optimizer_; }
  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float lr) { learning_rate_ = lr; }
  // Seconds of the last step spent in forward+backward, waiting for the reduction, updating.
  double compute_seconds() const { return compute_seconds_; }
  double reduce_seconds() const { return reduce_seconds_; }
  double update_seconds() const { return update_seconds_; }
  // --deterministic: converting gradients to and from fixed point (not in the two above).
  double fixed_point_seconds() const { return fixed_point_seconds_; }

 private:
  StepResult reduced_gradients(const std::vector<const data::Batch*>& micro_batches);
  StepResult exact_gradients(const std::vector<const data::Batch*>& micro_batches,
                             const std::vector<int64_t>& positions);
  void update(StepResult& result);

  Seq2SeqModel& model_;
  TrainStepConfig config_;
  ops::Optimizer optimizer_;
  GradientReducer* reducer_ = nullptr;
  ExactSum* exact_ = nullptr;
  std::function<void(ops::ParamStore&, size_t)> gradient_hook_;
  float learning_rate_;
  int64_t step_ = 0;
  double compute_seconds_ = 0, reduce_seconds_ = 0, update_seconds_ = 0, fixed_point_seconds_ = 0;
};

}  // namespace tandem::trainer
