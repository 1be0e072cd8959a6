// Checkpoint files and directories in the spirit of leveldb's corruption_test: a file written
// and read back holds what was saved; a byte flipped inside the parameters, a truncated file or
// a file of another model is refused with the file named (never loaded); `latest` names the
// newest and pruning keeps K plus the best, of one run only.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ops/errors.h"
#include "ops/optimizer.h"
#include "tests/test_utils.h"
#include "trainer/checkpoint/checkpoint.h"

namespace tandem {
namespace {

using trainer::CheckpointIdentity;
using trainer::CheckpointProblem;
using trainer::TrainingState;

constexpr float kMarker = 1234.5f;  // a value planted in the parameters, to find its bytes

// A small parameter store (two tensors), its optimizer and a state at `step`.
struct Fixture {
  ops::ParamStore params;
  ops::Optimizer optimizer;
  TrainingState state;
  CheckpointIdentity identity{"cell = lstm\n", "lr = 0.001\n", "src",       "tgt",
                              "adam",          "run-a",        "test build"};

  explicit Fixture(int64_t rows = 3) : optimizer(make_optimizer(params, rows)) {
    // Parameter values in the tensors (the store's padding between them stays zero).
    for (const ops::ParamView& view : params.params())
      for (size_t i = 0; i < view.size; ++i) view.value[i] = 0.25f * float(view.offset + i);
    params.values()[1] = kMarker;
    for (size_t i = 0; i < params.total_size(); ++i) optimizer.first_moment()[i] = float(i);
    optimizer.set_step_count(7);
    state.cursors = {{1, 2, 3}};
  }
  static ops::Optimizer make_optimizer(ops::ParamStore& store, int64_t rows) {
    store.declare("encoder/l0/weights_layer", {rows, 4}, {});
    store.declare("output/bias", {5}, {});
    store.finalize();
    ops::OptimizerConfig config;
    config.kind = ops::OptimizerKind::kAdam;
    return ops::Optimizer(config, store.total_size());
  }
  std::string save(const std::string& directory, int64_t step, bool best = false, int keep = 3) {
    state.step = step;
    return directory + "/" +
           trainer::save_checkpoint(directory, params, optimizer, state, identity, best, keep);
  }
  std::optional<trainer::LoadedCheckpoint> load(const std::string& path,
                                                CheckpointProblem& problem) const {
    return trainer::load_checkpoint(path, params, identity, problem);
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Checkpoint, LoadReturnsWhatWasSaved) {
  testing::TempDir dir;
  Fixture fixture;
  fixture.state.plateau_scale = 0.5;
  const std::string path = fixture.save(dir.path(), 12);
  CheckpointProblem problem;
  const auto loaded = fixture.load(path, problem);
  ASSERT_TRUE(loaded) << problem.message;
  EXPECT_EQ(loaded->state, fixture.state);
  EXPECT_EQ(loaded->values,
            std::vector<float>(fixture.params.values(),
                               fixture.params.values() + fixture.params.total_size()));
  EXPECT_EQ(loaded->first_moment[3], 3.0f);
  EXPECT_TRUE(trainer::summarize_checkpoint(path).verified);
}

TEST(Checkpoint, FlippedParameterByteIsRefusedNamingTheFile) {
  testing::TempDir dir;
  Fixture fixture;
  const std::string path = fixture.save(dir.path(), 5);
  std::string bytes = read_bytes(path);
  char marker[sizeof kMarker];
  std::memcpy(marker, &kMarker, sizeof kMarker);
  const size_t at = bytes.find(std::string(marker, sizeof marker));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] ^= 0x10;
  testing::write_text(path, bytes);
  CheckpointProblem problem;
  EXPECT_FALSE(fixture.load(path, problem));
  EXPECT_FALSE(problem.incompatible) << "a corrupt file: an older one may be tried";
  EXPECT_EQ(problem.message.rfind(path + ": content checksum mismatch", 0), 0u) << problem.message;
  EXPECT_FALSE(trainer::summarize_checkpoint(path).verified);
}

TEST(Checkpoint, TruncatedFileIsRefusedNamingTheFile) {
  testing::TempDir dir;
  Fixture fixture;
  const std::string path = fixture.save(dir.path(), 5);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  CheckpointProblem problem;
  EXPECT_FALSE(fixture.load(path, problem));
  EXPECT_FALSE(problem.incompatible);
  EXPECT_NE(problem.message.find(path), std::string::npos) << problem.message;
}

TEST(Checkpoint, AnotherModelIsIncompatibleNotCorrupt) {
  testing::TempDir dir;
  Fixture small(3), large(4);
  const std::string path = small.save(dir.path(), 5);
  CheckpointProblem problem;
  EXPECT_FALSE(large.load(path, problem));
  EXPECT_TRUE(problem.incompatible);
  EXPECT_NE(problem.message.find("encoder/l0/weights_layer has shape [3,4], the model [4,4]"),
            std::string::npos)
      << problem.message;
}

TEST(Checkpoint, AnotherVocabularyIsIncompatible) {
  testing::TempDir dir;
  Fixture fixture;
  const std::string path = fixture.save(dir.path(), 5);
  fixture.identity.tgt_vocab_checksum = "other";
  CheckpointProblem problem;
  EXPECT_FALSE(fixture.load(path, problem));
  EXPECT_TRUE(problem.incompatible);
  EXPECT_NE(problem.message.find("tgt_vocab_checksum"), std::string::npos) << problem.message;
}

TEST(Checkpoint, NotACheckpointIsAFormatProblem) {
  testing::TempDir dir;
  Fixture fixture;
  testing::write_text(dir.file("ckpt.000000001.h5"), "random bytes, not HDF5");
  CheckpointProblem problem;
  EXPECT_FALSE(fixture.load(dir.file("ckpt.000000001.h5"), problem));
  EXPECT_FALSE(problem.incompatible);
}

TEST(CheckpointDirectory, LatestFirstThenNewerStepsAndPruningKeepsBest) {
  testing::TempDir dir;
  Fixture fixture;
  fixture.save(dir.path(), 10, /*best=*/true, 2);
  fixture.save(dir.path(), 20, false, 2);
  fixture.save(dir.path(), 30, false, 2);
  fixture.save(dir.path(), 40, false, 2);
  const std::vector<std::string> candidates = trainer::checkpoint_candidates(dir.path(), "run-a");
  ASSERT_EQ(candidates.size(), 3u);  // 40, 30 (keep 2) and the best, 10
  EXPECT_EQ(candidates[0], dir.file("ckpt.000000040.h5"));
  EXPECT_EQ(candidates[1], dir.file("ckpt.000000030.h5"));
  EXPECT_EQ(candidates[2], dir.file("ckpt.000000010.h5"));
  EXPECT_EQ(trainer::resolve_checkpoint(dir.path(), true), dir.file("ckpt.000000010.h5"));
  EXPECT_EQ(trainer::resolve_checkpoint(dir.path(), false), dir.file("ckpt.000000040.h5"));
}

TEST(CheckpointDirectory, ADamagedLatestPointerIsIgnoredNotFatal) {
  testing::TempDir dir;
  Fixture fixture;
  fixture.save(dir.path(), 10);
  fixture.save(dir.path(), 20);
  std::string garbage(1024, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37 % 256);
  testing::write_text(dir.file("latest"), garbage);
  const std::vector<std::string> candidates = trainer::checkpoint_candidates(dir.path(), "run-a");
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0], dir.file("ckpt.000000020.h5"));
  EXPECT_EQ(trainer::resolve_checkpoint(dir.path(), false), dir.file("ckpt.000000020.h5"));
}

