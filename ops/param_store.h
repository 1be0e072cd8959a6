// The parameter plan: every layer declares its parameters (name, shape, initialiser) here, in a
// fixed order; the store then allocates ONE contiguous float buffer for values and one with the
// identical layout for gradients. Declaration order is memory order, all-reduce bucket order and
// checkpoint order. Layers keep a ParamId and look their pointers up; they never own weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/aligned_vector.h"

namespace tandem::ops {

// How a parameter is initialised. The names are written into run configurations: never rename.
enum class InitKind {
  kZeros,
  kUniform,        // U(-scale, +scale)
  kXavierUniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out))
  kXavierNormal,   // N(0, 2 / (fan_in + fan_out))
  kHeNormal,       // N(0, 2 / fan_in), for ReLU layers
  kConstant,       // every element = scale (e.g. an LSTM forget-gate bias of 1)
};

struct InitSpec {
  InitKind kind = InitKind::kZeros;
  float scale = 0.0f;   // for kUniform and kConstant
  int64_t fan_in = 0;   // for the Xavier and He kinds
  int64_t fan_out = 0;  // for the Xavier kinds
};

// A run-wide choice of initial values (--init) over the layers' own initialisers.
struct InitPolicy {
  enum class Kind {
    kLayers,   // each parameter's declared InitSpec (docs/model.md lists them)
    kUniform,  // every parameter U(-scale, scale), biases and embeddings too (OpenNMT-py's
               // param_init, the common choice for LSTM translation models)
    kXavier,   // every matrix Xavier-uniform over its (fan_in, fan_out), every vector zero
  };
  Kind kind = Kind::kLayers;
  float scale = 0.0f;  // kUniform
};
// Text forms "layers", "uniform:S" (0 < S <= 1) and "xavier"; parse throws
// std::invalid_argument saying what is wrong.
std::string init_policy_text(const InitPolicy& policy);
InitPolicy parse_init_policy(const std::string& text);

using ParamId = int;

// Called during backward with an offset into the flat gradient buffer: every gradient from that
// offset to the end is final for this step (the all-reduce of those buckets may start). Offsets
// only decrease within one backward. May be empty.
using GradientsReady = std::function<void(size_t first_final_offset)>;

// One parameter: its persisted name (an HDF5 path such as "encoder/l0/weights_layer"), its shape
// in the canonical layout the owning layer documents, and pointers into the flat buffers.
struct ParamView {
  std::string name;
  std::vector<int64_t> shape;
  InitSpec init;
  size_t offset = 0;  // in floats, from the start of the flat buffers
  size_t size = 0;    // number of elements
  float* value = nullptr;
  float* grad = nullptr;
};

class ParamStore {
 public:
  ParamStore() = default;
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // Adds a parameter to the plan. Requires: not finalized, a new non-empty name, positive dims.
  // Throws ConfigError otherwise.
  ParamId declare(const std::string& name, std::vector<int64_t> shape, InitSpec init);

  // Allocates the value and gradient buffers (zeroed). Further declares throw.
  void finalize();
  bool finalized() const { return finalized_; }

  // Fills every value from its initialiser (as `policy` chooses). Each parameter draws from a key
  // derived from (seed, name), so its values do not depend on what else the model declares.
  void initialize(uint64_t seed, const InitPolicy& policy = {});

  const ParamView& view(ParamId id) const { return params_.at(static_cast<size_t>(id)); }
  const ParamView* find(const std::string& name) const;
  const std::vector<ParamView>& params() const { return params_; }

  // The flat buffers; both have total_size() elements. Gaps between parameters (each starts on a
  // 64-byte boundary) are zero and stay zero.
  float* values() { return values_.data(); }
  const float* values() const { return values_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  size_t total_size() const { return values_.size(); }
  size_t parameter_count() const;

  // Sets every gradient to zero. Called once per step by the trainer: backward passes accumulate.
  void zero_grads();

  // A counter that changes whenever values change (initialize, optimizer step, load). Layers that
  // keep reordered copies of weights compare it to decide whether to refresh them.
  // Whoever writes values() directly must call mark_values_changed().
  uint64_t values_version() const { return values_version_; }
  void mark_values_changed() { ++values_version_; }

 private:
  std::vector<ParamView> params_;
  AlignedVector<float> values_;
  AlignedVector<float> grads_;
  size_t planned_size_ = 0;
  bool finalized_ = false;
  uint64_t values_version_ = 1;
};

}  // namespace tandem::ops
