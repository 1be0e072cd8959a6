// A run directory belongs to one running tandem-train: an exclusive lock (flock) on
// <run_dir>/lock, held for the whole run, that records who holds it. A second start on the same
// directory is refused naming the holder, instead of two runs mixing checkpoints and metrics.
#pragma once

#include <string>

namespace tandem::trainer {

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

}  // namespace tandem::trainer
