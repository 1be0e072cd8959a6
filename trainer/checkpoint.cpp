// Constraints that shaped checkpoints:
// 1. Written once per model, by rank 0: replicas are bit-identical (checked), Debian's HDF5 is
//    serial, and one writer never contends with itself on a shared file system.
// 2. A kill at any moment leaves either the old or the new state: the file is written under a
//    temporary name, fsync'ed and renamed, the directory fsync'ed, and only then is `latest`
//    replaced the same way. Older files are deleted last.
// 3. On load a file proves itself: format and version, every dataset's shape, and a content
//    checksum over parameters, moments, cursors and counters. A file that fails is reported and
//    an older one tried; a file for another model or vocabulary is an error instead.
#include "trainer/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "data/atomic_file.h"
#include "data/h5.h"
#include "ops/errors.h"

namespace tandem::trainer {
namespace {

namespace fs = std::filesystem;
namespace h5 = data::h5;

constexpr const char* kFormat = "tandem-checkpoint";
constexpr const char* kLatest = "latest";
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

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string read_pointer(const std::string& directory, const char* pointer) {
  const std::string path = directory + "/" + pointer;
  if (!fs::exists(path)) return "";
  std::string name = data::read_file(path);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return name;
}

// The checksum covers everything a resume restores.
uint64_t checksum_of(const float* values, size_t value_count, const std::vector<float>& first,
                     const std::vector<float>& second, const TrainingState& state) {
  uint64_t sum = content_checksum(values, value_count * sizeof(float), 1);
  sum = content_checksum(first.data(), first.size() * sizeof(float), sum);
  sum = content_checksum(second.data(), second.size() * sizeof(float), sum);
  for (const auto* cursors : {&state.cursors, &state.origin.cursors})
    for (const data::LoaderCursor& cursor : *cursors) {
      const int64_t fields[3] = {cursor.epoch, cursor.window, cursor.batch};
      sum = content_checksum(fields, sizeof fields, sum);
    }
  sum = content_checksum(&state.origin.ranks, sizeof state.origin.ranks, sum);
  const int64_t counters[7] = {state.step,
                               state.epoch,
                               state.optimizer_steps,
                               state.consecutive_skips,
                               state.total_skips,
                               state.validations_without_improvement,
                               state.schedule_bad_evaluations};
  sum = content_checksum(counters, sizeof counters, sum);
  const double reals[2] = {state.plateau_scale, state.best_validation};
  return content_checksum(reals, sizeof reals, sum);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string parameter_names(const ops::ParamStore& params) {
  std::string names;
  for (const ops::ParamView& view : params.params()) names += view.name + "\n";
  return names;
}

// The value of `key` in "key = value" lines ("" if absent).
std::string config_value(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(key + " = ", 0) == 0) return line.substr(key.size() + 3);
  return "";
}

// The epoch origin of a checkpoint (empty for a normal epoch).
data::EpochOrigin read_origin(hid_t root, const std::string& path) {
  data::EpochOrigin origin;
  origin.ranks = h5::get_int_attribute(root, "origin_ranks", path);
  if (origin.ranks < 0 || origin.ranks > 1 << 20)
    throw FormatError(path + ": attribute origin_ranks is " + std::to_string(origin.ranks));
  if (origin.empty()) return origin;
  std::vector<int64_t> values(static_cast<size_t>(origin.ranks * 3));
  h5::read_int64_array(root, "loader/origin_cursors", {origin.ranks, 3}, values.data(), path);
  for (size_t i = 0; i < values.size(); i += 3)
    origin.cursors.push_back({values[i], values[i + 1], values[i + 2]});
  return origin;
}

}  // namespace

uint64_t content_checksum(const void* data, size_t bytes, uint64_t seed) {
  uint64_t hash = seed ^ 0xCBF29CE484222325ull;
  const auto* raw = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, raw + i, 8);
    hash = (hash ^ word) * 0x100000001B3ull;
    hash ^= hash >> 29;
  }
  for (; i < bytes; ++i) hash = (hash ^ raw[i]) * 0x100000001B3ull;
  return hash;
}

