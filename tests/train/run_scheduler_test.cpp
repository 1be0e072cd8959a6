// RunScheduler's decisions that need no other rank: step and epoch limits, when to validate,
// early stopping's count, the ETA; and what each stop reason prints and exits with.
#include <gtest/gtest.h>

#include "ops/exit_codes.h"
#include "trainer/train/run_scheduler.h"

namespace tandem {
namespace {

using trainer::RunScheduler;
using trainer::StopReason;

TEST(RunScheduler, StepAndEpochLimitsAreReachedAtTheirValueAndZeroMeansNone) {
  trainer::TrainConfig config;
  config.max_steps = 10;
  RunScheduler scheduler(config);
  EXPECT_FALSE(scheduler.step_limit_reached(9));
  EXPECT_TRUE(scheduler.step_limit_reached(10));
  EXPECT_FALSE(scheduler.epoch_limit_reached(1000));  // max_epochs 0: no limit
  config.max_epochs = 2;
  EXPECT_FALSE(scheduler.epoch_limit_reached(1));
  EXPECT_TRUE(scheduler.epoch_limit_reached(2));
}

TEST(RunScheduler, ValidatesEveryNStepsOrAtEpochEnds) {
  trainer::TrainConfig config;
  RunScheduler scheduler(config);
  EXPECT_TRUE(scheduler.validating_at_epoch_end());  // valid_every 0
  EXPECT_FALSE(scheduler.validating_after_step(50));
  config.valid_every = 25;
  EXPECT_FALSE(scheduler.validating_at_epoch_end());
  EXPECT_TRUE(scheduler.validating_after_step(50));
  EXPECT_FALSE(scheduler.validating_after_step(51));
}

TEST(RunScheduler, EarlyStoppingCountsValidationsWithoutImprovementAndABestResetsIt) {
  trainer::TrainConfig config;
  config.early_stopping = 2;
  RunScheduler scheduler(config);
  EXPECT_FALSE(scheduler.early_stop(false));
  EXPECT_FALSE(scheduler.early_stop(true));
  EXPECT_EQ(scheduler.validations_without_improvement(), 0);
  EXPECT_FALSE(scheduler.early_stop(false));
  EXPECT_TRUE(scheduler.early_stop(false));
  scheduler.restore_validations_without_improvement(0);
  EXPECT_FALSE(scheduler.early_stop(false));
}

TEST(RunScheduler, EarlyStoppingOffNeverStops) {
  trainer::TrainConfig config;
  RunScheduler scheduler(config);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(scheduler.early_stop(false));
}

TEST(RunScheduler, EtaComesFromTheStepLimitAndIsCappedByTheTimeLimit) {
  trainer::TrainConfig config;
  RunScheduler scheduler(config);
  EXPECT_EQ(scheduler.eta_seconds(5, 1.0), -1);  // no limit
  config.max_steps = 105;
  EXPECT_DOUBLE_EQ(scheduler.eta_seconds(5, 0.5), 50.0);
  config.max_minutes = 0.5;  // 30 s, less the time already spent
  EXPECT_LE(scheduler.eta_seconds(5, 0.5), 30.0);
  EXPECT_GT(scheduler.eta_seconds(5, 0.5), 25.0);
}

TEST(RunScheduler, BudgetFractionIsTheStepShareBeforeAnyTimeIsAgreed) {
  trainer::TrainConfig config;
  RunScheduler scheduler(config);
  EXPECT_EQ(scheduler.budget_fraction(500), 0.0);  // no limit at all: nothing is used up
  config.max_steps = 200;
  EXPECT_EQ(scheduler.budget_fraction(0), 0.0);
  EXPECT_EQ(scheduler.budget_fraction(100), 0.5);
  EXPECT_EQ(scheduler.budget_fraction(200), 1.0);
  EXPECT_EQ(scheduler.budget_fraction(300), 1.0);
}

TEST(RunScheduler, ElapsedTimeContinuesFromTheResumedRun) {
  trainer::TrainConfig config;
  RunScheduler scheduler(config);
  scheduler.restore_elapsed_seconds(120.0);
  EXPECT_GE(scheduler.elapsed_seconds(), 120.0);
  EXPECT_LT(scheduler.elapsed_seconds(), 125.0);
  config.max_minutes = 3;  // 180 s in all, 120 of them already used
  EXPECT_LE(scheduler.eta_seconds(0, 1.0), 60.0);
}

TEST(StopReason, SignalsHaveTheirExitCodesAndLimitsExitZero) {
  EXPECT_EQ(trainer::stop_exit_code(StopReason::kPreempted), kExitRequeue);
  EXPECT_EQ(trainer::stop_exit_code(StopReason::kInterrupted), kExitInterrupted);
  for (StopReason reason : {StopReason::kTimeLimit, StopReason::kStepLimit, StopReason::kEpochLimit,
                            StopReason::kEarlyStopping})
    EXPECT_EQ(trainer::stop_exit_code(reason), kExitDone) << trainer::stop_text(reason);
  EXPECT_STREQ(trainer::stop_text(StopReason::kInterrupted), "interrupted (SIGINT)");
}

TEST(StopReason, VotePriorityIsTimeThenInterruptThenPreemption) {
  // Ranks vote with the numeric value (the maximum wins): the order is part of the protocol.
  EXPECT_LT(static_cast<int>(StopReason::kNone), static_cast<int>(StopReason::kTimeLimit));
  EXPECT_LT(static_cast<int>(StopReason::kTimeLimit), static_cast<int>(StopReason::kInterrupted));
  EXPECT_LT(static_cast<int>(StopReason::kInterrupted), static_cast<int>(StopReason::kPreempted));
}

}  // namespace
}  // namespace tandem
