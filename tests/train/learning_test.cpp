// A tiny model must actually learn: reverse a random sequence of symbols, judged by greedy
// exact-match accuracy on held-out sequences, within a bounded number of steps.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "data/batch.h"
#include "data/synthetic.h"
#include "ops/rng.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/train_step.h"

namespace tandem {
namespace {

using trainer::AttentionType;
using trainer::ModelConfig;

using data::ReversalTask;

// Trains until held-out exact match reaches `target` or `max_steps` pass; returns the best.
double train_until(const ModelConfig& config, const ReversalTask& task, int max_steps,
                   double target) {
  ops::DnnlContext ctx;
  trainer::Seq2SeqModel model(config, ctx);
  model.initialize(task.seed);
  trainer::TrainStepConfig train_config;
  train_config.learning_rate = 3e-3f;
  train_config.clip_norm = 5.0;
  trainer::Trainer trainer(model, train_config);
  const uint64_t held_out = 1ull << 40;  // training indices stay far below
  const data::Batch test = task.batch(held_out, 500);
  const data::Batch test_sources = task.source_batch(held_out, 500);
  double best = 0.0;
  for (int step = 1; step <= max_steps; ++step) {
    trainer.train_step(task.batch(static_cast<uint64_t>(step) * 64, 64));
    if (step % 100 != 0) continue;
    const auto hypotheses = model.greedy_decode(test_sources, task.max_length + 5);
    int correct = 0;
    for (size_t i = 0; i < hypotheses.size(); ++i)
      correct += hypotheses[i] == task.target(held_out + i);
    const double accuracy = static_cast<double>(correct) / static_cast<double>(hypotheses.size());
    std::printf("step %d: held-out loss/token %.4f, exact match %.3f\n", step,
                model.evaluate(test).loss / static_cast<double>(test.target_tokens()), accuracy);
    best = std::max(best, accuracy);
    if (best >= target) break;
  }
  return best;
}

ModelConfig reversal_model(ops::CellKind cell, AttentionType attention, int hidden) {
  ModelConfig config;
  config.cell = cell;
  config.src_vocab_size = config.tgt_vocab_size = ReversalTask{}.vocab_size();
  config.embedding_size = 32;
  config.hidden_size = hidden;
  config.bidirectional_encoder = true;
  config.attention = attention;
  return config;
}

TEST(Learning, LstmWithAttentionReversesSequencesOf3To10) {
  const ReversalTask task{10, 3, 10, 101};
  EXPECT_GE(train_until(reversal_model(ops::CellKind::kLstm, AttentionType::kGeneral, 64), task,
                        2000, 0.98),
            0.98);
}

TEST(Learning, GruWithAttentionReversesSequencesOf3To10) {
  const ReversalTask task{10, 3, 10, 202};
  EXPECT_GE(train_until(reversal_model(ops::CellKind::kGru, AttentionType::kGeneral, 64), task,
                        2000, 0.98),
            0.98);
}

TEST(Learning, Bf16LstmWithAttentionReversesSequencesOf3To10) {
  const ReversalTask task{10, 3, 10, 404};
  ModelConfig config = reversal_model(ops::CellKind::kLstm, AttentionType::kGeneral, 64);
  config.precision = ops::Precision::kBf16;
  EXPECT_GE(train_until(config, task, 2000, 0.98), 0.98);
}

TEST(Learning, LstmWithoutAttentionReversesShortSequences) {
  const ReversalTask task{10, 3, 5, 303};
  EXPECT_GE(train_until(reversal_model(ops::CellKind::kLstm, AttentionType::kNone, 128), task, 2000,
                        0.98),
            0.98);
}

}  // namespace
}  // namespace tandem
