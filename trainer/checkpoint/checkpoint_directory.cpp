// A checkpoint directory: file names by step, the `latest` and `best` pointers, pruning, and
// finding the file to resume from or decode with.
// Constraints that shaped it:
// 1. Written once per model, by rank 0: replicas are bit-identical (checked), Debian's HDF5 is
//    serial, and one writer never contends with itself on a shared file system.
// 2. A kill at any moment leaves either the old or the new state: the file is written under a
//    temporary name, fsync'ed and renamed, the directory fsync'ed, and only then is `latest`
//    replaced the same way. Older files are deleted last.
#include <algorithm>
#include <cctype>
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

// The run id of a checkpoint file; nullopt when the file cannot be read as a checkpoint.
std::optional<std::string> run_of(const std::string& path) {
  try {
    return read_checkpoint_identity(path).run_id;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Whether a file may be one of run `run_id`'s: its id says so, it predates run ids, or it cannot
// be read (loading it will say why); with run_id "" every file may.
bool may_belong(const std::string& path, const std::string& run_id) {
  if (run_id.empty()) return true;  // no need to open the file
  const std::optional<std::string> found = run_of(path);
  return !found || found->empty() || *found == run_id;
}

// Checkpoint files in a directory as (step, name), highest step first.
std::vector<std::pair<int64_t, std::string>> files_by_step(const std::string& directory) {
  std::vector<std::pair<int64_t, std::string>> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string file = entry.path().filename().string();
    if (step_of(file) >= 0) files.emplace_back(step_of(file), file);
  }
  std::sort(files.rbegin(), files.rend());
  return files;
}

// Keeps the newest `keep` checkpoints of run `run_id` plus whatever `best` names (and
// `written`); removes temp files a killed writer left. Only checkpoint files that are provably
// this run's are deleted: another run's, an unreadable one or one without a run id stay.
void prune(const std::string& directory, const std::string& written, int keep,
           const std::string& run_id) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string file = entry.path().filename().string();
    // Left by a process killed while writing: never named by a pointer, safe to remove.
    if (file.size() > 7 && file.compare(file.size() - 7, 7, ".h5.tmp") == 0 &&
        step_of(file.substr(0, file.size() - 4)) >= 0)
      fs::remove(entry.path(), error);
  }
  const std::string best = read_pointer(directory, kBest);
  int kept = 0;
  for (const auto& [step, file] : files_by_step(directory)) {
    if (run_of(directory + "/" + file) != std::optional<std::string>(run_id)) continue;
    if (++kept > std::max(keep, 1) && file != best && file != written)
      fs::remove(directory + "/" + file, error);
  }
}

// The run directory a checkpoint directory belongs to ("" if it is not <run-dir>/checkpoints).
std::string run_directory_of(const std::string& directory) {
  const fs::path path = fs::path(directory).lexically_normal();
  const fs::path name = path.has_filename() ? path.filename() : path.parent_path().filename();
  if (name != "checkpoints") return "";
  return (path.has_filename() ? path.parent_path() : path.parent_path().parent_path()).string();
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
  const MomentViews moments = {FloatSpan{first.data(), first.size()},
                               FloatSpan{second.data(), second.size()}};
  write_checkpoint_file(path, params, moments, state, identity);
  data::write_file_atomically(directory + "/" + kLatest, name + "\n");
  if (is_best) data::write_file_atomically(directory + "/" + kBest, name + "\n");

  prune(directory, name, keep, identity.run_id);
  return name;
}

std::vector<std::string> checkpoint_candidates(const std::string& directory,
                                               const std::string& run_id) {
  std::vector<std::string> candidates;
  if (!fs::is_directory(directory)) return candidates;
  const std::string latest = read_pointer(directory, kLatest);
  if (!latest.empty() && fs::exists(directory + "/" + latest) &&
      may_belong(directory + "/" + latest, run_id))
    candidates.push_back(directory + "/" + latest);
  for (const auto& [step, file] : files_by_step(directory))
    if (file != latest && may_belong(directory + "/" + file, run_id))
      candidates.push_back(directory + "/" + file);
  return candidates;
}

std::string resolve_checkpoint(const std::string& path, bool prefer_best) {
  if (fs::is_regular_file(path)) return path;
  if (!fs::is_directory(path)) throw IoError(path + ": no such checkpoint file or directory");
  const bool run_directory = fs::is_directory(path + "/checkpoints");
  const std::string directory = run_directory ? path + "/checkpoints" : path;
  std::string run_id = read_run_id(run_directory ? path : run_directory_of(directory));
  const std::string latest = read_pointer(directory, kLatest);
  if (run_id.empty() && !latest.empty()) run_id = run_of(directory + "/" + latest).value_or("");
  for (const char* pointer : {kBest, kLatest}) {
    if (pointer == kBest && !prefer_best) continue;
    const std::string name = read_pointer(directory, pointer);
    if (name.empty() || !fs::exists(directory + "/" + name)) continue;
    if (may_belong(directory + "/" + name, run_id)) return directory + "/" + name;
    std::fprintf(stderr, "note: %s/%s names %s of another run than %s; passed over\n",
                 directory.c_str(), pointer, name.c_str(), run_id.c_str());
  }
  const std::vector<std::string> candidates = checkpoint_candidates(directory, run_id);
  if (candidates.empty()) throw IoError(directory + ": no checkpoint in this directory");
  return candidates.front();
}

std::vector<std::string> newest_checkpoints(const std::string& path, int count) {
  if (!fs::is_directory(path)) throw IoError(path + ": no such checkpoint directory");
  const bool run_directory = fs::is_directory(path + "/checkpoints");
  const std::string directory = run_directory ? path + "/checkpoints" : path;
  const std::string run_id = read_run_id(run_directory ? path : run_directory_of(directory));
  std::vector<std::string> newest;
  for (const auto& [step, file] : files_by_step(directory))
    if (static_cast<int>(newest.size()) < count && may_belong(directory + "/" + file, run_id))
      newest.push_back(directory + "/" + file);
  if (newest.empty()) throw IoError(directory + ": no checkpoint in this directory");
  return newest;
}

bool valid_run_id(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

std::string read_run_id(const std::string& run_dir) {
  if (run_dir.empty()) return "";
  const std::string path = run_dir + "/" + kRunIdFile;
  std::error_code error;
  if (!fs::exists(path, error)) return "";
  if (!fs::is_regular_file(path, error) || fs::file_size(path, error) > 80)
    throw FormatError(path + ": not a run id file (one line like 20261130-135012-3f9a2c1d)");
  std::string id = data::read_file(path);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  if (!valid_run_id(id))
    throw FormatError(path + ": not a run id file (one line like 20261130-135012-3f9a2c1d)");
  return id;
}

}  // namespace tandem::trainer