std::string save_checkpoint(const std::string& directory, const ops::ParamStore& params,
                            ops::Optimizer& optimizer, const TrainingState& state,
                            const CheckpointIdentity& identity, bool is_best, int keep) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error)
    throw IoError(directory + ": cannot create the checkpoint directory (" + error.message() + ")");
  const std::string name = file_name(state.step);
  const std::string path = directory + "/" + name;
  // Built in memory, then written with checked POSIX I/O (temp + fsync + rename + directory
  // fsync): a full disk or a size limit is a clear errno and never a half-written HDF5 state.
  const std::vector<float> first(optimizer.first_moment().begin(), optimizer.first_moment().end());
  const std::vector<float> second(optimizer.second_moment().begin(),
                                  optimizer.second_moment().end());
  std::string image;
  {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::Handle file = h5::create_memory_file(path);
    const hid_t root = file.get();
    for (const ops::ParamView& view : params.params())
      h5::write_float(root, view.name, view.value, view.shape, path);
    const auto flat = static_cast<int64_t>(params.total_size());
    if (!first.empty()) h5::write_float(root, "optimizer/first_moment", first.data(), {flat}, path);
    if (!second.empty())
      h5::write_float(root, "optimizer/second_moment", second.data(), {flat}, path);
    std::vector<int64_t> cursors;
    for (const data::LoaderCursor& cursor : state.cursors) {
      cursors.push_back(cursor.epoch);
      cursors.push_back(cursor.window);
      cursors.push_back(cursor.batch);
    }
    h5::write_int64_array(root, "loader/cursors", cursors.data(),
                          {static_cast<int64_t>(state.cursors.size()), 3}, path);
    h5::set_attribute(root, "origin_ranks", state.origin.ranks, path);
    if (!state.origin.empty()) {
      std::vector<int64_t> origin;
      for (const data::LoaderCursor& cursor : state.origin.cursors)
        origin.insert(origin.end(), {cursor.epoch, cursor.window, cursor.batch});
      h5::write_int64_array(root, "loader/origin_cursors", origin.data(), {state.origin.ranks, 3},
                            path);
    }
    h5::set_attribute(root, "format", std::string(kFormat), path);
    h5::set_attribute(root, "format_version", kCheckpointFormatVersion, path);
    h5::set_attribute(root, "step", state.step, path);
    h5::set_attribute(root, "epoch", state.epoch, path);
    h5::set_attribute(root, "ranks", static_cast<int64_t>(state.cursors.size()), path);
    h5::set_attribute(root, "optimizer_steps", state.optimizer_steps, path);
    h5::set_attribute(root, "consecutive_skips", state.consecutive_skips, path);
    h5::set_attribute(root, "total_skips", state.total_skips, path);
    h5::set_attribute(root, "validations_without_improvement",
                      state.validations_without_improvement, path);
    h5::set_attribute(root, "schedule_bad_evaluations", state.schedule_bad_evaluations, path);
    h5::set_attribute(root, "plateau_scale", state.plateau_scale, path);
    h5::set_attribute(root, "best_validation", state.best_validation, path);
    h5::set_attribute(root, "model_config", identity.model_config, path);
    h5::set_attribute(root, "run_config", identity.run_config, path);
    h5::set_attribute(root, "src_vocab_checksum", identity.src_vocab_checksum, path);
    h5::set_attribute(root, "tgt_vocab_checksum", identity.tgt_vocab_checksum, path);
    h5::set_attribute(root, "optimizer", identity.optimizer, path);
    h5::set_attribute(root, "parameters", parameter_names(params), path);
    h5::set_attribute(root, "checksum",
                      hex(checksum_of(params.values(), params.total_size(), first, second, state)),
                      path);
    image = h5::file_image(root, path);
  }
  data::write_file_atomically(path, image);
  data::write_file_atomically(directory + "/" + kLatest, name + "\n");
  if (is_best) data::write_file_atomically(directory + "/" + kBest, name + "\n");

  // Prune: keep the newest `keep` plus whatever `latest` and `best` name.
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
    if (files[i].second != best && files[i].second != name)
      fs::remove(directory + "/" + files[i].second, error);
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

CheckpointIdentity read_checkpoint_identity(const std::string& path, int64_t* step) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::Handle file = h5::open_file_readonly(path);
  const hid_t root = file.get();
  if (H5Aexists(root, "format") <= 0 || h5::get_string_attribute(root, "format", path) != kFormat)
    throw FormatError(path + ": not a tandem checkpoint");
  CheckpointIdentity identity;
  identity.model_config = h5::get_string_attribute(root, "model_config", path);
  identity.run_config = h5::get_string_attribute(root, "run_config", path);
  identity.src_vocab_checksum = h5::get_string_attribute(root, "src_vocab_checksum", path);
  identity.tgt_vocab_checksum = h5::get_string_attribute(root, "tgt_vocab_checksum", path);
  identity.optimizer = h5::get_string_attribute(root, "optimizer", path);
  if (step) *step = h5::get_int_attribute(root, "step", path);
  return identity;
}

