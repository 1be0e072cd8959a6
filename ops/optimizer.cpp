#include "ops/optimizer.h"

#include <algorithm>
#include <cmath>

#include "ops/errors.h"

namespace tandem::ops {

Optimizer::Optimizer(const OptimizerConfig& config, size_t parameter_count)
    : config_(config), size_(parameter_count) {
  require_config(config.momentum >= 0.0f && config.momentum < 1.0f, "momentum",
                 "must be in [0, 1)");
  require_config(config.beta1 >= 0.0f && config.beta1 < 1.0f, "beta1", "must be in [0, 1)");
  require_config(config.beta2 >= 0.0f && config.beta2 < 1.0f, "beta2", "must be in [0, 1)");
  require_config(config.epsilon > 0.0f, "epsilon", "must be positive");
  require_config(config.weight_decay >= 0.0f, "weight_decay", "must be non-negative");
  if (config.kind != OptimizerKind::kSgd) first_moment_.assign(size_, 0.0f);
  if (config.kind == OptimizerKind::kAdam) second_moment_.assign(size_, 0.0f);
}

void Optimizer::step(float* params, const float* grads, float lr, float grad_scale) {
  ++step_count_;
  const float decay = config_.weight_decay;
  const float s = grad_scale;
  const auto n = static_cast<int64_t>(size_);
  switch (config_.kind) {
    case OptimizerKind::kSgd:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) params[i] -= lr * (s * grads[i] + decay * params[i]);
      break;
    case OptimizerKind::kMomentum: {
      float* velocity = first_moment_.data();
      const float mu = config_.momentum;
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        velocity[i] = mu * velocity[i] + s * grads[i] + decay * params[i];
        params[i] -= lr * velocity[i];
      }
      break;
    }
    case OptimizerKind::kAdam: {
      float* m = first_moment_.data();
      float* v = second_moment_.data();
      const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
      const auto t = static_cast<double>(step_count_);
      const float correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), t));
      const float correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(b2), t));
      const float step_size = lr / correction1;
      const float inv_sqrt_correction2 = 1.0f / std::sqrt(correction2);
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        const float g = s * grads[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        const float denom = std::sqrt(v[i]) * inv_sqrt_correction2 + eps;
        params[i] -= step_size * m[i] / denom + lr * decay * params[i];
      }
      break;
    }
  }
}

double global_norm(const float* g, size_t n) {
  constexpr size_t kBlock = 1 << 14;
  const size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
#pragma omp parallel for schedule(static)
  for (size_t b = 0; b < blocks; ++b) {
    double sum = 0.0;
    const size_t end = std::min(n, (b + 1) * kBlock);
    // simd reassociates within a block only: still the same order for any thread count.
#pragma omp simd reduction(+ : sum)
    for (size_t i = b * kBlock; i < end; ++i) sum += static_cast<double>(g[i]) * g[i];
    partial[b] = sum;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

double clip_factor(double norm, double max_norm) {
  return max_norm > 0.0 && norm > max_norm ? max_norm / norm : 1.0;
}

double clip_by_global_norm(float* g, size_t n, double max_norm) {
  const double norm = global_norm(g, n);
  const double factor = clip_factor(norm, max_norm);
  if (factor != 1.0) {
    const auto scale = static_cast<float>(factor);
    const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) g[i] *= scale;
  }
  return norm;
}

}  // namespace tandem::ops
