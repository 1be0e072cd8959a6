#include "trainer/train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ops/errors.h"

namespace tandem::trainer {
namespace {

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

}  // namespace tandem::trainer
