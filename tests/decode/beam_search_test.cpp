// Beam search on a briefly trained model: beam 1 is greedy, n-best lists are sorted and distinct,
// attention matrices are distributions; on a planted model where greedy is provably suboptimal,
// beam 2 finds the better output.
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

// A planted model where greedy decoding is provably suboptimal. A one-layer tanh RNN decoder
// whose state is (almost) the one-hot code of the previous token, an all-zero encoder, and an
// output layer that reads off these next-token distributions:
//   after <bos>: A 0.6, B 0.4;   after A: <eos> or one of six C tokens, 1/7 each;
//   after B or any C: <eos> with probability ~1.
// Greedy takes A (0.6) and ends with P = 0.6/7 = 0.086; the best output is B (P = 0.4).
class PlantedBeamSearch : public ::testing::Test {
 protected:
  static constexpr int32_t kA = 4, kB = 5, kFirstC = 6, kVocab = 12;
  static constexpr int64_t kH = 4;  // state slots: 0 after <bos>, 1 after A, 2 after B, 3 after C

  PlantedBeamSearch() : model_(config(), ctx_) {
    ops::ParamStore& params = model_.params();
    std::fill(params.values(), params.values() + params.total_size(), 0.0f);
    auto value = [&](const std::string& name) { return params.find(name)->value; };
    float* embedding = value("decoder/embedding");  // [V, E]
    const int32_t slot_of[kVocab] = {-1, -1, 0, -1, 1, 2, 3, 3, 3, 3, 3, 3};
    for (int32_t token = 0; token < kVocab; ++token)
      if (slot_of[token] >= 0) embedding[token * kH + slot_of[token]] = 1.0f;
    float* weights_layer = value("decoder/l0/weights_layer");  // [I, G=1, H]
    for (int64_t k = 0; k < kH; ++k) weights_layer[k * kH + k] = 3.0f;
    float* w_c = value("decoder/w_c/weight");  // [H, 2H]: the RNN state half, unchanged
    for (int64_t k = 0; k < kH; ++k) w_c[k * 2 * kH + kH + k] = 1.0f;
    // attentional = tanh(tanh(3)) on the slot: scale the logits so z = log P exactly.
    const float a = std::tanh(std::tanh(3.0f));
    float* output = value("output/weight");  // [V, H]
    auto plant = [&](int64_t slot, int32_t token, double probability) {
      output[token * kH + slot] = static_cast<float>(std::log(probability) / a);
    };
    for (int64_t slot = 0; slot < kH; ++slot)
      for (int32_t token = 0; token < kVocab; ++token)
        output[token * kH + slot] = -30.0f / a;  // impossible unless planted below
    plant(0, kA, 0.6);
    plant(0, kB, 0.4);
    plant(1, data::kEosId, 1.0 / 7);
    for (int32_t c = kFirstC; c < kVocab; ++c) plant(1, c, 1.0 / 7);
    plant(2, data::kEosId, 1.0);
    plant(3, data::kEosId, 1.0);
    params.mark_values_changed();
  }
  static trainer::ModelConfig config() {
    trainer::ModelConfig c;
    c.cell = ops::CellKind::kVanillaTanh;
    c.src_vocab_size = 6;
    c.tgt_vocab_size = kVocab;
    c.embedding_size = kH;
    c.hidden_size = kH;
    c.attention = trainer::AttentionType::kNone;
    return c;
  }
  std::vector<trainer::Hypothesis> decode(int beam_size) {
    trainer::BeamOptions options;
    options.beam_size = beam_size;
    options.length_penalty = 0.0;  // rank by raw log P
    return trainer::beam_search(model_, data::make_source_batch({{4, 5}}), options)[0];
  }

  ops::DnnlContext ctx_;
  trainer::Seq2SeqModel model_;
};

TEST_F(PlantedBeamSearch, GreedyTakesTheLocallyBestFirstToken) {
  const trainer::Hypothesis greedy = decode(1)[0];
  ASSERT_FALSE(greedy.tokens.empty());
  EXPECT_EQ(greedy.tokens.front(), kA);
  EXPECT_NEAR(greedy.log_probability, std::log(0.6 / 7), 1e-3);
}

TEST_F(PlantedBeamSearch, BeamOfTwoFindsTheMoreProbableOutput) {
  const trainer::Hypothesis best = decode(2)[0];
  EXPECT_EQ(best.tokens, std::vector<int32_t>{kB});
  EXPECT_NEAR(best.log_probability, std::log(0.4), 1e-3);
  EXPECT_GT(best.log_probability, decode(1)[0].log_probability + 1.0);
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

// An ensemble of a model with (a copy of) itself: the mean of two equal log-probabilities is the
// same number, so every hypothesis and score equals the single model's, bit for bit. An ensemble
// with a differently trained model changes some outputs (the members really are combined).
TEST_F(BeamSearchTest, EnsembleOfAModelWithItselfEqualsTheModel) {
  trainer::Seq2SeqModel copy(model_->config(), *ctx_);
  std::copy(model_->params().values(), model_->params().values() + model_->params().total_size(),
            copy.params().values());
  copy.params().mark_values_changed();
  trainer::Seq2SeqModel other(model_->config(), *ctx_);
  other.initialize(99);  // untrained: a very different distribution
  for (int beam : {1, 4}) {
    trainer::BeamOptions options;
    options.beam_size = beam;
    options.n_best = beam;
    const auto single = trainer::beam_search(*model_, test_sources(), options);
    const auto pair =
        trainer::beam_search(trainer::Ensemble{model_, &copy}, test_sources(), options);
    ASSERT_EQ(single.size(), pair.size());
    for (size_t n = 0; n < single.size(); ++n) {
      ASSERT_EQ(single[n].size(), pair[n].size()) << "beam " << beam << " sentence " << n;
      for (size_t k = 0; k < single[n].size(); ++k) {
        EXPECT_EQ(single[n][k].tokens, pair[n][k].tokens) << "beam " << beam;
        EXPECT_EQ(single[n][k].log_probability, pair[n][k].log_probability) << "beam " << beam;
      }
    }
    const auto mixed =
        trainer::beam_search(trainer::Ensemble{model_, &other}, test_sources(), options);
    size_t differing = 0;
    for (size_t n = 0; n < single.size(); ++n)
      differing += mixed[n].front().log_probability != single[n].front().log_probability;
    EXPECT_GT(differing, 0u) << "beam " << beam;
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
