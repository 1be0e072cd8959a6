// The whole Seq2SeqModel: gradients of every parameter tensor against finite differences over a
// grid of architectures, padding invariance, decoding order, bf16 against f32.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "data/batch.h"
#include "tests/model/tiny_models.h"
#include "tests/test_utils.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem {
namespace {

using testing::three_pairs;
using testing::tiny;
using trainer::AttentionType;
using trainer::DecoderInit;
using trainer::ModelConfig;
using trainer::Seq2SeqModel;

struct Variant {
  std::string name;
  ModelConfig config;
};

void PrintTo(const Variant& variant, std::ostream* out) {
  *out << variant.name;
}

std::vector<Variant> variants() {
  using ops::CellKind;
  std::vector<Variant> list;
  list.push_back({"LstmGeneralBidirectionalFinal2x2", tiny(CellKind::kLstm, AttentionType::kGeneral,
                                                           true, DecoderInit::kFinalState, 2, 2)});
  list.push_back({"GruDotBridge2x1",
                  tiny(CellKind::kGru, AttentionType::kDot, false, DecoderInit::kBridge, 2, 1)});
  list.push_back(
      {"LbrGruAdditiveBidirectionalBridge",
       tiny(CellKind::kLbrGru, AttentionType::kAdditive, true, DecoderInit::kBridge, 1, 2)});
  list.push_back({"VanillaNoAttentionFinal", tiny(CellKind::kVanillaTanh, AttentionType::kNone,
                                                  false, DecoderInit::kFinalState, 1, 1)});
  list.push_back({"LstmNoAttentionBidirectional", tiny(CellKind::kLstm, AttentionType::kNone, true,
                                                       DecoderInit::kFinalState, 1, 1)});
  Variant feeding{"LstmInputFeedingLabelSmoothing", tiny(CellKind::kLstm, AttentionType::kGeneral,
                                                         true, DecoderInit::kFinalState, 1, 1)};
  feeding.config.input_feeding = true;
  feeding.config.label_smoothing = 0.1f;
  list.push_back(feeding);
  Variant sampling{"GruScheduledSampling", tiny(CellKind::kGru, AttentionType::kGeneral, false,
                                                DecoderInit::kFinalState, 1, 1)};
  sampling.config.teacher_forcing_ratio = 0.5f;
  list.push_back(sampling);
  Variant dropout{"LstmDropout", tiny(CellKind::kLstm, AttentionType::kAdditive, true,
                                      DecoderInit::kBridge, 2, 2)};
  dropout.config.dropout = 0.3f;
  list.push_back(dropout);
  return list;
}

class ModelTest : public ::testing::TestWithParam<Variant> {
 protected:
  ops::DnnlContext ctx_;
};

TEST_P(ModelTest, EveryParameterTensorMatchesFiniteDifferences) {
  Seq2SeqModel model(GetParam().config, ctx_);
  model.initialize(11);
  const data::Batch batch = three_pairs();
  const uint64_t noise_key = 1234;  // fixed: dropout masks and sampling are part of the function
  ops::ParamStore& store = model.params();
  if (GetParam().config.teacher_forcing_ratio < 1.0f) {
    // Sampled inputs are argmaxes: a step function of the parameters. A steep output bias keeps
    // the argmax away from ties, so the finite differences never cross a step.
    const ops::ParamView* bias = store.find("output/bias");
    for (size_t k = 0; k < bias->size; ++k) bias->value[k] = 2.0f * static_cast<float>(k);
    store.mark_values_changed();
    // ... and the sampled inputs do change the loss.
    EXPECT_GT(std::fabs(model.forward(batch, noise_key).loss - model.evaluate(batch).loss), 1e-3);
  }
  store.zero_grads();
  const ops::LossSum loss = model.forward(batch, noise_key);
  EXPECT_EQ(loss.tokens, 3 + 5 + 2);
  model.backward(1.0f);
  const std::vector<float> analytic(store.grads(), store.grads() + store.total_size());

  auto loss_of = [&] { return model.forward(batch, noise_key).loss; };
  testing::GradientCheck check;
  check.max_checks = 6;
  check.epsilon = 5e-3;
  for (const ops::ParamView& param : store.params())
    testing::expect_gradient_matches(param.name, param.value, analytic.data() + param.offset,
                                     param.size, loss_of, check,
                                     [&] { store.mark_values_changed(); });
}

TEST_P(ModelTest, BatchLossAndGradientEqualSumOfExamplesAlone) {
  ModelConfig config = GetParam().config;
  config.dropout = 0.0f;                // masks depend on the position in the batch
  config.teacher_forcing_ratio = 1.0f;  // as do sampling decisions
  Seq2SeqModel model(config, ctx_);
  model.initialize(5);
  ops::ParamStore& store = model.params();
  const std::vector<std::vector<int32_t>> sources{{4, 5, 6, 7, 8, 4}, {8, 4}, {5, 6, 7}};
  const std::vector<std::vector<int32_t>> targets{{4, 5}, {6, 7, 5, 4, 6}, {7}};

  store.zero_grads();
  const ops::LossSum together = model.forward(data::make_batch(sources, targets), 7);
  model.backward(1.0f);
  const std::vector<float> grads_together(store.grads(), store.grads() + store.total_size());

  store.zero_grads();  // per-example gradients accumulate into one buffer
  double loss_alone = 0.0;
  for (size_t i = 0; i < sources.size(); ++i) {
    loss_alone += model.forward(data::make_batch({sources[i]}, {targets[i]}), 7).loss;
    model.backward(1.0f);
  }
  EXPECT_NEAR(together.loss, loss_alone, 1e-5 * std::fabs(loss_alone));
  testing::expect_near_all("gradients", grads_together.data(), store.grads(), grads_together.size(),
                           2e-5);
}

TEST_P(ModelTest, GradientsReportedFinalDoNotChangeAfterwards) {
  Seq2SeqModel model(GetParam().config, ctx_);
  model.initialize(4);
  ops::ParamStore& store = model.params();
  store.zero_grads();
  model.forward(three_pairs(), 9);
  std::vector<std::pair<size_t, std::vector<float>>> snapshots;
  model.backward(1.0f, [&](size_t offset) {
    snapshots.emplace_back(
        offset, std::vector<float>(store.grads() + offset, store.grads() + store.total_size()));
  });
  ASSERT_FALSE(snapshots.empty());
  EXPECT_EQ(snapshots.back().first, 0u);
  for (size_t i = 0; i < snapshots.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(snapshots[i].first, snapshots[i - 1].first);
    }
    const auto& [offset, values] = snapshots[i];
    testing::expect_near_all("gradients after offset " + std::to_string(offset), values.data(),
                             store.grads() + offset, values.size(), 0.0);
  }
}