TEST(Checkpoint, TheRunIdIsStoredAndReadBack) {
  testing::TempDir dir;
  Fixture fixture;
  CheckpointProblem problem;
  const auto loaded = fixture.load(fixture.save(dir.path(), 5), problem);
  ASSERT_TRUE(loaded) << problem.message;
  EXPECT_EQ(loaded->run_id, "run-a");
  EXPECT_EQ(trainer::read_checkpoint_identity(dir.file("ckpt.000000005.h5")).run_id, "run-a");
}

// Two runs in one directory (as a directory from before run identities, or one a user filled
// by hand, may hold): each run prunes only its own files, and never counts the other's.
TEST(CheckpointDirectory, PruningAndCandidatesKeepToOneRun) {
  testing::TempDir dir;
  Fixture fixture;
  fixture.save(dir.path(), 100, false, 2);
  fixture.save(dir.path(), 200, false, 2);
  fixture.identity.run_id = "run-b";
  for (int64_t step : {5, 6, 7}) fixture.save(dir.path(), step, false, 2);
  EXPECT_TRUE(std::filesystem::exists(dir.file("ckpt.000000100.h5")));  // run-a's: untouched
  EXPECT_TRUE(std::filesystem::exists(dir.file("ckpt.000000200.h5")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("ckpt.000000005.h5")));  // run-b keeps 2
  const std::vector<std::string> b = trainer::checkpoint_candidates(dir.path(), "run-b");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], dir.file("ckpt.000000007.h5"));
  EXPECT_EQ(b[1], dir.file("ckpt.000000006.h5"));
  const std::vector<std::string> a = trainer::checkpoint_candidates(dir.path(), "run-a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], dir.file("ckpt.000000200.h5"));
}

