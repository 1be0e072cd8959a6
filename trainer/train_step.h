// One training step on one process: zero gradients -> forward -> backward -> (gradient hook:
// the all-reduce of distributed training) -> non-finite check -> global-norm clipping ->
// optimizer update. The loss is normalised by the number of real target tokens the hook reports
// (by default this process's own), so N ranks behave as one rank on the union of their batches.
#pragma once

#include <cstdint>
#include <functional>

#include "data/batch.h"
#include "ops/optimizer.h"
#include "trainer/seq2seq_model.h"

namespace tandem::trainer {

struct TrainStepConfig {
  ops::OptimizerConfig optimizer;
  float learning_rate = 1e-3f;
  double clip_norm = 5.0;  // <= 0: no clipping
  uint64_t seed = 1;       // noise key for dropout/sampling = f(seed, step)
};

struct StepResult {
  double loss_sum = 0.0;   // this process's loss sum
  int64_t tokens = 0;      // this process's real target tokens
  double grad_norm = 0.0;  // of the (reduced, normalised) gradient, before clipping
  bool skipped = false;    // non-finite gradient: no update
};

class Trainer {
 public:
  Trainer(Seq2SeqModel& model, const TrainStepConfig& config);

  // Called after backward with the gradient buffer holding this process's d(loss sum); must
  // leave there the gradient summed over all processes and return the global token count.
  // Default: nothing to reduce, returns the local count.
  using GradientReducer = std::function<int64_t(ops::ParamStore&, int64_t local_tokens)>;
  void set_gradient_reducer(GradientReducer reducer) { reducer_ = std::move(reducer); }

  StepResult train_step(const data::Batch& batch);

  int64_t step() const { return step_; }
  ops::Optimizer& optimizer() { return optimizer_; }
  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float lr) { learning_rate_ = lr; }

 private:
  Seq2SeqModel& model_;
  TrainStepConfig config_;
  ops::Optimizer optimizer_;
  GradientReducer reducer_;
  float learning_rate_;
  int64_t step_ = 0;
};

}  // namespace tandem::trainer
