#include "trainer/train/train_step.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "ops/rng.h"
#include "trainer/train/clock.h"

namespace tandem::trainer {
Trainer::Trainer(Seq2SeqModel& model, const TrainStepConfig& config)
    : model_(model),
      config_(config),
      optimizer_(config.optimizer, model.params().total_size()),
      learning_rate_(config.learning_rate) {}

StepResult Trainer::train_step(const std::vector<const data::Batch*>& micro_batches,
                               const std::vector<int64_t>& positions) {
  StepResult result =
      exact_ ? exact_gradients(micro_batches, positions) : reduced_gradients(micro_batches);
  update_seconds_ = 0.0;
  if (result.global.tokens <= 0) {
    result.empty = true;
    return result;
  }
  ++step_;
  if (!result.skipped) update(result);
  return result;
}

// Gradients accumulated in float over this rank's micro-batches, then summed over ranks by the
// reducer (overlapping the last backward).
StepResult Trainer::reduced_gradients(const std::vector<const data::Batch*>& micro_batches) {
  ops::ParamStore& store = model_.params();
  ops::SectionTimes& times = model_.context().section_times();
  auto start = std::chrono::steady_clock::now();
  StepResult result;
  {
    ops::ScopedSection timer(times, "optimizer");
    // oneDNN RNN backward (and every backward in ops/) accumulates: zero once per step, here.
    store.zero_grads();
  }
  const ops::GradientsReady ready = [this, &store](size_t offset) {
    if (gradient_hook_) gradient_hook_(store, offset);
    if (reducer_) reducer_->gradients_ready(offset);
  };
  for (size_t i = 0; i < micro_batches.size(); ++i) {
    const uint64_t noise_key = ops::combine_keys(
        ops::combine_keys(config_.seed, static_cast<uint64_t>(step_)),
        ops::combine_keys(static_cast<uint64_t>(i), static_cast<uint64_t>(config_.rank)));
    const ops::LossSum loss = model_.forward(*micro_batches[i], noise_key);
    result.local.loss += loss.loss;
    result.local.tokens += loss.tokens;
    // Gradient of the loss SUM; normalised in the update by the global token count.
    const bool last = i + 1 == micro_batches.size();
    model_.backward(1.0f, last && (reducer_ || gradient_hook_) ? ready : ops::GradientsReady{});
  }
  compute_seconds_ = seconds_since(start);
  start = std::chrono::steady_clock::now();
  result.global = reducer_ ? reducer_->finish(result.local) : result.local;
  reduce_seconds_ = seconds_since(start);
  return result;
}

// Each micro-batch's gradient on its own (the buffer zeroed before it), added to the exact sum;
// the sum over ranks is exact, so the result has the same bits for any rank count
// (exact_sum.h). The last micro-batch is added and sent bucket by bucket as backward ends them.
StepResult Trainer::exact_gradients(const std::vector<const data::Batch*>& micro_batches,
                                    const std::vector<int64_t>& positions) {
  ops::ParamStore& store = model_.params();
  auto start = std::chrono::steady_clock::now();
  StepResult result;
  exact_->begin_step();
  {
    ops::ScopedSection timer(model_.context().section_times(), "optimizer");
    store.zero_grads();  // later micro-batches start from the zeros ExactSum::add leaves
  }
  const ops::GradientsReady ready = [this, &store](size_t offset) {
    if (gradient_hook_) gradient_hook_(store, offset);
    exact_->add_final(store.grads(), offset);
  };
  for (size_t i = 0; i < micro_batches.size(); ++i) {
    const uint64_t noise_key =
        ops::combine_keys(ops::combine_keys(config_.seed, static_cast<uint64_t>(step_)),
                          static_cast<uint64_t>(positions.at(i)));
    const ops::LossSum loss = model_.forward(*micro_batches[i], noise_key);
    exact_->add_totals(loss.loss, loss.tokens);
    result.local.loss += loss.loss;
    result.local.tokens += loss.tokens;
    const bool last = i + 1 == micro_batches.size();
    model_.backward(1.0f, last ? ready : ops::GradientsReady{});
    if (last)
      exact_->add_final(store.grads(), 0);
    else
      exact_->add(store.grads());
  }
  compute_seconds_ = seconds_since(start) - exact_->conversion_seconds();
  start = std::chrono::steady_clock::now();
  const double converted_before = exact_->conversion_seconds();
  const ExactSum::Result sum = exact_->finish(store.grads());
  fixed_point_seconds_ = exact_->conversion_seconds();
  reduce_seconds_ = seconds_since(start) - (fixed_point_seconds_ - converted_before);
  result.global = sum.totals;
  result.overflow = sum.overflow && !sum.non_finite;
  result.skipped = sum.overflow || sum.non_finite;
  if (result.overflow) exact_->lower_scale();  // every rank sees the same summed flags
  return result;
}

// Non-finite check, global-norm clipping and the optimizer, on the summed gradient.
void Trainer::update(StepResult& result) {
  ops::ParamStore& store = model_.params();
  const auto start = std::chrono::steady_clock::now();
  ops::ScopedSection timer(model_.context().section_times(), "optimizer");
  const double normalise = 1.0 / static_cast<double>(result.global.tokens);
  result.grad_norm = ops::global_norm(store.grads(), store.total_size()) * normalise;
  if (!std::isfinite(result.grad_norm) || !std::isfinite(result.global.loss)) {
    result.skipped = true;  // every rank sees the same reduced values, so every rank skips
    return;
  }
  const double scale = normalise * ops::clip_factor(result.grad_norm, config_.clip_norm);
  optimizer_.step(store.values(), store.grads(), learning_rate_, static_cast<float>(scale));
  store.mark_values_changed();
  update_seconds_ = seconds_since(start);
}

}  // namespace tandem::trainer
