// Learning-rate schedules: constant, linear warm-up then inverse square root, step decay,
// reduce-on-plateau (driven by validation loss), and the budget-aware linear and cosine decays,
// which reach --min-lr exactly when the run's budget (steps, time or epochs, whichever ends
// first) is used up. The state is small and saved in checkpoints.
#pragma once

#include <cstdint>
#include <string>

#include "ops/settings.h"

namespace tandem::trainer {

// Names (constant, rsqrt, step, plateau, linear, cosine) are persisted in run configurations:
// never rename.
enum class ScheduleKind { kConstant, kWarmupRsqrt, kStepDecay, kPlateau, kLinear, kCosine };

inline const EnumNames<ScheduleKind> kScheduleNames("lr-schedule",
                                                    {{ScheduleKind::kConstant, "constant"},
                                                     {ScheduleKind::kWarmupRsqrt, "rsqrt"},
                                                     {ScheduleKind::kStepDecay, "step"},
                                                     {ScheduleKind::kPlateau, "plateau"},
                                                     {ScheduleKind::kLinear, "linear"},
                                                     {ScheduleKind::kCosine, "cosine"}});

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kConstant;
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;      // linear ramp from 0 (all kinds)
  double decay_factor = 0.5;     // step and plateau
  int64_t decay_every = 10000;   // step: multiply by decay_factor every this many steps
  int64_t plateau_patience = 2;  // plateau: validations without improvement before decaying
  double min_lr = 0.0;
};

class LrSchedule {
 public:
  explicit LrSchedule(const ScheduleConfig& config);  // ConfigError for invalid settings

  // The rate for update number `step` (0-based), when `budget_used` (0..1) of the run's budget
  // is used (RunScheduler::budget_fraction; only linear and cosine depend on it).
  double rate(int64_t step, double budget_used = 0.0) const;
  // Reports a validation loss (plateau: may decay). Returns true if it is a new best.
  bool observe_validation(double loss);

  // Resumable state.
  double plateau_scale() const { return plateau_scale_; }
  double best_validation() const { return best_validation_; }
  int64_t evaluations_without_improvement() const { return bad_evaluations_; }
  void restore(double plateau_scale, double best_validation, int64_t bad_evaluations);

 private:
  ScheduleConfig config_;
  double plateau_scale_ = 1.0;
  double best_validation_;
  int64_t bad_evaluations_ = 0;
};

}  // namespace tandem::trainer
