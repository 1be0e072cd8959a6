// Parameter updates over the whole flat buffers (one loop, llm.c style): SGD, SGD with momentum,
// Adam (bias-corrected, optional decoupled weight decay as in AdamW). The state (moments, step
// count) is exposed so checkpoints can save and restore it bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/settings.h"

namespace tandem::ops {

// Configuration names (sgd, momentum, adam) are persisted: never rename.
enum class OptimizerKind { kSgd, kMomentum, kAdam };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  float momentum = 0.9f;      // kMomentum
  float beta1 = 0.9f;         // kAdam
  float beta2 = 0.999f;       // kAdam
  float epsilon = 1e-8f;      // kAdam
  float weight_decay = 0.0f;  // SGD/momentum: L2 added to the gradient; Adam: decoupled (AdamW)
};

inline const EnumNames<OptimizerKind> kOptimizerNames("optimizer",
                                                      {{OptimizerKind::kSgd, "sgd"},
                                                       {OptimizerKind::kMomentum, "momentum"},
                                                       {OptimizerKind::kAdam, "adam"}});

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, size_t parameter_count);

  // params[i] -= update(grad_scale * grads[i]) for i < parameter_count, with learning rate `lr`.
  // grad_scale folds normalisation (1 / tokens) and clipping into this one pass over memory.
  void step(float* params, const float* grads, float lr, float grad_scale = 1.0f);

  const OptimizerConfig& config() const { return config_; }
  int64_t step_count() const { return step_count_; }
  // State for checkpoints: first moment (momentum buffer for kMomentum), second moment (Adam).
  AlignedVector<float>& first_moment() { return first_moment_; }
  AlignedVector<float>& second_moment() { return second_moment_; }
  void set_step_count(int64_t steps) { step_count_ = steps; }

 private:
  OptimizerConfig config_;
  size_t size_;
  int64_t step_count_ = 0;
  AlignedVector<float> first_moment_, second_moment_;
};

// The L2 norm of g[0..n), accumulated in double over fixed blocks in a fixed order, so it is
// bit-identical for any thread count (replicas must clip identically).
double global_norm(const float* g, size_t n);

// The factor that brings a gradient of norm `norm` down to max_norm (1 if it is already within,
// or if max_norm <= 0: no clipping).
double clip_factor(double norm, double max_norm);

// Scales g by clip_factor(global_norm(g), max_norm). Returns the norm before clipping.
double clip_by_global_norm(float* g, size_t n, double max_norm);

}  // namespace tandem::ops
