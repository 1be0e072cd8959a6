// A checkpoint directory: file names by step, the `latest` and `best` pointers, pruning, and
// finding the file to resume from or decode with.
// Constraints that shaped it:
// 1. Written once per model, by rank 0: replicas are bit-identical (checked), Debian's HDF5 is
//    serial, and one writer never contends with itself on a shared file system.
// 2. A kill at any moment leaves either the old or the new state: the file is written under a
//    temporary name, fsync'ed and renamed, the directory fsync'ed, and only then is `latest`
//    replaced the same way. Older files are deleted last.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/atomic_file.h"
#include "ops/errors.h"
#include "trainer/checkpoint/checkpoint.h"

namespace tandem::trainer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLatest = "latest";  // persisted pointer file names
constexpr const char* kBest = "best";

std::string file_name(int64_t step) {
  char name[40];
  std::snprintf(name, sizeof name, "ckpt.%09lld.h5", static_cast<long long>(step));
  return name;
}

// The step of "ckpt.<step>.h5", or -1.
int64_t step_of(const std::string& name) {
  long long step = -1;
  char tail[8] = {0};
  if (std::sscanf(name.c_str(), "ckpt.%lld.%3s", &step, tail) != 2 || std::string(tail) != "h5" ||
      name != file_name(step))
    return -1;
  return step;
}

// The checkpoint file name a pointer names, or "" when the pointer is missing or does not hold
// a checkpoint file name (a damaged pointer is ignored: the files themselves are the truth).
std::string read_pointer(const std::string& directory, const char* pointer) {
  const std::string path = directory + "/" + pointer;
  std::error_code error;
  if (!fs::is_regular_file(path, error) || fs::file_size(path, error) > 64) return "";
  std::string name = data::read_file(path);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return step_of(name) >= 0 ? name : "";
}

// Keeps the newest `keep` checkpoints plus whatever `latest` and `best` name (and `written`);
// removes temp files a killed writer left. Only files named like a checkpoint are touched.
void prune(const std::string& directory, const std::string& written, int keep) {
  std::error_code error;
  const std::string best = read_pointer(directory, kBest);
  std::vector<std::pair<int64_t, std::string>> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string file = entry.path().filename().string();
    if (step_of(file) >= 0) files.emplace_back(step_of(file), file);
    // Left by a process killed while writing: never named by a pointer, safe to remove.
    if (file.size() > 7 && file.compare(file.size() - 7, 7, ".h5.tmp") == 0 &&
        step_of(file.substr(0, file.size() - 4)) >= 0)
      fs::remove(entry.path(), error);
  }
  std::sort(files.rbegin(), files.rend());
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < files.size(); ++i)
    if (files[i].second != best && files[i].second != written)
      fs::remove(directory + "/" + files[i].second, error);
}

}  // namespace

std::string save_checkpoint(const std::string& directory, const ops::ParamStore& params,
                            ops::Optimizer& optimizer, const TrainingState& state,
                            const CheckpointIdentity& identity, bool is_best, int keep) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error)
    throw IoError(directory + ": cannot create the checkpoint directory (" + error.message() + ")");
  const std::string name = file_name(state.step);
  const std::string path = directory + "/" + name;
  const auto& first = optimizer.first_moment();
  const auto& second = optimizer.second_moment();
  const Moments moments = {std::vector<float>(first.begin(), first.end()),
                           std::vector<float>(second.begin(), second.end())};
  const std::string image = checkpoint_image(path, params, moments, state, identity);
  data::write_file_atomically(path, image);
  data::write_file_atomically(directory + "/" + kLatest, name + "\n");
  if (is_best) data::write_file_atomically(directory + "/" + kBest, name + "\n");

  prune(directory, name, keep);
  return name;
}

std::vector<std::string> checkpoint_candidates(const std::string& directory) {
  std::vector<std::string> candidates;
  if (!fs::is_directory(directory)) return candidates;
  const std::string latest = read_pointer(directory, kLatest);
  if (!latest.empty() && fs::exists(directory + "/" + latest))
    candidates.push_back(directory + "/" + latest);
  std::vector<std::pair<int64_t, std::string>> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string file = entry.path().filename().string();
    if (step_of(file) >= 0 && file != latest) files.emplace_back(step_of(file), file);
  }
  std::sort(files.rbegin(), files.rend());
  for (const auto& file : files) candidates.push_back(directory + "/" + file.second);
  return candidates;
}

std::string resolve_checkpoint(const std::string& path, bool prefer_best) {
  if (fs::is_regular_file(path)) return path;
  if (!fs::is_directory(path)) throw IoError(path + ": no such checkpoint file or directory");
  const std::string directory =
      fs::is_directory(path + "/checkpoints") ? path + "/checkpoints" : path;
  for (const char* pointer : {kBest, kLatest}) {
    if (pointer == kBest && !prefer_best) continue;
    const std::string name = read_pointer(directory, pointer);
    if (!name.empty() && fs::exists(directory + "/" + name)) return directory + "/" + name;
  }
  const std::vector<std::string> candidates = checkpoint_candidates(directory);
  if (candidates.empty()) throw IoError(directory + ": no checkpoint in this directory");
  return candidates.front();
}

}  // namespace tandem::trainer
