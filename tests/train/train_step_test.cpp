// The training step of one process: gradients zeroed every step, the loss falls, clipping bounds
// the update.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/batch.h"
#include "tests/model/tiny_models.h"
#include "tests/test_utils.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/train_step.h"

namespace tandem {
namespace {

using testing::three_pairs;
using testing::tiny;
using trainer::AttentionType;
using trainer::DecoderInit;
using trainer::Seq2SeqModel;

TEST(Trainer, ZeroesGradientsEveryStep) {
  ops::DnnlContext ctx;
  Seq2SeqModel model(
      tiny(ops::CellKind::kLstm, AttentionType::kGeneral, true, DecoderInit::kFinalState, 1, 1),
      ctx);
  model.initialize(1);
  trainer::TrainStepConfig config;
  config.optimizer.kind = ops::OptimizerKind::kSgd;
  config.learning_rate = 0.0f;  // parameters stay put, so both steps see the same gradient
  config.clip_norm = 0.0;
  trainer::Trainer trainer(model, config);
  const data::Batch batch = three_pairs();
  const trainer::StepResult first = trainer.train_step(batch);
  const std::vector<float> first_grads(model.params().grads(),
                                       model.params().grads() + model.params().total_size());
  const trainer::StepResult second = trainer.train_step(batch);
  EXPECT_FALSE(first.skipped);
  EXPECT_DOUBLE_EQ(first.grad_norm, second.grad_norm);
  testing::expect_near_all("gradients", first_grads.data(), model.params().grads(),
                           first_grads.size(), 0.0);
}

TEST(Trainer, LossDecreasesAndClippingBoundsTheUpdate) {
  ops::DnnlContext ctx;
  Seq2SeqModel model(
      tiny(ops::CellKind::kGru, AttentionType::kDot, false, DecoderInit::kFinalState, 1, 1), ctx);
  model.initialize(2);
  trainer::TrainStepConfig config;
  config.optimizer.kind = ops::OptimizerKind::kSgd;
  config.learning_rate = 1.0f;
  config.clip_norm = 0.2;
  trainer::Trainer trainer(model, config);
  const data::Batch batch = three_pairs();
  const std::vector<float> before(model.params().values(),
                                  model.params().values() + model.params().total_size());
  const trainer::StepResult first = trainer.train_step(batch);
  double update_norm = 0.0;
  for (size_t i = 0; i < before.size(); ++i) {
    const double d = model.params().values()[i] - before[i];
    update_norm += d * d;
  }
  EXPECT_GT(first.grad_norm, 0.2);                 // so the clip acts
  EXPECT_NEAR(std::sqrt(update_norm), 0.2, 1e-4);  // lr 1 x clipped norm 0.2
  double last = first.global.loss;
  for (int i = 0; i < 20; ++i) last = trainer.train_step(batch).global.loss;
  EXPECT_LT(last, first.global.loss);
}
}  // namespace
}  // namespace tandem
