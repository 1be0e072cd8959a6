// Distributed training step under mpirun -np 2 / -np 3: N ranks equal one rank on the union of
// their batches (with accumulation, with clipping), replicas stay bit-identical, a NaN on one
// rank makes every rank skip, a rank without data does not block the others, and disagreement
// becomes the same error on every rank. Every rank computes the one-rank reference itself.
// With exact sums (--deterministic), N ranks have one rank's bits, and an overflow is skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "data/synthetic.h"
#include "ops/errors.h"
#include "tests/test_utils.h"
#include "trainer/dist/agreement.h"
#include "trainer/dist/exact_sum.h"
#include "trainer/dist/gradient_allreduce.h"
#include "trainer/dist/mpi_world.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/train_step.h"

namespace tandem {
namespace {

trainer::MpiWorld* world = nullptr;

const data::ReversalTask kTask{10, 3, 9, 77};
constexpr int kGlobalBatch =
    12;  // divisible by ranks x micro-batches for 2 and 3 ranks, accum 1 and 2

trainer::ModelConfig tiny_model() {
  trainer::ModelConfig config;
  config.src_vocab_size = config.tgt_vocab_size = kTask.vocab_size();
  config.embedding_size = 8;
  config.hidden_size = 12;
  config.bidirectional_encoder = true;
  config.attention = trainer::AttentionType::kGeneral;
  config.decoder_layers = config.encoder_layers = 2;
  return config;
}

trainer::TrainStepConfig step_config(double clip_norm) {
  trainer::TrainStepConfig config;
  config.learning_rate = 0.01f;
  config.clip_norm = clip_norm;
  config.rank = world->rank();
  return config;
}

// A replica: model, trainer and (for the distributed one) the bucketed all-reduce.
struct Replica {
  ops::DnnlContext ctx;
  trainer::Seq2SeqModel model{tiny_model(), ctx};
  trainer::Trainer trainer;
  std::unique_ptr<trainer::BucketedAllReduce> reducer;
  Replica(double clip_norm, bool distributed) : trainer(model, step_config(clip_norm)) {
    model.initialize(5);
    if (distributed) {
      reducer = std::make_unique<trainer::BucketedAllReduce>(*world, model.params(),
                                                             4096);  // several buckets
      trainer.set_gradient_reducer(reducer.get());
    }
  }
};

class NRanksVsOneRank : public ::testing::TestWithParam<int> {};

TEST_P(NRanksVsOneRank, ParametersEqualAfterStepsOnTheUnionOfBatches) {
  const int accumulation = GetParam(), P = world->size();
  const int per_micro_batch = kGlobalBatch / (P * accumulation);
  Replica distributed(0.05, true), reference(0.05, false);
  for (int step = 0; step < 5; ++step) {
    const uint64_t first = static_cast<uint64_t>(step) * kGlobalBatch;
    std::vector<data::Batch> micro;
    for (int j = 0; j < accumulation; ++j)
      micro.push_back(kTask.batch(
          first + static_cast<uint64_t>((world->rank() * accumulation + j) * per_micro_batch),
          per_micro_batch));
    std::vector<const data::Batch*> pointers;
    for (const data::Batch& batch : micro) pointers.push_back(&batch);
    const trainer::StepResult mine = distributed.trainer.train_step(pointers);
    const trainer::StepResult theirs =
        reference.trainer.train_step(kTask.batch(first, kGlobalBatch));
    ASSERT_FALSE(mine.skipped);
    EXPECT_EQ(mine.global.tokens, theirs.global.tokens);
    EXPECT_NEAR(mine.global.loss, theirs.global.loss, 1e-5 * theirs.global.loss);
    EXPECT_NEAR(mine.grad_norm, theirs.grad_norm, 1e-5 * theirs.grad_norm);
    EXPECT_GT(theirs.grad_norm, 0.05) << "clipping must be active";
  }
  const ops::ParamStore& a = distributed.model.params();
  const ops::ParamStore& b = reference.model.params();
  testing::expect_near_all("parameters", a.values(), b.values(), a.total_size(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Accumulation, NRanksVsOneRank, ::testing::Values(1, 2),
                         [](const auto& info) { return "Accum" + std::to_string(info.param); });

TEST(Distributed, ReplicasAreBitIdenticalAfterEveryStep) {
  Replica replica(1.0, true);
  for (int step = 0; step < 6; ++step) {
    const data::Batch batch = kTask.batch(
        static_cast<uint64_t>(1000 + step * 100 + world->rank() * 10), 3 + world->rank());
    replica.trainer.train_step(batch);
    const auto sums = world->all_gather(trainer::bit_checksum(replica.model.params().values(),
                                                              replica.model.params().total_size()));
    for (uint64_t sum : sums) ASSERT_EQ(sum, sums[0]) << "after step " << step;
  }
}

TEST(Distributed, NonFiniteGradientOnOneRankSkipsTheStepOnEveryRank) {
  Replica replica(1.0, true);
  const int bad_rank = world->size() - 1;
  int64_t poisoned_step = -1;
  replica.trainer.set_gradient_hook([&](ops::ParamStore& store, size_t offset) {
    // The output bias is final first; poison it before its bucket is sent.
    if (world->rank() == bad_rank && replica.trainer.step() == 2 && offset < store.total_size()) {
      store.grads()[store.find("output/bias")->offset + 3] = std::nanf("");
      poisoned_step = 2;
    }
  });
  for (int step = 0; step < 5; ++step) {
    const data::Batch batch =
        kTask.batch(static_cast<uint64_t>(2000 + step * 100 + world->rank() * 10), 4);
    const std::vector<float> before(
        replica.model.params().values(),
        replica.model.params().values() + replica.model.params().total_size());
    const trainer::StepResult result = replica.trainer.train_step(batch);
    const bool changed = std::memcmp(before.data(), replica.model.params().values(),
                                     before.size() * sizeof(float)) != 0;
    if (step == 2) {  // NOLINT(readability-braces-around-statements)
      EXPECT_TRUE(result.skipped) << "rank " << world->rank();
      EXPECT_FALSE(changed) << "parameters moved on a skipped step";
    } else {
      EXPECT_FALSE(result.skipped);
      EXPECT_TRUE(changed);
    }
  }
  for (float v :
       std::vector<float>(replica.model.params().values(),
                          replica.model.params().values() + replica.model.params().total_size()))
    ASSERT_TRUE(std::isfinite(v));
  if (world->rank() == bad_rank) {
    EXPECT_EQ(poisoned_step, 2);
  }
}

TEST(Distributed, RankWithoutDataTakesPartWithoutBlockingTheOthers) {
  Replica distributed(1.0, true), reference(1.0, false);
  // Rank 0 has data for 4 steps, the others for 2: then they feed nothing and must not block.
  for (int step = 0; step < 5; ++step) {
    std::vector<data::Batch> batches;
    const bool has_data = step < (world->rank() == 0 ? 4 : 2);
    if (has_data)
      batches.push_back(
          kTask.batch(static_cast<uint64_t>(3000 + step * 100 + world->rank() * 10), 3));
    std::vector<const data::Batch*> pointers;
    for (const data::Batch& batch : batches) pointers.push_back(&batch);
    const trainer::StepResult result = distributed.trainer.train_step(pointers);
    if (step < 4) {
      EXPECT_FALSE(result.empty);
      // The reference sees the union of the batches that exist this step.
      std::vector<std::vector<int32_t>> sources, targets;
      for (int r = 0; r < world->size(); ++r)
        if (step < (r == 0 ? 4 : 2))
          for (uint64_t i = 0; i < 3; ++i) {
            sources.push_back(kTask.source(static_cast<uint64_t>(3000 + step * 100 + r * 10) + i));
            targets.push_back(kTask.target(static_cast<uint64_t>(3000 + step * 100 + r * 10) + i));
          }
      reference.trainer.train_step(data::make_batch(sources, targets));
    } else {
      EXPECT_TRUE(result.empty) << "no rank had data: the epoch is over everywhere";
    }
  }
  testing::expect_near_all("parameters", distributed.model.params().values(),
                           reference.model.params().values(), reference.model.params().total_size(),
                           1e-5);
}

// --deterministic: a step's micro-batches are one global list; micro-batch i runs on rank
// i mod P, with its position i as noise key, and the sums are exact.
struct ExactReplica {
  ops::DnnlContext ctx;
  trainer::Seq2SeqModel model;
  trainer::Trainer trainer;
  trainer::ExactSum sum;
  ExactReplica(const trainer::MpiWorld* ranks, int step_micro_batches)
      : model(dropout_model(), ctx),
        trainer(model, step_config(1.0)),
        sum(ranks, model.params().total_size(), step_micro_batches) {
    model.initialize(5);
    trainer.set_exact_sum(&sum);
  }
  static trainer::ModelConfig dropout_model() {
    trainer::ModelConfig config = tiny_model();
    config.dropout = 0.3f;
    return config;
  }
  // Micro-batches of step `step` at positions `rank`, `rank + ranks`, ... of `count`.
  trainer::StepResult step(int step, int count, int rank, int ranks) {
    std::vector<data::Batch> batches;
    std::vector<int64_t> positions;
    for (int i = rank; i < count; i += ranks) {
      batches.push_back(kTask.batch(static_cast<uint64_t>(5000 + step * 100 + i * 10),
                                    2 + static_cast<uint64_t>(i % 3)));
      positions.push_back(i);
    }
    std::vector<const data::Batch*> pointers;
    for (const data::Batch& batch : batches) pointers.push_back(&batch);
    return trainer.train_step(pointers, positions);
  }
  std::vector<float> values() const {
    const ops::ParamStore& store = model.params();
    return {store.values(), store.values() + store.total_size()};
  }
};

TEST(Deterministic, NRanksHaveTheBitsOfOneRank) {
  constexpr int kMicroBatches = 5;  // not a multiple of 2 or 3: some ranks take one more
  ExactReplica distributed(world, kMicroBatches), reference(nullptr, kMicroBatches);
  for (int step = 0; step < 6; ++step) {
    const trainer::StepResult mine =
        distributed.step(step, kMicroBatches, world->rank(), world->size());
    const trainer::StepResult theirs = reference.step(step, kMicroBatches, 0, 1);
    ASSERT_FALSE(mine.skipped);
    EXPECT_EQ(mine.global.tokens, theirs.global.tokens);
    EXPECT_EQ(mine.global.loss, theirs.global.loss) << "step " << step;
    EXPECT_EQ(mine.grad_norm, theirs.grad_norm) << "step " << step;
    ASSERT_TRUE(distributed.values() == reference.values())
        << "parameters differ after step " << step;
  }
  // The optimizer state too.
  EXPECT_TRUE(distributed.trainer.optimizer().second_moment() ==
              reference.trainer.optimizer().second_moment());
}

TEST(Deterministic, AnOverflowOnOneRankIsSkippedEverywhereAndLowersTheScale) {
  constexpr int kMicroBatches = 4;
  ExactReplica replica(world, kMicroBatches);
  const int bad_rank = world->size() - 1;
  replica.trainer.set_gradient_hook([&](ops::ParamStore& store, size_t) {
    if (world->rank() == bad_rank && replica.trainer.step() == 2)
      store.grads()[store.find("output/bias")->offset + 3] = 1e30f;  // finite, far too large
  });
  for (int step = 0; step < 5; ++step) {
    const std::vector<float> before = replica.values();
    const trainer::StepResult result =
        replica.step(step, kMicroBatches, world->rank(), world->size());
    if (step == 2) {
      EXPECT_TRUE(result.skipped && result.overflow) << "rank " << world->rank();
      EXPECT_TRUE(replica.values() == before) << "parameters moved on a skipped step";
    } else {
      EXPECT_FALSE(result.skipped) << "step " << step;
      EXPECT_FALSE(replica.values() == before) << "step " << step;
    }
    EXPECT_EQ(replica.sum.scale_bits(), trainer::ExactSum::kDefaultScaleBits -
                                            (step >= 2 ? trainer::ExactSum::kScaleBitsStep : 0));
  }
  const ops::ParamStore& store = replica.model.params();
  const auto sums = world->all_gather(trainer::bit_checksum(store.values(), store.total_size()));
  for (uint64_t sum : sums) EXPECT_EQ(sum, sums[0]);
}

TEST(Distributed, DisagreementIsTheSameErrorOnEveryRank) {
  std::string text = "cell = lstm\nhidden_size = 32\nvocab_checksum = abc\n";
  if (world->rank() == 1) text = "cell = lstm\nhidden_size = 64\nvocab_checksum = abc\n";
  const std::string message = testing::error_message<DistributedError>(
      [&] { trainer::require_agreement(*world, "configuration", text); });
  EXPECT_NE(message.find("hidden_size"), std::string::npos) << message;
  EXPECT_NE(message.find("'64' on rank 1"), std::string::npos) << message;
  for (const std::string& other : world->all_gather(message)) EXPECT_EQ(other, message);
  trainer::require_agreement(*world, "configuration", "same everywhere\n");  // no error
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) {
  tandem::trainer::MpiWorld world(&argc, &argv);
  tandem::world = &world;
  ::testing::InitGoogleTest(&argc, argv);
  if (world.rank() != 0) {  // one report; failures on any rank still fail the run
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  std::vector<double> failures{static_cast<double>(failed != 0)};
  world.sum(failures);
  if (world.rank() == 0 && failures[0] > 0)
    std::fprintf(stderr, "distributed_test: %g rank(s) failed\n", failures[0]);
  return failures[0] > 0 ? 1 : 0;
}
