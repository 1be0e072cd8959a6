#include "trainer/train/run_scheduler.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "ops/exit_codes.h"
#include "trainer/train/clock.h"

namespace tandem::trainer {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> preemption_requested{false};

}  // namespace

const char* stop_text(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "running";
    case StopReason::kTimeLimit:
      return "time limit";
    case StopReason::kInterrupted:
      return "interrupted (SIGINT)";
    case StopReason::kPreempted:
      return "preempted (signal): requeue to resume";
    case StopReason::kStepLimit:
      return "step limit";
    case StopReason::kEpochLimit:
      return "epoch limit";
    case StopReason::kEarlyStopping:
      return "early stopping";
  }
  return "?";
}

int stop_exit_code(StopReason reason) {
  if (reason == StopReason::kPreempted) return kExitRequeue;
  if (reason == StopReason::kInterrupted) return kExitInterrupted;
  return kExitDone;
}

void request_stop() {
  stop_requested = true;
}

void request_preemption() {
  preemption_requested = true;
}

RunScheduler::RunScheduler(const TrainConfig& config)
    : config_(config),
      start_(std::chrono::steady_clock::now()),
      last_save_(std::chrono::steady_clock::now()) {}

void RunScheduler::start() {
  start_ = last_save_ = std::chrono::steady_clock::now();
}

StopReason RunScheduler::agreed_stop(const MpiWorld& world, double epoch_position) {
  StopReason local = StopReason::kNone;
  const double elapsed = elapsed_seconds();
  if (preemption_requested)
    local = StopReason::kPreempted;
  else if (stop_requested)
    local = StopReason::kInterrupted;
  else if (config_.max_minutes > 0 && elapsed >= config_.max_minutes * 60)
    local = StopReason::kTimeLimit;
  std::vector<double> agreed = {static_cast<double>(local), elapsed, epoch_position};
  world.max(agreed);
  agreed_elapsed_ = agreed[1];
  agreed_epoch_position_ = agreed[2];
  return static_cast<StopReason>(static_cast<int>(agreed[0]));
}

double RunScheduler::budget_fraction(int64_t step) const {
  double used = 0;
  if (config_.max_steps > 0)
    used = std::max(used, static_cast<double>(step) / static_cast<double>(config_.max_steps));
  if (config_.max_minutes > 0) used = std::max(used, agreed_elapsed_ / (config_.max_minutes * 60));
  if (config_.max_epochs > 0)
    used = std::max(used, agreed_epoch_position_ / static_cast<double>(config_.max_epochs));
  return std::min(used, 1.0);
}

bool RunScheduler::step_limit_reached(int64_t step) const {
  return config_.max_steps > 0 && step >= config_.max_steps;
}

bool RunScheduler::epoch_limit_reached(int64_t epoch) const {
  return config_.max_epochs > 0 && epoch >= config_.max_epochs;
}

bool RunScheduler::saving(const MpiWorld& world, int64_t step) const {
  if (step <= 0 || step <= last_saved_step_) return false;
  if (config_.save_every > 0 && step % config_.save_every == 0) return true;
  return config_.save_every_minutes > 0 &&
         world.max(seconds_since(last_save_)) >= config_.save_every_minutes * 60;
}

void RunScheduler::saved(int64_t step) {
  last_saved_step_ = step;
  last_save_ = std::chrono::steady_clock::now();
}

bool RunScheduler::validating_after_step(int64_t step) const {
  return config_.valid_every > 0 && step % config_.valid_every == 0;
}

bool RunScheduler::early_stop(bool best) {
  validations_without_improvement_ = best ? 0 : validations_without_improvement_ + 1;
  return config_.early_stopping > 0 && validations_without_improvement_ >= config_.early_stopping;
}

double RunScheduler::elapsed_seconds() const {
  return elapsed_before_ + seconds_since(start_);
}

double RunScheduler::eta_seconds(int64_t step, double step_seconds) const {
  double eta = -1;
  if (config_.max_steps > 0) eta = step_seconds * static_cast<double>(config_.max_steps - step);
  if (config_.max_minutes > 0)
    eta = std::min(eta < 0 ? 1e30 : eta, config_.max_minutes * 60 - elapsed_seconds());
  return eta;
}

}  // namespace tandem::trainer
