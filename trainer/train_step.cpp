#include "trainer/train_step.h"

#include <cmath>
#include <optional>

#include "ops/rng.h"

namespace tandem::trainer {

Trainer::Trainer(Seq2SeqModel& model, const TrainStepConfig& config)
    : model_(model),
      config_(config),
      optimizer_(config.optimizer, model.params().total_size()),
      learning_rate_(config.learning_rate) {}

StepResult Trainer::train_step(const data::Batch& batch) {
  ops::ParamStore& store = model_.params();
  ops::SectionTimes& times = model_.context().section_times();
  std::optional<ops::ScopedSection> timer(std::in_place, times, "optimizer");
  // oneDNN RNN backward (and every backward in ops/) accumulates: zero once per step, here.
  store.zero_grads();
  timer.reset();
  const uint64_t noise_key = ops::combine_keys(config_.seed, static_cast<uint64_t>(step_));
  const ops::LossSum loss = model_.forward(batch, noise_key);
  model_.backward(1.0f);  // gradient of the loss SUM; normalised below by the global count
  const int64_t global_tokens = reducer_ ? reducer_(store, loss.tokens) : loss.tokens;
  timer.emplace(times, "optimizer");

  StepResult result;
  result.loss_sum = loss.loss;
  result.tokens = loss.tokens;
  ++step_;
  if (global_tokens <= 0) {
    result.skipped = true;
    return result;
  }
  // The buffer holds d(loss sum); the optimizer applies 1/tokens and the clip factor in its pass.
  const double normalise = 1.0 / static_cast<double>(global_tokens);
  result.grad_norm = ops::global_norm(store.grads(), store.total_size()) * normalise;
  if (!std::isfinite(result.grad_norm) || !std::isfinite(loss.loss)) {
    result.skipped = true;
    return result;
  }
  const double scale = normalise * ops::clip_factor(result.grad_norm, config_.clip_norm);
  optimizer_.step(store.values(), store.grads(), learning_rate_, static_cast<float>(scale));
  store.mark_values_changed();
  return result;
}

}  // namespace tandem::trainer