std::optional<LoadedCheckpoint> load_checkpoint(const std::string& path,
                                                const ops::ParamStore& params,
                                                const CheckpointIdentity& identity,
                                                CheckpointProblem& problem) {
  auto incompatible = [&](const std::string& message) {
    problem = {true, path + ": " + message};
    return std::nullopt;
  };
  try {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::Handle file = h5::open_file_readonly(path);
    const hid_t root = file.get();
    if (H5Aexists(root, "format") <= 0 || h5::get_string_attribute(root, "format", path) != kFormat)
      throw FormatError(path + ": not a tandem checkpoint");
    const int64_t version = h5::get_int_attribute(root, "format_version", path);
    if (version != kCheckpointFormatVersion)
      return incompatible("checkpoint format version " + std::to_string(version) +
                          ", this tandem reads " + std::to_string(kCheckpointFormatVersion));
    for (const char* side : {"src_vocab_checksum", "tgt_vocab_checksum"}) {
      const std::string found = h5::get_string_attribute(root, side, path);
      const std::string& expected = std::string(side) == "src_vocab_checksum"
                                        ? identity.src_vocab_checksum
                                        : identity.tgt_vocab_checksum;
      if (found != expected)
        return incompatible(std::string(side) + " " + found +
                            " differs from the corpus vocabulary's " + expected);
    }
    const std::string model_config = h5::get_string_attribute(root, "model_config", path);
    for (const char* key : {"cell", "attention", "decoder_init", "bidirectional", "input_feeding"})
      if (config_value(model_config, key) != config_value(identity.model_config, key))
        return incompatible(std::string("was trained with ") + key + " = " +
                            config_value(model_config, key) + ", the model has " + key + " = " +
                            config_value(identity.model_config, key));
    if (h5::get_string_attribute(root, "parameters", path) != parameter_names(params)) {
      for (const ops::ParamView& view : params.params())
        if (H5Lexists(root, view.name.substr(0, view.name.find('/')).c_str(), H5P_DEFAULT) <= 0)
          return incompatible("has no parameter " + view.name + " (another model?)");
      return incompatible("holds another set of parameters than this model");
    }
    LoadedCheckpoint loaded;
    loaded.path = path;
    loaded.values.assign(params.total_size(), 0.0f);
    for (const ops::ParamView& view : params.params()) {
      const std::vector<int64_t> shape = h5::dataset_shape(root, view.name, path);
      if (shape != view.shape)
        return incompatible("parameter " + view.name + " has shape " + shape_text(shape) +
                            ", the model " + shape_text(view.shape));
      h5::read_float(root, view.name, view.shape, loaded.values.data() + view.offset, path);
    }
    const auto flat = static_cast<int64_t>(params.total_size());
    for (auto [dataset, moment] : {std::pair{"optimizer/first_moment", &loaded.first_moment},
                                   std::pair{"optimizer/second_moment", &loaded.second_moment}}) {
      if (!h5::exists(root, "optimizer") || H5Lexists(root, dataset, H5P_DEFAULT) <= 0) continue;
      moment->resize(params.total_size());
      h5::read_float(root, dataset, {flat}, moment->data(), path);
    }
    TrainingState& state = loaded.state;
    const int64_t ranks = h5::get_int_attribute(root, "ranks", path);
    if (ranks < 1 || ranks > 1 << 20)
      throw FormatError(path + ": attribute ranks is " + std::to_string(ranks));
    std::vector<int64_t> cursors(static_cast<size_t>(ranks * 3));
    h5::read_int64_array(root, "loader/cursors", {ranks, 3}, cursors.data(), path);
    for (int64_t r = 0; r < ranks; ++r)
      state.cursors.push_back({cursors[static_cast<size_t>(3 * r)],
                               cursors[static_cast<size_t>(3 * r + 1)],
                               cursors[static_cast<size_t>(3 * r + 2)]});
    state.origin = read_origin(root, path);
    state.step = h5::get_int_attribute(root, "step", path);
    state.epoch = h5::get_int_attribute(root, "epoch", path);
    state.optimizer_steps = h5::get_int_attribute(root, "optimizer_steps", path);
    state.consecutive_skips = h5::get_int_attribute(root, "consecutive_skips", path);
    state.total_skips = h5::get_int_attribute(root, "total_skips", path);
    state.validations_without_improvement =
        h5::get_int_attribute(root, "validations_without_improvement", path);
    state.schedule_bad_evaluations = h5::get_int_attribute(root, "schedule_bad_evaluations", path);
    state.plateau_scale = h5::get_double_attribute(root, "plateau_scale", path);
    state.best_validation = h5::get_double_attribute(root, "best_validation", path);
    const std::string stored = h5::get_string_attribute(root, "checksum", path);
    if (hex(checksum_of(loaded.values.data(), loaded.values.size(), loaded.first_moment,
                        loaded.second_moment, state)) != stored)
      throw FormatError(path + ": content checksum mismatch (the file is corrupt)");
    // An empty identity.optimizer means "start the optimizer afresh" (--reset-optimizer).
    const std::string optimizer = h5::get_string_attribute(root, "optimizer", path);
    if (identity.optimizer.empty()) {
      loaded.first_moment.clear();
      loaded.second_moment.clear();
      state.optimizer_steps = 0;
    } else if (optimizer != identity.optimizer) {
      return incompatible("optimizer state is " + optimizer + ", this run uses " +
                          identity.optimizer +
                          " (use --reset-optimizer to start the optimizer afresh)");
    }
    return loaded;
  } catch (const Error& failure) {
    problem = {false, failure.what()};
    return std::nullopt;
  }
}

