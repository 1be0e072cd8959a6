#include "trainer/train/memory_estimate.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "ops/errors.h"
#include "ops/memory_scope.h"

namespace tandem::trainer {
namespace {

constexpr double kFloat = 4, kBf16 = 2;
constexpr double kUnlimited = std::numeric_limits<double>::infinity();
constexpr int64_t kUnknownLength = 256;  // when the corpus records no lengths
constexpr double kRuntimeBytes = 20 << 20;

double optimizer_bytes(ops::OptimizerKind kind, double parameters) {
  switch (kind) {
    case ops::OptimizerKind::kAdam:
      return 2 * kFloat * parameters;  // first and second moments
    case ops::OptimizerKind::kMomentum:
      return kFloat * parameters;
    case ops::OptimizerKind::kSgd:
      return 0;
  }
  return 0;
}

// Floats kept per source row (one sentence at one step) by the encoder's forward and backward:
// embeddings, per layer the output, the oneDNN workspace (gates and states), the bidirectional
// reversal copies, dropout copies and the gradients of all of them.
double encoder_floats_per_row(const ModelConfig& model) {
  const double H = model.hidden_size, E = model.embedding_size;
  const double G = ops::gate_count(model.cell);
  const double dropout = model.dropout > 0 ? 1 : 0;
  double floats = E * (2 + dropout);
  for (int l = 0; l < model.encoder_layers; ++l) {
    const double input = l == 0 ? E : H;
    // forward workspace and backward scratchpad (gates and states), output, its gradient
    floats += 2 * (G + 3) * H + (2 + dropout) * H;
    if (model.bidirectional_encoder) floats += 3 * H + 2 * input;  // reversed copies
  }
  return floats;
}

// Floats per target row: the decoder's layers as above, attention and output layer inputs and
// gradients, the attention weights over the source, the output layer's packed input and its
// gradient, and its logits, distribution and gradient (V each: usually the largest term).
double decoder_floats_per_row(const ModelConfig& model, double source_steps) {
  const double H = model.hidden_size, E = model.embedding_size, V = model.tgt_vocab_size;
  const double G = ops::gate_count(model.cell);
  const double dropout = model.dropout > 0 ? 1 : 0;
  double floats = E * (2 + dropout) + (model.input_feeding ? 2 * (E + H) : 0);
  for (int l = 0; l < model.decoder_layers; ++l) floats += 2 * (G + 3) * H + (3 + dropout) * H;
  if (model.attention != AttentionType::kNone) floats += 10 * H + 2 * source_steps;
  return floats + 2 * H + 3 * V;
}

double read_number(const std::string& path) {
  std::ifstream file(path);
  std::string text;
  if (!(file >> text) || text == "max") return kUnlimited;
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return kUnlimited;
  }
}

// MemAvailable from /proc/meminfo, bytes (infinite if unknown).
double node_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return kUnlimited;
}

// /proc/self/statm's first two fields, in bytes: the address space and the resident set.
std::pair<double, double> virtual_and_resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  return {pages * page, resident * page};
}

}  // namespace

double MemoryEstimate::total() const {
  double sum = 0;
  for (const Term& term : terms) sum += term.bytes;
  return sum;
}

std::string MemoryEstimate::text() const {
  std::string out = ops::mib_text(total()) + " (";
  for (size_t i = 0; i < terms.size(); ++i)
    out += (i ? ", " : "") + terms[i].name + " " + ops::mib_text(terms[i].bytes);
  return out + ")";
}

SequenceBounds sequence_bounds(const data::Manifest& manifest) {
  SequenceBounds bounds;
  const nlohmann::json summary = nlohmann::json::parse(manifest.summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.contains("length_percentiles")) return bounds;
  const nlohmann::json& lengths = summary["length_percentiles"];
  bounds.source = lengths["source"].value("max", int64_t{0}) + 2;  // + <bos>, <eos>
  bounds.target = lengths["target"].value("max", int64_t{0}) + 2;
  return bounds;
}

MemoryEstimate estimate_memory(const TrainConfig& config, const ParameterCounts& parameters,
                               const SequenceBounds& bounds, double process_bytes) {
  const ModelConfig& model = config.model;
  const double P = static_cast<double>(parameters.total);
  const double recurrent = static_cast<double>(parameters.recurrent);
  const bool bf16 = model.precision == ops::Precision::kBf16;
  const double source_steps =
      static_cast<double>(bounds.source > 0 ? bounds.source : kUnknownLength);
  const double target_steps =
      static_cast<double>(bounds.target > 0 ? bounds.target : kUnknownLength);
  // A micro-batch holds at most batch_tokens rows on each side (N x longest side <= budget).
  const double source_rows = config.batch_tokens > 0 ? static_cast<double>(config.batch_tokens)
                                                     : config.batch_size * source_steps;
  const double target_rows = config.batch_tokens > 0 ? static_cast<double>(config.batch_tokens)
                                                     : config.batch_size * target_steps;
  const double optimizer = optimizer_bytes(config.optimizer.kind, P);
  MemoryEstimate estimate;
  estimate.terms = {
      {"process", process_bytes},
      // oneDNN's generated kernels and cached primitives, the OpenMP runtime, loader buffers:
      // measured on a tiny model (docs/training.md, "Memory").
      {"runtime", kRuntimeBytes},
      {"parameters", kFloat * P},
      {"gradients", kFloat * P},
      {"optimizer", optimizer},
      // oneDNN's reordered RNN weights for forward and backward; bf16 adds the low copies of
      // every weight matrix.
      {"weight copies", 2 * (bf16 ? kBf16 : kFloat) * recurrent + (bf16 ? kBf16 * P : 0)},
      {"activations", kFloat * (source_rows * encoder_floats_per_row(model) +
                                target_rows * decoder_floats_per_row(model, source_steps))},
  };
  // --deterministic: the gradient's fixed-point sum, int64 per parameter
  // (trainer/dist/exact_sum.h).
  if (config.deterministic) estimate.terms.push_back({"exact sums", 8.0 * P});
  return estimate;
}

double resident_bytes() {
  return virtual_and_resident_bytes().second;
}

double memory_available_to_rank(int ranks_on_node) {
  const double resident = resident_bytes();
  double available = node_available_bytes() / std::max(ranks_on_node, 1) + resident;
  // cgroup v2: the limit of this process' group (shared by the ranks in it).
  const double limit = read_number("/sys/fs/cgroup/memory.max");
  const double used = read_number("/sys/fs/cgroup/memory.current");
  if (std::isfinite(limit) && std::isfinite(used))
    available = std::min(available, (limit - used) / std::max(ranks_on_node, 1) + resident);
  // ulimit -v counts address space, of which libraries and thread stacks reserve much that is
  // never resident: what is left of it adds to what is resident now.
  rlimit address_space{};
  if (getrlimit(RLIMIT_AS, &address_space) == 0 && address_space.rlim_cur != RLIM_INFINITY)
    available = std::min(available, static_cast<double>(address_space.rlim_cur) -
                                        virtual_and_resident_bytes().first + resident);
  return available;
}

void require_memory_fits(const MemoryEstimate& estimate, double available, int ranks_on_node) {
  if (estimate.total() <= available) return;
  throw ConfigError("memory: this configuration needs about " + estimate.text() +
                    " per rank, more than the " + ops::mib_text(available) + " a rank has here (" +
                    std::to_string(ranks_on_node) +
                    " rank(s) on this node); lower --batch-tokens/--batch-size, --hidden-size, "
                    "--embedding-size or the layers, use --precision bf16 or fewer ranks per "
                    "node, or give --skip-memory-check to try anyway");
}

}  // namespace tandem::trainer
