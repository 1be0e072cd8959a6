// Learning-rate schedules: warm-up, inverse square root, step decay, reduce-on-plateau, state.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/errors.h"
#include "trainer/train/lr_schedule.h"

namespace tandem {
namespace {

using trainer::LrSchedule;
using trainer::ScheduleConfig;
using trainer::ScheduleKind;

TEST(LrSchedule, RsqrtWarmsUpLinearlyThenDecaysAsInverseSquareRoot) {
  ScheduleConfig config;
  config.kind = ScheduleKind::kWarmupRsqrt;
  config.base_lr = 1e-3;
  config.warmup_steps = 100;
  const LrSchedule schedule(config);
  EXPECT_NEAR(schedule.rate(0), 1e-5, 1e-12);  // step 1 of 100
  EXPECT_NEAR(schedule.rate(49), 5e-4, 1e-12);
  EXPECT_NEAR(schedule.rate(99), 1e-3, 1e-12);   // the peak
  EXPECT_NEAR(schedule.rate(399), 5e-4, 1e-12);  // 1e-3 * sqrt(100 / 400)
}

TEST(LrSchedule, StepDecayMultipliesEveryPeriod) {
  ScheduleConfig config;
  config.kind = ScheduleKind::kStepDecay;
  config.decay_factor = 0.1;
  config.decay_every = 10;
  const LrSchedule schedule(config);
  EXPECT_DOUBLE_EQ(schedule.rate(9), 1e-3);
  EXPECT_NEAR(schedule.rate(10), 1e-4, 1e-15);
  EXPECT_NEAR(schedule.rate(25), 1e-5, 1e-15);
}

TEST(LrSchedule, PlateauDecaysAfterPatienceAndStateRestores) {
  ScheduleConfig config;
  config.kind = ScheduleKind::kPlateau;
  config.plateau_patience = 2;
  LrSchedule schedule(config);
  EXPECT_TRUE(schedule.observe_validation(3.0));
  EXPECT_FALSE(schedule.observe_validation(3.1));
  EXPECT_DOUBLE_EQ(schedule.rate(5), 1e-3);
  EXPECT_FALSE(schedule.observe_validation(3.0));  // not better than 3.0: second bad one -> decay
  EXPECT_DOUBLE_EQ(schedule.rate(5), 5e-4);
  EXPECT_TRUE(schedule.observe_validation(2.0));
  LrSchedule restored(config);
  restored.restore(schedule.plateau_scale(), schedule.best_validation(),
                   schedule.evaluations_without_improvement());
  EXPECT_DOUBLE_EQ(restored.rate(5), schedule.rate(5));
  EXPECT_FALSE(restored.observe_validation(2.5));
}

TEST(LrSchedule, InvalidSettingsNameTheOption) {
  ScheduleConfig config;
  config.kind = ScheduleKind::kWarmupRsqrt;  // needs a warm-up
  try {
    LrSchedule schedule(config);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("warmup-steps:", 0), 0u);
  }
  EXPECT_THROW(trainer::kScheduleNames.parse("exponential"), ConfigError);
  config.kind = ScheduleKind::kLinear;
  config.min_lr = 2 * config.base_lr;
  try {
    LrSchedule schedule(config);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("min-lr:", 0), 0u);
  }
}

// The budget-aware schedules at 0 %, 50 % and 100 % of the budget, after the warm-up.
TEST(LrSchedule, LinearAndCosineReachMinLrAtTheEndOfTheBudget) {
  ScheduleConfig config;
  config.base_lr = 1e-3;
  config.min_lr = 1e-5;
  config.kind = ScheduleKind::kLinear;
  const LrSchedule linear(config);
  EXPECT_DOUBLE_EQ(linear.rate(100, 0.0), 1e-3);
  EXPECT_DOUBLE_EQ(linear.rate(100, 0.5), 1e-5 + 0.5 * (1e-3 - 1e-5));
  EXPECT_DOUBLE_EQ(linear.rate(100, 1.0), 1e-5);
  EXPECT_DOUBLE_EQ(linear.rate(100, 1.7), 1e-5);  // past the budget (a last step): the floor
  config.kind = ScheduleKind::kCosine;
  const LrSchedule cosine(config);
  EXPECT_DOUBLE_EQ(cosine.rate(100, 0.0), 1e-3);
  EXPECT_NEAR(cosine.rate(100, 0.5), 1e-5 + 0.5 * (1e-3 - 1e-5), 1e-15);
  EXPECT_NEAR(cosine.rate(100, 0.25), 1e-5 + (1e-3 - 1e-5) * (0.5 + 0.5 * std::sqrt(0.5)), 1e-15);
  EXPECT_NEAR(cosine.rate(100, 1.0), 1e-5, 1e-15);
  config.warmup_steps = 10;  // the warm-up ramps the decayed rate
  const LrSchedule warm(config);
  EXPECT_NEAR(warm.rate(4, 0.5), 0.5 * cosine.rate(4, 0.5), 1e-15);
}

}  // namespace
}  // namespace tandem