// `best` left by another run is passed over: decoding uses the run-dir's own run's files.
TEST(CheckpointDirectory, ResolveIgnoresAnotherRunsBest) {
  testing::TempDir dir;
  const std::string checkpoints = dir.file("checkpoints");
  Fixture fixture;
  fixture.save(checkpoints, 100, /*best=*/true);
  fixture.identity.run_id = "run-b";
  fixture.save(checkpoints, 5);
  fixture.save(checkpoints, 6);
  EXPECT_EQ(trainer::resolve_checkpoint(dir.path(), true), checkpoints + "/ckpt.000000006.h5");
  testing::write_text(dir.file("run-id"), "run-a\n");  // the run-id file decides when present
  EXPECT_EQ(trainer::resolve_checkpoint(dir.path(), true), checkpoints + "/ckpt.000000100.h5");
  EXPECT_EQ(trainer::resolve_checkpoint(checkpoints, true), checkpoints + "/ckpt.000000100.h5");
}

TEST(CheckpointDirectory, ADamagedRunIdFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  EXPECT_EQ(trainer::read_run_id(dir.path()), "");
  testing::write_text(dir.file("run-id"), "not/a run id\n");
  const std::string message =
      testing::error_message<FormatError>([&] { trainer::read_run_id(dir.path()); });
  EXPECT_EQ(message.find(dir.file("run-id") + ": not a run id"), 0u) << message;
}

// Averaging: the mean of known checkpoints' parameters, written as a checkpoint that loads and
// verifies, with the newest input's state; never over an existing file; one model only.
TEST(CheckpointAverage, TheMeanOfKnownCheckpointsLoadsAndVerifies) {
  testing::TempDir dir;
  Fixture fixture;
  std::vector<std::string> inputs;
  std::vector<std::vector<float>> values;
  for (int64_t step : {30, 10, 20}) {  // the newest is not first
    for (size_t i = 0; i < fixture.params.total_size(); ++i)
      if (fixture.params.values()[i] != 0.0f) fixture.params.values()[i] += float(step) / 8;
    values.emplace_back(fixture.params.values(),
                        fixture.params.values() + fixture.params.total_size());
    inputs.push_back(fixture.save(dir.path(), step, false, 10));
  }
  const std::string output = dir.file("average.h5");
  EXPECT_EQ(trainer::average_checkpoints(inputs, output), dir.file("ckpt.000000030.h5"));
  CheckpointProblem problem;
  const auto loaded = fixture.load(output, problem);
  ASSERT_TRUE(loaded) << problem.message;
  for (size_t i = 0; i < values[0].size(); ++i)
    EXPECT_FLOAT_EQ(loaded->values[i], (values[0][i] + values[1][i] + values[2][i]) / 3) << i;
  EXPECT_EQ(loaded->state.step, 30);
  EXPECT_EQ(loaded->run_id, "run-a");

  const std::string exists =
      testing::error_message<IoError>([&] { trainer::average_checkpoints(inputs, output); });
  EXPECT_NE(exists.find(output + ": exists"), std::string::npos) << exists;
  EXPECT_EQ(
      trainer::newest_checkpoints(dir.path(), 2),
      (std::vector<std::string>{dir.file("ckpt.000000030.h5"), dir.file("ckpt.000000020.h5")}));
}

TEST(CheckpointAverage, AnotherModelIsRefusedNamingTheFile) {
  testing::TempDir dir;
  Fixture fixture;
  Fixture other(/*rows=*/4);
  const std::string a = fixture.save(dir.file("a"), 10);
  const std::string b = other.save(dir.file("b"), 10);
  const std::string message = testing::error_message<ConfigError>([&] {
    trainer::average_checkpoints({a, b}, dir.file("average.h5"));
  });
  EXPECT_NE(message.find(b), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.file("average.h5")));
}

TEST(Checkpoint, ADirectoryIsNotACheckpointFile) {
  testing::TempDir dir;
  Fixture fixture;
  CheckpointProblem problem;
  EXPECT_FALSE(fixture.load(dir.path(), problem));
  EXPECT_EQ(problem.message, dir.path() + ": is a directory, not a checkpoint file");
}

TEST(CheckpointDirectory, AnEmptyDirectoryIsAnErrorNamingIt) {
  testing::TempDir dir;
  const std::string message =
      testing::error_message<IoError>([&] { trainer::resolve_checkpoint(dir.path(), true); });
  EXPECT_NE(message.find(dir.path()), std::string::npos) << message;
}

}  // namespace
}  // namespace tandem
