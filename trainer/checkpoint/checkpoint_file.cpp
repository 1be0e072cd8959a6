// One checkpoint file: its HDF5 layout (docs/checkpoints.md), written and read back with
// verification.
// Constraints that shaped it:
// 1. On load a file proves itself: format and version, every dataset's shape, and a content
//    checksum over parameters, moments, cursors and counters. A file that fails is reported and
//    an older one tried; a file for another model or vocabulary is an error instead.
// 2. HDF5 writes straight from the live buffers into a temporary file that is renamed into
//    place only when complete (h5::StagedFile): a full disk or a size limit is a clear error
//    naming the file, never a half-written checkpoint, and a save needs no in-memory image.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/h5.h"
#include "ops/errors.h"
#include "trainer/checkpoint/checkpoint.h"

namespace tandem::trainer {
namespace {

namespace h5 = data::h5;

constexpr const char* kFormat = "tandem-checkpoint";  // persisted
constexpr const char* kMomentNames[2] = {"optimizer/first_moment", "optimizer/second_moment"};

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

MomentViews views_of(const Moments& moments) {
  return {FloatSpan{moments[0].data(), moments[0].size()},
          FloatSpan{moments[1].data(), moments[1].size()}};
}

namespace {

// The checksum covers everything a resume restores.
std::string checksum_text(const float* values, size_t value_count, const MomentViews& moments,
                          const TrainingState& state) {
  uint64_t sum = content_checksum(values, value_count * sizeof(float), 1);
  for (const FloatSpan& moment : moments)
    sum = content_checksum(moment.data, moment.size * sizeof(float), sum);
  return hex(checksum(state, sum));
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

// Opens `path` and checks it is a tandem checkpoint (FormatError naming it if not).
// Requires: the HDF5 library mutex held.
h5::Handle open_checkpoint(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw FormatError(path + ": is a directory, not a checkpoint file");
  h5::Handle file = h5::open_file_readonly(path);
  if (H5Aexists(file.get(), "format") <= 0 ||
      h5::get_string_attribute(file.get(), "format", path) != kFormat)
    throw FormatError(path + ": not a tandem checkpoint");
  return file;
}

// The optimizer moments stored in the file (absent ones stay empty), `size` floats each.
Moments read_moments(hid_t root, size_t size, const std::string& path) {
  Moments moments;
  for (int k = 0; k < 2; ++k) {
    if (!h5::exists(root, "optimizer") || H5Lexists(root, kMomentNames[k], H5P_DEFAULT) <= 0)
      continue;
    moments[k].resize(size);
    h5::read_float(root, kMomentNames[k], {static_cast<int64_t>(size)}, moments[k].data(), path);
  }
  return moments;
}

CheckpointIdentity read_identity(hid_t root, const std::string& path) {
  CheckpointIdentity identity;
  identity.model_config = h5::get_string_attribute(root, "model_config", path);
  identity.run_config = h5::get_string_attribute(root, "run_config", path);
  identity.src_vocab_checksum = h5::get_string_attribute(root, "src_vocab_checksum", path);
  identity.tgt_vocab_checksum = h5::get_string_attribute(root, "tgt_vocab_checksum", path);
  identity.optimizer = h5::get_string_attribute(root, "optimizer", path);
  // Written since run identities exist; an older file belongs to no run in particular.
  if (H5Aexists(root, "run_id") > 0)
    identity.run_id = h5::get_string_attribute(root, "run_id", path);
  if (H5Aexists(root, "tandem_build") > 0)
    identity.build = h5::get_string_attribute(root, "tandem_build", path);
  return identity;
}

// Why the file's version, vocabularies, architecture or parameter set do not fit the model; ""
// when they do.
std::string incompatibility(hid_t root, const ops::ParamStore& params,
                            const CheckpointIdentity& expected, const std::string& path) {
  const int64_t version = h5::get_int_attribute(root, "format_version", path);
  if (version != kCheckpointFormatVersion)
    return "checkpoint format version " + std::to_string(version) + ", this tandem reads " +
           std::to_string(kCheckpointFormatVersion);
  const CheckpointIdentity found = read_identity(root, path);
  if (found.src_vocab_checksum != expected.src_vocab_checksum)
    return "src_vocab_checksum " + found.src_vocab_checksum +
           " differs from the corpus vocabulary's " + expected.src_vocab_checksum;
  if (found.tgt_vocab_checksum != expected.tgt_vocab_checksum)
    return "tgt_vocab_checksum " + found.tgt_vocab_checksum +
           " differs from the corpus vocabulary's " + expected.tgt_vocab_checksum;
  for (const char* key : {"cell", "attention", "decoder_init", "bidirectional", "input_feeding"})
    if (config_value(found.model_config, key) != config_value(expected.model_config, key))
      return std::string("was trained with ") + key + " = " +
             config_value(found.model_config, key) + ", the model has " + key + " = " +
             config_value(expected.model_config, key);
  if (h5::get_string_attribute(root, "parameters", path) != parameter_names(params)) {
    for (const ops::ParamView& view : params.params())
      if (H5Lexists(root, view.name.substr(0, view.name.find('/')).c_str(), H5P_DEFAULT) <= 0)
        return "has no parameter " + view.name + " (another model?)";
    return "holds another set of parameters than this model";
  }
  for (const ops::ParamView& view : params.params()) {
    const std::vector<int64_t> shape = h5::dataset_shape(root, view.name, path);
    if (shape != view.shape)
      return "parameter " + view.name + " has shape " + shape_text(shape) + ", the model " +
             shape_text(view.shape);
  }
  return "";
}

}  // namespace

void write_checkpoint_file(const std::string& path, const ops::ParamStore& params,
                           const MomentViews& moments, const TrainingState& state,
                           const CheckpointIdentity& identity) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::StagedFile file(path);
  const hid_t root = file.get();
  for (const ops::ParamView& view : params.params())
    h5::write_float(root, view.name, view.value, view.shape, path);
  const auto flat = static_cast<int64_t>(params.total_size());
  for (int k = 0; k < 2; ++k)
    if (moments[k].size > 0) h5::write_float(root, kMomentNames[k], moments[k].data, {flat}, path);
  h5::set_attribute(root, "format", std::string(kFormat), path);
  h5::set_attribute(root, "format_version", kCheckpointFormatVersion, path);
  write_state(root, state, path);
  h5::set_attribute(root, "model_config", identity.model_config, path);
  h5::set_attribute(root, "run_config", identity.run_config, path);
  h5::set_attribute(root, "src_vocab_checksum", identity.src_vocab_checksum, path);
  h5::set_attribute(root, "tgt_vocab_checksum", identity.tgt_vocab_checksum, path);
  h5::set_attribute(root, "optimizer", identity.optimizer, path);
  h5::set_attribute(root, "run_id", identity.run_id, path);
  h5::set_attribute(root, "tandem_build", identity.build, path);
  h5::set_attribute(root, "parameters", parameter_names(params), path);
  h5::set_attribute(root, "checksum",
                    checksum_text(params.values(), params.total_size(), moments, state), path);
  file.commit();
}

CheckpointIdentity read_checkpoint_identity(const std::string& path, int64_t* step) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::Handle file = open_checkpoint(path);
  if (step) *step = h5::get_int_attribute(file.get(), "step", path);
  return read_identity(file.get(), path);
}

std::optional<LoadedCheckpoint> load_checkpoint(const std::string& path,
                                                const ops::ParamStore& params,
                                                const CheckpointIdentity& identity,
                                                CheckpointProblem& problem) {
  try {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::Handle file = open_checkpoint(path);
    const hid_t root = file.get();
    const std::string unfit = incompatibility(root, params, identity, path);
    if (!unfit.empty()) {
      problem = {true, path + ": " + unfit};
      return std::nullopt;
    }
    LoadedCheckpoint loaded;
    loaded.path = path;
    loaded.run_id = read_identity(root, path).run_id;
    loaded.values.assign(params.total_size(), 0.0f);
    for (const ops::ParamView& view : params.params())
      h5::read_float(root, view.name, view.shape, loaded.values.data() + view.offset, path);
    Moments moments = read_moments(root, params.total_size(), path);
    loaded.state = read_state(root, path);
    if (checksum_text(loaded.values.data(), loaded.values.size(), views_of(moments),
                      loaded.state) != h5::get_string_attribute(root, "checksum", path))
      throw FormatError(path + ": content checksum mismatch (the file is corrupt)");
    // An empty identity.optimizer means "start the optimizer afresh" (--reset-optimizer).
    const std::string optimizer = h5::get_string_attribute(root, "optimizer", path);
    if (identity.optimizer.empty()) {
      moments = Moments{};
      loaded.state.optimizer_steps = 0;
    } else if (optimizer != identity.optimizer) {
      problem = {true, path + ": optimizer state is " + optimizer + ", this run uses " +
                           identity.optimizer +
                           " (use --reset-optimizer to start the optimizer afresh)"};
      return std::nullopt;
    }
    loaded.first_moment = std::move(moments[0]);
    loaded.second_moment = std::move(moments[1]);
    return loaded;
  } catch (const Error& failure) {
    problem = {false, failure.what()};
    return std::nullopt;
  }
}

StoredCheckpoint read_stored_checkpoint(const std::string& path) {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::Handle file = open_checkpoint(path);
  const hid_t root = file.get();
  StoredCheckpoint stored;
  stored.path = path;
  stored.format_version = h5::get_int_attribute(root, "format_version", path);
  stored.identity = read_identity(root, path);
  stored.checksum = h5::get_string_attribute(root, "checksum", path);
  stored.state = read_state(root, path);
  // Rebuild the flat layout the trainer used (a ParamStore with the same declarations).
  stored.params = std::make_unique<ops::ParamStore>();
  std::istringstream names(h5::get_string_attribute(root, "parameters", path));
  std::string name;
  while (std::getline(names, name))
    stored.params->declare(name, h5::dataset_shape(root, name, path), {});
  stored.params->finalize();
  for (const ops::ParamView& view : stored.params->params())
    h5::read_float(root, view.name, view.shape, view.value, path);
  stored.moments = read_moments(root, stored.params->total_size(), path);
  stored.verified = checksum_text(stored.params->values(), stored.params->total_size(),
                                  views_of(stored.moments), stored.state) == stored.checksum;
  return stored;
}

CheckpointSummary summarize_checkpoint(const std::string& path) {
  const StoredCheckpoint stored = read_stored_checkpoint(path);
  CheckpointSummary summary;
  summary.format_version = stored.format_version;
  summary.identity = stored.identity;
  summary.checksum = stored.checksum;
  summary.step = stored.state.step;
  summary.epoch = stored.state.epoch;
  summary.ranks = static_cast<int64_t>(stored.state.cursors.size());
  summary.state = describe(stored.state);
  for (const ops::ParamView& view : stored.params->params()) {
    double sum = 0;
    for (size_t i = 0; i < view.size; ++i)
      sum += static_cast<double>(view.value[i]) * view.value[i];
    summary.parameters.push_back({view.name, view.shape, std::sqrt(sum)});
  }
  summary.verified = stored.verified;
  return summary;
}

}  // namespace tandem::trainer
