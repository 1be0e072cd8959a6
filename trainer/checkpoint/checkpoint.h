// Checkpoints: one HDF5 file per save with everything an exact resume needs (every parameter as
// its own dataset, optimizer moments, counters, schedule state, every rank's loader cursor, the
// configuration, vocabulary checksums, a content checksum), written atomically; a `latest`
// pointer replaced atomically after it; the last K kept plus the best by validation.
// The schema is documented in docs/checkpoints.md; every name here is persisted.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/h5.h"
#include "ops/optimizer.h"
#include "ops/param_store.h"
#include "trainer/checkpoint/training_state.h"

namespace tandem::trainer {

constexpr int64_t kCheckpointFormatVersion = 1;

// What identifies the run a checkpoint belongs to.
struct CheckpointIdentity {
  std::string model_config;  // "key = value" lines of the ModelConfig (architecture)
  std::string run_config;    // the full effective configuration (informational)
  std::string src_vocab_checksum, tgt_vocab_checksum;
  std::string optimizer;  // optimizer kind name
  std::string run_id;     // the run that wrote it ("" in files from before run identities)
  std::string build;      // the tandem that wrote it (ops/build_info.h; "" in older files)
};

// Writes <directory>/ckpt.<step>.h5 (temp file, fsync, rename, directory fsync), then points
// <directory>/latest at it (same way); with is_best also <directory>/best. Keeps the newest
// `keep` checkpoints of identity.run_id's run plus the best one, deleting older files of that
// run only (never another run's) after the new one is in place. IoError naming the file (e.g. disk
// full) leaves previous checkpoints and pointers untouched. Returns the file name written.
std::string save_checkpoint(const std::string& directory, const ops::ParamStore& params,
                            ops::Optimizer& optimizer, const TrainingState& state,
                            const CheckpointIdentity& identity, bool is_best, int keep);

// The optimizer's first and second moments, flat in the ParamStore layout (empty: none).
using Moments = std::array<std::vector<float>, 2>;
// The moments as they lie in the optimizer (a save writes them without a copy).
struct FloatSpan {
  const float* data = nullptr;
  size_t size = 0;
};
using MomentViews = std::array<FloatSpan, 2>;
MomentViews views_of(const Moments& moments);

// Writes one checkpoint file at `path` (temporary file, fsync, rename, directory fsync; a
// failure leaves `path` as it was and throws IoError/FormatError naming it).
void write_checkpoint_file(const std::string& path, const ops::ParamStore& params,
                           const MomentViews& moments, const TrainingState& state,
                           const CheckpointIdentity& identity);

struct LoadedCheckpoint {
  std::string path, run_id;
  TrainingState state;
  std::vector<float> values, first_moment, second_moment;  // flat, in the ParamStore layout
};

// Why a checkpoint file cannot be used: corrupt or unreadable (try an older one), or made for
// another model/vocabulary (an error: an older one would not fit either).
struct CheckpointProblem {
  bool incompatible = false;
  std::string message;
};

// Reads and verifies one file against the current model and vocabularies: structure, format
// version, content checksum, parameter names and shapes, vocabulary checksums.
// Returns the problem instead of the checkpoint when it cannot be used.
std::optional<LoadedCheckpoint> load_checkpoint(const std::string& path,
                                                const ops::ParamStore& params,
                                                const CheckpointIdentity& identity,
                                                CheckpointProblem& problem);

// Checkpoint files of run `run_id` in a directory, newest (highest step) first; `latest`'s
// target first. A file whose run id cannot be read is kept (loading it reports the problem);
// files from before run identities count as any run's.
std::vector<std::string> checkpoint_candidates(const std::string& directory,
                                               const std::string& run_id);

// The newest `count` checkpoints (by step) of the run in a run directory or checkpoint directory.
// IoError naming the path if it holds none.
std::vector<std::string> newest_checkpoints(const std::string& path, int count);

// A checkpoint file to decode with: `path` itself if it is a file; for a checkpoint directory
// (or a run directory holding checkpoints/) the file its `best` pointer names, else `latest`'s
// (with prefer_best false: `latest` only), of the run the directory holds (its run-id file, else
// `latest`'s run): a pointer to another run's file is passed over with a note on stderr.
// IoError naming the path if there is none.
std::string resolve_checkpoint(const std::string& path, bool prefer_best);

// <run_dir>/run-id: which run a run directory holds ("" if the file does not exist).
// FormatError naming the file if it is not a run id.
constexpr const char* kRunIdFile = "run-id";
std::string read_run_id(const std::string& run_dir);
// Whether `text` has the shape of a run id (letters, digits, '-', 1..64 characters).
bool valid_run_id(const std::string& text);

// A checkpoint's identity and step from its attributes alone: cheap, not verified (load_checkpoint
// verifies). FormatError naming the file if it is not a tandem checkpoint.
CheckpointIdentity read_checkpoint_identity(const std::string& path, int64_t* step = nullptr);

// Parses the text of a run configuration (model part) from a checkpoint, for tools.
struct CheckpointSummary {
  int64_t format_version = 0, step = 0, epoch = 0, ranks = 0;
  CheckpointIdentity identity;
  std::string checksum;
  std::string state;  // describe() of the training state
  struct Parameter {
    std::string name;
    std::vector<int64_t> shape;
    double norm = 0;
  };
  std::vector<Parameter> parameters;
  bool verified = false;  // the content checksum matches what was read
};
// Reads what tandem-inspect prints (FormatError naming the file if it is not a checkpoint).
CheckpointSummary summarize_checkpoint(const std::string& path);

// A checkpoint as stored, without a model to check it against: its parameters in a ParamStore
// rebuilt from the file's names and shapes (the trainer's flat layout), moments, state, identity,
// and whether the content checksum matches. FormatError naming the file if it is not one.
struct StoredCheckpoint {
  std::string path, checksum;
  int64_t format_version = 0;
  CheckpointIdentity identity;
  TrainingState state;
  std::unique_ptr<ops::ParamStore> params;
  Moments moments;
  bool verified = false;
};
StoredCheckpoint read_stored_checkpoint(const std::string& path);

// Averages the parameters of checkpoints of one model and run setup (same parameter names and
// shapes, model configuration and vocabularies; ConfigError naming the file that differs, and
// FormatError for one that does not verify) and writes `output` as a normal checkpoint: the
// mean parameters with the newest input's moments, state and identity, so it decodes, inspects
// and resumes like any other. Written atomically, then read back and verified. Refuses (IoError)
// to replace an existing file. Returns the newest input's path.
std::string average_checkpoints(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace tandem::trainer
