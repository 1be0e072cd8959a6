#include "data/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ops/errors.h"

namespace tandem::data {
namespace {

[[noreturn]] void io_error(const std::string& path, const std::string& what) {
  throw IoError(path + ": " + what + " (" + std::strerror(errno) + ")");
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) io_error(path, "cannot open to sync");
  const int status = ::fsync(fd);
  ::close(fd);
  if (status != 0) io_error(path, "cannot sync to disk");
}

}  // namespace

void sync_directory(const std::string& directory) {
  fsync_path(directory.empty() ? "." : directory, true);
}

std::string temporary_path(const std::string& path) {
  return path + ".tmp";
}

void commit_file(const std::string& path) {
  const std::string temporary = temporary_path(path);
  try {
    fsync_path(temporary, false);
    if (std::rename(temporary.c_str(), path.c_str()) != 0)
      io_error(path, "cannot rename the temporary file into place");
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  sync_directory(std::filesystem::path(path).parent_path().string());
}

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string temporary = temporary_path(path);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) io_error(path, "cannot create the temporary file");
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      std::remove(temporary.c_str());
      errno = saved;
      io_error(path, "cannot write");
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    std::remove(temporary.c_str());
    io_error(path, "cannot write");
  }
  commit_file(path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error(path, "cannot open");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) io_error(path, "cannot read");
  return content.str();
}

}  // namespace tandem::data