CheckpointSummary summarize_checkpoint(const std::string& path) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::Handle file = h5::open_file_readonly(path);
  const hid_t root = file.get();
  if (H5Aexists(root, "format") <= 0 || h5::get_string_attribute(root, "format", path) != kFormat)
    throw FormatError(path + ": not a tandem checkpoint");
  CheckpointSummary summary;
  summary.format_version = h5::get_int_attribute(root, "format_version", path);
  summary.step = h5::get_int_attribute(root, "step", path);
  summary.epoch = h5::get_int_attribute(root, "epoch", path);
  summary.ranks = h5::get_int_attribute(root, "ranks", path);
  summary.model_config = h5::get_string_attribute(root, "model_config", path);
  summary.run_config = h5::get_string_attribute(root, "run_config", path);
  summary.src_vocab_checksum = h5::get_string_attribute(root, "src_vocab_checksum", path);
  summary.tgt_vocab_checksum = h5::get_string_attribute(root, "tgt_vocab_checksum", path);
  summary.optimizer = h5::get_string_attribute(root, "optimizer", path);
  summary.checksum = h5::get_string_attribute(root, "checksum", path);
  // Rebuild the flat layout the trainer used (a ParamStore with the same declarations) to
  // verify the content checksum.
  ops::ParamStore store;
  std::istringstream names(h5::get_string_attribute(root, "parameters", path));
  std::string name;
  while (std::getline(names, name)) store.declare(name, h5::dataset_shape(root, name, path), {});
  store.finalize();
  for (const ops::ParamView& view : store.params()) {
    h5::read_float(root, view.name, view.shape, view.value, path);
    double sum = 0;
    for (size_t i = 0; i < view.size; ++i)
      sum += static_cast<double>(view.value[i]) * view.value[i];
    summary.parameters.push_back({view.name, view.shape, std::sqrt(sum)});
  }
  std::vector<float> moments[2];
  const char* moment_names[2] = {"optimizer/first_moment", "optimizer/second_moment"};
  for (int k = 0; k < 2; ++k) {
    if (!h5::exists(root, "optimizer") || H5Lexists(root, moment_names[k], H5P_DEFAULT) <= 0)
      continue;
    moments[k].resize(store.total_size());
    h5::read_float(root, moment_names[k], {static_cast<int64_t>(store.total_size())},
                   moments[k].data(), path);
  }
  TrainingState state;
  std::vector<int64_t> cursors(static_cast<size_t>(summary.ranks * 3));
  h5::read_int64_array(root, "loader/cursors", {summary.ranks, 3}, cursors.data(), path);
  for (int64_t r = 0; r < summary.ranks; ++r)
    state.cursors.push_back({cursors[static_cast<size_t>(3 * r)],
                             cursors[static_cast<size_t>(3 * r + 1)],
                             cursors[static_cast<size_t>(3 * r + 2)]});
  state.origin = read_origin(root, path);
  state.step = summary.step;
  state.epoch = summary.epoch;
  state.optimizer_steps = h5::get_int_attribute(root, "optimizer_steps", path);
  state.consecutive_skips = h5::get_int_attribute(root, "consecutive_skips", path);
  state.total_skips = h5::get_int_attribute(root, "total_skips", path);
  state.validations_without_improvement =
      h5::get_int_attribute(root, "validations_without_improvement", path);
  state.schedule_bad_evaluations = h5::get_int_attribute(root, "schedule_bad_evaluations", path);
  state.plateau_scale = h5::get_double_attribute(root, "plateau_scale", path);
  state.best_validation = h5::get_double_attribute(root, "best_validation", path);
  summary.verified = hex(checksum_of(store.values(), store.total_size(), moments[0], moments[1],
                                     state)) == summary.checksum;
  return summary;
}

}  // namespace tandem::trainer