TEST_P(ModelTest, GreedyDecodingIsIndependentOfBatchOrderAndBatchMates) {
  Seq2SeqModel model(GetParam().config, ctx_);
  model.initialize(3);
  const std::vector<std::vector<int32_t>> sources{{4, 5}, {8, 4, 6, 7, 5}, {5, 6, 7}};
  const auto together = model.greedy_decode(data::make_source_batch(sources), 6);
  ASSERT_EQ(together.size(), 3u);
  for (size_t i = 0; i < sources.size(); ++i)
    EXPECT_EQ(together[i], model.greedy_decode(data::make_source_batch({sources[i]}), 6)[0])
        << "row " << i;
}

TEST_P(ModelTest, EvaluateEqualsTrainingLossWithoutNoise) {
  ModelConfig config = GetParam().config;
  config.dropout = 0.0f;
  config.teacher_forcing_ratio = 1.0f;
  Seq2SeqModel model(config, ctx_);
  model.initialize(8);
  const data::Batch batch = three_pairs();
  const double training = model.forward(batch, 1).loss;
  const double evaluation = model.evaluate(batch).loss;
  EXPECT_NEAR(training, evaluation, 1e-5 * std::fabs(training));
}

INSTANTIATE_TEST_SUITE_P(Architectures, ModelTest, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           return info.param.name;
                         });

// bf16 mixed precision: the same model in bf16 has a loss within 1 % and gradients pointing the
// same way (cosine > 0.99) as in f32, also for a batch of mixed lengths.
TEST(Bf16Model, LossAndGradientsFollowF32) {
  ops::DnnlContext ctx;
  ModelConfig config =
      tiny(ops::CellKind::kLstm, AttentionType::kGeneral, true, DecoderInit::kFinalState, 2, 2);
  config.embedding_size = 16;
  config.hidden_size = 32;
  std::vector<float> grads[2];
  double losses[2];
  for (int k = 0; k < 2; ++k) {
    config.precision = k == 0 ? ops::Precision::kF32 : ops::Precision::kBf16;
    Seq2SeqModel model(config, ctx);
    model.initialize(21);
    model.params().zero_grads();
    losses[k] = model.forward(three_pairs(), 5).loss;
    model.backward(1.0f);
    grads[k].assign(model.params().grads(), model.params().grads() + model.params().total_size());
  }
  EXPECT_NE(losses[1], losses[0]) << "bf16 must really compute in bf16";
  EXPECT_NEAR(losses[1], losses[0], 1e-2 * losses[0]);
  double dot = 0, a2 = 0, b2 = 0;
  for (size_t i = 0; i < grads[0].size(); ++i) {
    dot += grads[0][i] * grads[1][i];
    a2 += grads[0][i] * grads[0][i];
    b2 += grads[1][i] * grads[1][i];
  }
  EXPECT_GT(dot / std::sqrt(a2 * b2), 0.99);
}
}  // namespace
}  // namespace tandem
