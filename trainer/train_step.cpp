#include "trainer/train_step.h"

#include <cmath>

#include "ops/rng.h"

namespace tandem::trainer {

Trainer::Trainer(Seq2SeqModel& model, const TrainStepConfig& config)
    : model_(model), config_(config), optimizer_(config.optimizer, model.params().total_size()),
      learning_rate_(config.learning_rate) {}

StepResult Trainer::train_step(const data::Batch& batch) {
  ops::ParamStore& store = model_.params();
  // oneDNN RNN backward (and every backward in ops/) accumulates: zero once per step, here.
  store.zero_grads();
  const uint64_t noise_key = ops::combine_keys(config_.seed, static_cast<uint64_t>(step_));
  const ops::LossSum loss = model_.forward(batch, noise_key);
  model_.backward(1.0f);  // gradient of the loss SUM; normalised below by the global count
  const int64_t global_tokens = reducer_ ? reducer_(store, loss.tokens) : loss.tokens;

  StepResult result;
  result.loss_sum = loss.loss;
  result.tokens = loss.tokens;
  ++step_;
  if (global_tokens <= 0) {
    result.skipped = true;
    return result;
  }
  const size_t n = store.total_size();
  float* grads = store.grads();
  const auto scale = static_cast<float>(1.0 / static_cast<double>(global_tokens));
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) grads[i] *= scale;
  result.grad_norm = ops::clip_by_global_norm(grads, n, config_.clip_norm);
  if (!std::isfinite(result.grad_norm) || !std::isfinite(loss.loss)) {
    result.skipped = true;
    return result;
  }
  optimizer_.step(store.values(), grads, learning_rate_);
  store.mark_values_changed();
  return result;
}

}  // namespace tandem::trainer
