#include "trainer/train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

#include "data/atomic_file.h"
#include "ops/errors.h"
#include "trainer/checkpoint/checkpoint.h"

namespace tandem::trainer {
namespace {

namespace fs = std::filesystem;

// "20261130-135012" (UTC), for names that sort by time.
std::string utc_time_text() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &parts);
  return text;
}

std::string host_name() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// "PID HOST" as written by the holder, or "" if it cannot be read.
std::string holder(int fd) {
  char text[300] = {0};
  const ssize_t got = pread(fd, text, sizeof text - 1, 0);
  std::string line(text, got > 0 ? static_cast<size_t>(got) : 0);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const std::string& run_dir) {
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  if (error) throw IoError(run_dir + ": cannot create the run directory (" + error.message() + ")");
  const std::string path = run_dir + "/lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError(path + ": cannot open the run directory's lock (" + std::strerror(errno) + ")");
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int code = errno;
    const std::string who = holder(fd_);
    close(fd_);
    fd_ = -1;
    if (code == EWOULDBLOCK) {
      const size_t space = who.find(' ');
      throw ConfigError("run-dir: " + run_dir + " is in use by " +
                        (who.empty()
                             ? std::string("another process")
                             : "PID " + who.substr(0, space) + " on " +
                                   (space == std::string::npos ? "?" : who.substr(space + 1))) +
                        " (another tandem-train; give another --run-dir or wait for it)");
    }
    throw IoError(path + ": cannot lock (" + std::strerror(code) + ")");
  }
  const std::string me = std::to_string(getpid()) + " " + host_name() + "\n";
  if (ftruncate(fd_, 0) != 0 ||
      pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int code = errno;
    close(fd_);
    throw IoError(path + ": cannot record the lock's holder (" + std::strerror(code) + ")");
  }
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

EarlierRun find_earlier_run(const std::string& run_dir) {
  EarlierRun earlier;
  earlier.run_id = read_run_id(run_dir);
  earlier.checkpoints =
      static_cast<int>(checkpoint_candidates(run_dir + "/" + kCheckpointsFolder, "").size());
  std::error_code error;
  earlier.metrics = fs::exists(run_dir + "/" + kMetricsFile, error);
  return earlier;
}

std::string new_run_id() {
  std::random_device device;
  char random[16];
  std::snprintf(random, sizeof random, "%08x", static_cast<unsigned>(device()));
  return utc_time_text() + "-" + random;
}

void refuse_mixing_runs(const TrainConfig& config, const EarlierRun& earlier) {
  if (config.resume != "none" || config.fresh || !earlier.exists()) return;
  throw ConfigError(
      "resume: --resume none starts a new run, but " + config.run_dir + " holds run " +
      (earlier.run_id.empty() ? std::string("(no run-id)") : earlier.run_id) + " (" +
      std::to_string(earlier.checkpoints) + " checkpoint(s)); add --fresh to move that run into " +
      config.run_dir + "/" + kPreviousRunsFolder + "/ first, or give another --run-dir");
}

std::string decide_run_id(const TrainConfig& config, const EarlierRun& earlier,
                          const std::optional<std::string>& resumed_run_id) {
  const std::string here = config.fresh ? "" : earlier.run_id;
  if (!resumed_run_id || resumed_run_id->empty())  // from scratch, or a file older than run ids
    return here.empty() ? new_run_id() : here;
  if (!here.empty() && *resumed_run_id != here)
    throw ConfigError("resume: " + config.resume + " belongs to run " + *resumed_run_id + ", but " +
                      config.run_dir + " holds run " + here +
                      "; add --fresh to move that run into " + config.run_dir + "/" +
                      kPreviousRunsFolder + "/ first, or give another --run-dir");
  return *resumed_run_id;
}

std::string move_run_aside(const std::string& run_dir, const EarlierRun& earlier) {
  // A run id begins with its run's start time; a run from before run ids gets the time now.
  const std::string base = run_dir + "/" + kPreviousRunsFolder + "/" +
                           (earlier.run_id.empty() ? utc_time_text() + "-unnamed" : earlier.run_id);
  std::string folder = base;
  std::error_code error;
  for (int n = 2; fs::exists(folder, error); ++n) folder = base + "-" + std::to_string(n);
  fs::create_directories(folder, error);
  if (error) throw IoError(folder + ": cannot create (" + error.message() + ")");
  for (const char* name : {kRunIdFile, kConfigFile, kMetricsFile, kCheckpointsFolder}) {
    const std::string from = run_dir + "/" + name;
    if (!fs::exists(fs::symlink_status(from, error))) continue;
    fs::rename(from, folder + "/" + name, error);
    if (error)
      throw IoError(from + ": cannot move it into " + folder + " (" + error.message() + ")");
  }
  data::sync_directory(run_dir);
  return folder;
}

void write_run_id(const std::string& run_dir, const std::string& run_id) {
  data::write_file_atomically(run_dir + "/" + kRunIdFile, run_id + "\n");
}

}  // namespace tandem::trainer
