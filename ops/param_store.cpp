#include "ops/param_store.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "ops/errors.h"
#include "ops/rng.h"
#include "ops/settings.h"

namespace tandem::ops {
namespace {

constexpr size_t kAlignmentFloats = 16;  // 64 bytes

size_t round_up(size_t n, size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

void fill(const ParamView& param, uint64_t seed) {
  const InitSpec& init = param.init;
  const uint64_t key = combine_keys(seed, hash_string(param.name));
  float* out = param.value;
  const double fan_sum = static_cast<double>(init.fan_in + init.fan_out);
  switch (init.kind) {
    case InitKind::kZeros:
      std::fill(out, out + param.size, 0.0f);
      break;
    case InitKind::kConstant:
      std::fill(out, out + param.size, init.scale);
      break;
    case InitKind::kUniform:
    case InitKind::kXavierUniform: {
      const double a = init.kind == InitKind::kUniform ? init.scale : std::sqrt(6.0 / fan_sum);
      for (size_t i = 0; i < param.size; ++i)
        out[i] = static_cast<float>(a * (2.0 * uniform01(key, i) - 1.0));
      break;
    }
    case InitKind::kXavierNormal:
    case InitKind::kHeNormal: {
      const double stddev = init.kind == InitKind::kXavierNormal
                                ? std::sqrt(2.0 / fan_sum)
                                : std::sqrt(2.0 / static_cast<double>(init.fan_in));
      for (size_t i = 0; i < param.size; ++i)
        out[i] = static_cast<float>(stddev * standard_normal(key, i));
      break;
    }
  }
}

}  // namespace

ParamId ParamStore::declare(const std::string& name, std::vector<int64_t> shape, InitSpec init) {
  if (finalized_)
    throw ConfigError("parameter " + name + ": declared after the store was finalized");
  if (name.empty()) throw ConfigError("parameter with an empty name");
  if (find(name)) throw ConfigError("parameter " + name + ": declared twice");
  size_t size = 1;
  for (int64_t d : shape) {
    if (d <= 0)
      throw ConfigError("parameter " + name + ": shape " + shape_text(shape) +
                        " has a non-positive dimension");
    size *= static_cast<size_t>(d);
  }
  const bool needs_fans = init.kind == InitKind::kXavierUniform ||
                          init.kind == InitKind::kXavierNormal || init.kind == InitKind::kHeNormal;
  if (needs_fans && (init.fan_in <= 0 || (init.kind != InitKind::kHeNormal && init.fan_out <= 0)))
    throw ConfigError("parameter " + name + ": initialiser needs positive fan_in/fan_out");
  ParamView view;
  view.name = name;
  view.shape = std::move(shape);
  view.init = init;
  view.offset = planned_size_;
  view.size = size;
  planned_size_ = round_up(planned_size_ + size, kAlignmentFloats);
  params_.push_back(std::move(view));
  return static_cast<ParamId>(params_.size() - 1);
}

void ParamStore::finalize() {
  if (finalized_) return;
  values_.assign(planned_size_, 0.0f);
  grads_.assign(planned_size_, 0.0f);
  for (ParamView& view : params_) {
    view.value = values_.data() + view.offset;
    view.grad = grads_.data() + view.offset;
  }
  finalized_ = true;
}

std::string init_policy_text(const InitPolicy& policy) {
  switch (policy.kind) {
    case InitPolicy::Kind::kLayers:
      return "layers";
    case InitPolicy::Kind::kUniform:
      return "uniform:" + setting_text(policy.scale);
    case InitPolicy::Kind::kXavier:
      return "xavier";
  }
  return "layers";
}

InitPolicy parse_init_policy(const std::string& text) {
  if (text == "layers") return {};
  if (text == "xavier") return {InitPolicy::Kind::kXavier, 0.0f};
  const std::string prefix = "uniform:";
  if (text.rfind(prefix, 0) == 0) {
    char* end = nullptr;
    const float scale = std::strtof(text.c_str() + prefix.size(), &end);
    if (end != text.c_str() + prefix.size() && *end == '\0' && scale > 0.0f && scale <= 1.0f)
      return {InitPolicy::Kind::kUniform, scale};
    throw std::invalid_argument("uniform:S needs a scale S in (0, 1], got '" + text + "'");
  }
  throw std::invalid_argument("expected layers, uniform:S or xavier, got '" + text + "'");
}

void ParamStore::initialize(uint64_t seed, const InitPolicy& policy) {
  if (!finalized_) finalize();
  for (ParamView view : params_) {
    if (policy.kind == InitPolicy::Kind::kUniform) {
      view.init = {InitKind::kUniform, policy.scale};
    } else if (policy.kind == InitPolicy::Kind::kXavier) {
      // Only fan_in + fan_out matters: the first dimension and the product of the others, as
      // PyTorch counts them for its [4H, I] LSTM, [out, in] linear and [V, E] embedding tables.
      int64_t rest = 1;
      for (size_t d = 1; d < view.shape.size(); ++d) rest *= view.shape[d];
      view.init = view.shape.size() >= 2
                      ? InitSpec{InitKind::kXavierUniform, 0.0f, view.shape[0], rest}
                      : InitSpec{InitKind::kZeros};
    }
    fill(view, seed);
  }
  mark_values_changed();
}

const ParamView* ParamStore::find(const std::string& name) const {
  for (const ParamView& view : params_)
    if (view.name == name) return &view;
  return nullptr;
}

size_t ParamStore::parameter_count() const {
  size_t count = 0;
  for (const ParamView& view : params_) count += view.size;
  return count;
}

// Once per step over every gradient: both threads' share of the memory bandwidth (a memset
// on one thread takes twice as long on bench-base's 86 MB).
void ParamStore::zero_grads() {
  float* grads = grads_.data();
  const auto n = static_cast<int64_t>(grads_.size());
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) grads[i] = 0.0f;
}

}  // namespace tandem::ops
