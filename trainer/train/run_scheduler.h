// The decisions of a training run (Marian's Scheduler): whether to stop and why, when to save,
// when to validate. Every decision is taken on values all ranks share (their own counters, or a
// reduced value), so every rank takes it at the same step (docs/design.md, invariant D1).
#pragma once

#include <chrono>
#include <cstdint>

#include "trainer/dist/mpi_world.h"
#include "trainer/train/train_config.h"

namespace tandem::trainer {

// Why a run ends. kTimeLimit < kInterrupted < kPreempted is the priority when ranks vote
// (ranks can see different signals); never reorder those three.
enum class StopReason {
  kNone,
  kTimeLimit,
  kInterrupted,  // SIGINT: checkpoint, exit 130
  kPreempted,    // a preemption signal (SLURM): checkpoint, exit 75 to be requeued
  kStepLimit,
  kEpochLimit,
  kEarlyStopping,
};

// The reason as printed ("stopped (time limit)") and recorded in metrics.jsonl; the exit code.
const char* stop_text(StopReason reason);
int stop_exit_code(StopReason reason);

// Set by tandem-train's signal thread (trainer/apps/stop_signals.h); the run agrees on them at
// the next step boundary, checkpoints and stops (SIGINT: exit 130; preemption signals such as
// SIGTERM/SIGUSR1: exit 75).
void request_stop();
void request_preemption();

class RunScheduler {
 public:
  explicit RunScheduler(const TrainConfig& config);
  // (Re)starts the clocks of the time limit and of time-based saving.
  void start();

  // Collective: kPreempted / kInterrupted if any rank got the signal, kTimeLimit if the slowest
  // clock passed --max-minutes, else kNone. Also agrees on the elapsed time and the position in
  // the epochs (`epoch_position`: epochs done plus the fraction of this one; the furthest rank
  // counts) that budget_fraction() uses, so every rank computes the same learning rate.
  StopReason agreed_stop(const MpiWorld& world, double epoch_position);
  // The share of the run's budget used at `step` (0..1): the largest of steps / --max-steps,
  // the agreed elapsed time / --max-minutes and the agreed epoch position / --max-epochs.
  double budget_fraction(int64_t step) const;
  bool step_limit_reached(int64_t step) const;
  bool epoch_limit_reached(int64_t epoch) const;
  // Collective when time-based saving is on: a checkpoint is due before `step` (every
  // --save-every steps or --save-every-minutes by the slowest clock), unless one was saved there.
  bool saving(const MpiWorld& world, int64_t step) const;
  void saved(int64_t step);
  bool saved_at(int64_t step) const { return last_saved_step_ == step; }
  bool validating_after_step(int64_t step) const;
  bool validating_at_epoch_end() const { return config_.valid_every == 0; }
  // After a validation that was (not) the best so far: true when early stopping says stop.
  bool early_stop(bool best);
  int64_t validations_without_improvement() const { return validations_without_improvement_; }
  void restore_validations_without_improvement(int64_t count) {
    validations_without_improvement_ = count;
  }

  // Training time of the run so far, over every resume (what --max-minutes limits).
  double elapsed_seconds() const;
  void restore_elapsed_seconds(double seconds) { elapsed_before_ = seconds; }
  // Seconds left by the step or time limit at `step_seconds` per step (-1: no limit).
  double eta_seconds(int64_t step, double step_seconds) const;

 private:
  const TrainConfig& config_;
  std::chrono::steady_clock::time_point start_, last_save_;
  int64_t last_saved_step_ = -1;
  int64_t validations_without_improvement_ = 0;
  double elapsed_before_ = 0;  // training time of the earlier runs this one resumes
  double agreed_elapsed_ = 0, agreed_epoch_position_ = 0;
};

}  // namespace tandem::trainer
