#include "trainer/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/errors.h"

namespace tandem::trainer {

LrSchedule::LrSchedule(const ScheduleConfig& config)
    : config_(config), best_validation_(std::numeric_limits<double>::infinity()) {
  require_config(config.base_lr > 0.0, "lr", "must be positive");
  require_config(config.warmup_steps >= 0, "warmup-steps", "must not be negative");
  require_config(config.decay_factor > 0.0 && config.decay_factor <= 1.0, "decay-factor",
                 "must be in (0, 1]");
  require_config(config.decay_every > 0, "decay-every", "must be positive");
  require_config(config.min_lr <= config.base_lr, "min-lr", "must not exceed --lr");
  require_config(config.plateau_patience >= 1, "plateau-patience", "must be at least 1");
  require_config(config.kind != ScheduleKind::kWarmupRsqrt || config.warmup_steps > 0,
                 "warmup-steps", "the rsqrt schedule needs a positive warm-up");
}

double LrSchedule::rate(int64_t step, double budget_used) const {
  const double t = static_cast<double>(step + 1);
  const double warmup =
      config_.warmup_steps > 0 ? std::min(1.0, t / static_cast<double>(config_.warmup_steps)) : 1.0;
  double lr = config_.base_lr;
  switch (config_.kind) {
    case ScheduleKind::kConstant:
      lr *= warmup;
      break;
    case ScheduleKind::kWarmupRsqrt:  // peaks at base_lr at the end of warm-up, then ~ 1/sqrt(step)
      lr *= t <= static_cast<double>(config_.warmup_steps)
                ? warmup
                : std::sqrt(static_cast<double>(config_.warmup_steps) / t);
      break;
    case ScheduleKind::kStepDecay:
      lr *=
          warmup * std::pow(config_.decay_factor, static_cast<double>(step / config_.decay_every));
      break;
    case ScheduleKind::kPlateau:
      lr *= warmup * plateau_scale_;
      break;
    case ScheduleKind::kLinear:  // from lr to min-lr over the budget (Li, Yumer & Ramanan 2020)
    case ScheduleKind::kCosine: {
      const double used = std::clamp(budget_used, 0.0, 1.0);
      const double left = config_.kind == ScheduleKind::kLinear
                              ? 1.0 - used
                              : 0.5 * (1.0 + std::cos(3.14159265358979323846 * used));
      return warmup * (config_.min_lr + (config_.base_lr - config_.min_lr) * left);
    }
  }
  return std::max(lr, config_.min_lr);
}

bool LrSchedule::observe_validation(double loss) {
  if (loss < best_validation_) {
    best_validation_ = loss;
    bad_evaluations_ = 0;
    return true;
  }
  ++bad_evaluations_;
  if (config_.kind == ScheduleKind::kPlateau && bad_evaluations_ >= config_.plateau_patience) {
    plateau_scale_ *= config_.decay_factor;
    bad_evaluations_ = 0;
  }
  return false;
}

void LrSchedule::restore(double plateau_scale, double best_validation, int64_t bad_evaluations) {
  plateau_scale_ = plateau_scale;
  best_validation_ = best_validation;
  bad_evaluations_ = bad_evaluations;
}

}  // namespace tandem::trainer
