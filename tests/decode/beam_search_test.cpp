// Beam search on a briefly trained model: beam 1 is greedy, the best hypothesis never scores
// below greedy's, n-best lists are sorted and distinct, attention matrices are distributions.
#include <gtest/gtest.h>

#include <cmath>

#include "data/synthetic.h"
#include "ops/errors.h"
#include "trainer/decode/beam_search.h"
#include "trainer/train/train_step.h"

namespace tandem {
namespace {

const data::ReversalTask kTask{10, 3, 9, 505};

// A reversal model trained for a few hundred steps: confident on some inputs, not on all.
class BeamSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trainer::ModelConfig config;
    config.src_vocab_size = config.tgt_vocab_size = kTask.vocab_size();
    config.embedding_size = 16;
    config.hidden_size = 32;
    config.bidirectional_encoder = true;
    config.attention = trainer::AttentionType::kGeneral;
    ctx_ = new ops::DnnlContext();
    model_ = new trainer::Seq2SeqModel(config, *ctx_);
    model_->initialize(3);
    trainer::TrainStepConfig train;
    train.learning_rate = 3e-3f;
    trainer::Trainer trainer(*model_, train);
    for (int step = 0; step < 150; ++step)
      trainer.train_step(kTask.batch(static_cast<uint64_t>(step) * 32, 32));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete ctx_;
  }
  static data::Batch test_sources() { return kTask.source_batch(1u << 30, 40); }
  static ops::DnnlContext* ctx_;
  static trainer::Seq2SeqModel* model_;
};

ops::DnnlContext* BeamSearchTest::ctx_ = nullptr;
trainer::Seq2SeqModel* BeamSearchTest::model_ = nullptr;

TEST_F(BeamSearchTest, BeamOfOneIsGreedy) {
  trainer::BeamOptions options;
  options.beam_size = 1;
  const data::Batch sources = test_sources();
  const auto beam = trainer::beam_search(*model_, sources, options);
  const auto greedy = model_->greedy_decode(sources, 9 * 2 + 10);
  for (size_t i = 0; i < greedy.size(); ++i)
    EXPECT_EQ(beam[i][0].tokens, greedy[i]) << "sentence " << i;
}

TEST_F(BeamSearchTest, BestHypothesisNeverScoresBelowGreedy) {
  trainer::BeamOptions greedy_options, beam_options;
  greedy_options.beam_size = 1;
  greedy_options.length_penalty = beam_options.length_penalty = 0.0;  // compare raw log P
  beam_options.beam_size = 4;
  const data::Batch sources = test_sources();
  const auto greedy = trainer::beam_search(*model_, sources, greedy_options);
  const auto beam = trainer::beam_search(*model_, sources, beam_options);
  int better = 0;
  for (size_t i = 0; i < greedy.size(); ++i) {
    EXPECT_GE(beam[i][0].log_probability, greedy[i][0].log_probability - 1e-9) << "sentence " << i;
    better += beam[i][0].log_probability > greedy[i][0].log_probability + 1e-6;
  }
  std::printf("beam 4 found a more probable output than greedy for %d of %zu sentences\n", better,
              greedy.size());
}

TEST_F(BeamSearchTest, NBestIsSortedAndDistinct) {
  trainer::BeamOptions options;
  options.beam_size = 5;
  options.n_best = 4;
  const auto results = trainer::beam_search(*model_, test_sources(), options);
  for (const auto& hypotheses : results) {
    ASSERT_FALSE(hypotheses.empty());
    EXPECT_LE(hypotheses.size(), 4u);
    for (size_t k = 1; k < hypotheses.size(); ++k) {
      EXPECT_GE(hypotheses[k - 1].score, hypotheses[k].score);
      EXPECT_NE(hypotheses[k - 1].tokens, hypotheses[k].tokens);
    }
  }
}

TEST_F(BeamSearchTest, AttentionMatrixRowsAreDistributionsOverTheSource) {
  const std::vector<int32_t> source = kTask.source(7), target = kTask.target(7);
  const std::vector<float> matrix = model_->attention_matrix(source, target);
  const size_t S = source.size(), T = target.size() + 1;
  ASSERT_EQ(matrix.size(), S * T);
  for (size_t t = 0; t < T; ++t) {
    double sum = 0;
    for (size_t s = 0; s < S; ++s) sum += matrix[t * S + s];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST_F(BeamSearchTest, InvalidOptionsNameTheOption) {
  trainer::BeamOptions options;
  options.n_best = 6;  // > beam 5
  try {
    trainer::beam_search(*model_, test_sources(), options);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("n-best:", 0), 0u);
  }
}

}  // namespace
}  // namespace tandem
