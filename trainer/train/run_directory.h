// A run directory belongs to one run.
// 1. One process at a time: an exclusive lock (flock) on <run_dir>/lock, held for the whole run,
//    that records who holds it. A second start on the same directory is refused naming the
//    holder, instead of two runs mixing checkpoints and metrics.
// 2. One run at a time: <run_dir>/run-id names the run whose files the directory holds (the id is
//    also in every checkpoint and metrics record), so resume, pruning, `latest`/`best` and
//    tandem-translate never mix two runs. A new run where another one lives is refused unless
//    --fresh, which moves the earlier run's files aside (never deletes them).
// The rules for users are in docs/checkpoints.md.
#pragma once

#include <optional>
#include <string>

#include "trainer/train/train_config.h"

namespace tandem::trainer {

// The files and folders of a run in its directory (besides the lock and the heartbeat).
constexpr const char* kConfigFile = "config.ini";
constexpr const char* kMetricsFile = "metrics.jsonl";
constexpr const char* kCheckpointsFolder = "checkpoints";
constexpr const char* kPreviousRunsFolder = "previous";  // where --fresh moves an earlier run

class RunDirectoryLock {
 public:
  // Creates the directory if needed and takes the lock. ConfigError "run-dir: DIR is in use by
  // PID N on HOST" when another process holds it; IoError if the lock file cannot be made.
  explicit RunDirectoryLock(const std::string& run_dir);
  ~RunDirectoryLock();  // releases the lock (the file stays: it is the run's)
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// What a run directory holds of an earlier run.
struct EarlierRun {
  std::string run_id;   // from its run-id file ("" if none: no run, or one from before run ids)
  int checkpoints = 0;  // checkpoint files in checkpoints/
  bool metrics = false;
  bool exists() const { return !run_id.empty() || checkpoints > 0 || metrics; }
};
EarlierRun find_earlier_run(const std::string& run_dir);

// "20261130-135012-3f9a2c1d": the UTC start time and 32 random bits.
std::string new_run_id();

// Start-up check: ConfigError for a new run (--resume none) where an earlier run lives, unless
// --fresh.
void refuse_mixing_runs(const TrainConfig& config, const EarlierRun& earlier);

// The run this start belongs to, given the checkpoint it resumes from (its run id; nullopt when
// it starts from scratch): a resumed run keeps its id, a new one gets a new id. ConfigError for
// a --resume FILE of another run than the directory's, unless --fresh.
std::string decide_run_id(const TrainConfig& config, const EarlierRun& earlier,
                          const std::optional<std::string>& resumed_run_id);

// Moves the earlier run's files (run-id, config.ini, metrics.jsonl, checkpoints/) into
// <run_dir>/previous/<its run id>/ (the id starts with the run's start time; one from before run
// ids goes to previous/<now>-unnamed/) and returns that folder. IoError naming what
// could not be moved.
std::string move_run_aside(const std::string& run_dir, const EarlierRun& earlier);

// Writes <run_dir>/run-id atomically.
void write_run_id(const std::string& run_dir, const std::string& run_id);

}  // namespace tandem::trainer
