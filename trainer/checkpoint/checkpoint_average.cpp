// Checkpoint averaging (Junczys-Dowmunt et al. 2016; Vaswani et al. 2017): the mean of the last
// few checkpoints' parameters often decodes better than any one of them, at no training cost.
#include <algorithm>
#include <filesystem>

#include "data/atomic_file.h"
#include "ops/errors.h"
#include "trainer/checkpoint/checkpoint.h"

namespace tandem::trainer {
namespace {

// ConfigError unless `other` holds the same model (parameters, shapes, configuration,
// vocabularies) as `first`.
void require_same_model(const StoredCheckpoint& first, const StoredCheckpoint& other) {
  auto differ = [&](const std::string& what) {
    throw ConfigError("average: " + other.path + " " + what + " than " + first.path +
                      " (only checkpoints of one model can be averaged)");
  };
  if (other.identity.model_config != first.identity.model_config)
    differ("has another model configuration");
  if (other.identity.src_vocab_checksum != first.identity.src_vocab_checksum ||
      other.identity.tgt_vocab_checksum != first.identity.tgt_vocab_checksum)
    differ("has other vocabularies");
  const auto& a = first.params->params();
  const auto& b = other.params->params();
  if (a.size() != b.size()) differ("has another set of parameters");
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].shape != b[i].shape)
      differ("has parameter " + b[i].name + " of another name or shape");
}

StoredCheckpoint read_verified(const std::string& path) {
  StoredCheckpoint stored = read_stored_checkpoint(path);
  if (!stored.verified)
    throw FormatError(path + ": content checksum mismatch (the file is corrupt); not averaged");
  return stored;
}

}  // namespace

std::string average_checkpoints(const std::vector<std::string>& inputs, const std::string& output) {
  require_config(!inputs.empty(), "average", "no checkpoints to average");
  std::error_code error;
  if (std::filesystem::exists(output, error))
    throw IoError(output +
                  ": exists; tandem-average never replaces a file (remove it or give "
                  "another --output)");
  StoredCheckpoint newest = read_verified(inputs.front());
  const size_t size = newest.params->total_size();
  std::vector<double> sum(newest.params->values(), newest.params->values() + size);
  for (size_t i = 1; i < inputs.size(); ++i) {
    StoredCheckpoint other = read_verified(inputs[i]);
    require_same_model(newest, other);
    const float* values = other.params->values();
    for (size_t k = 0; k < size; ++k) sum[k] += values[k];
    if (other.state.step > newest.state.step) std::swap(newest, other);
  }
  float* mean = newest.params->values();
  for (size_t k = 0; k < size; ++k) mean[k] = static_cast<float>(sum[k] / inputs.size());
  write_checkpoint_file(output, *newest.params, views_of(newest.moments), newest.state,
                        newest.identity);
  if (!read_stored_checkpoint(output).verified)
    throw FormatError(output + ": the averaged checkpoint does not verify after writing");
  return newest.path;
}

}  // namespace tandem::trainer
