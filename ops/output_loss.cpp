#include "ops/output_loss.h"

#include <cmath>
#include <stdexcept>

#include "ops/errors.h"

namespace tandem::ops {

OutputLoss::OutputLoss(DnnlContext& ctx, ParamStore& store, const std::string& name,
                       int hidden_size, int vocab_size, float label_smoothing)
    : ctx_(ctx), projection_(ctx, store, name, hidden_size, vocab_size, Activation::kNone),
      vocab_size_(vocab_size), label_smoothing_(label_smoothing) {
  require_config(vocab_size >= 2, "tgt_vocab", "the target vocabulary needs at least 2 entries");
  require_config(label_smoothing >= 0.0f && label_smoothing < 1.0f, "label_smoothing",
                 "must be in [0, 1), got " + std::to_string(label_smoothing));
}

void OutputLoss::log_probabilities(const float* h, int64_t rows, float* logprobs) {
  projection_.forward(h, rows, logprobs);
  const dnnl::memory::desc md({rows, vocab_size_}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
  const std::string key = "logsoftmax|" + std::to_string(rows) + "x" + std::to_string(vocab_size_);
  auto& cache = ctx_.primitive_cache();
  auto found = cache.find(key);
  if (found == cache.end()) {
    dnnl::softmax_v2_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_log, md, md, 1}, ctx_.engine());
    found = cache.emplace(key, dnnl::softmax_v2_forward(pd)).first;
  }
  const dnnl::memory data = user_memory(ctx_, md, logprobs);
  found->second.execute(ctx_.stream(), {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data}});
  ctx_.stream().wait();
}

LossSum OutputLoss::forward(const float* h, const int32_t* targets, int64_t rows, float* logprobs) {
  for (int64_t m = 0; m < rows; ++m)
    if (targets[m] < 0 || targets[m] >= vocab_size_)
      throw std::out_of_range("output: target id " + std::to_string(targets[m]) +
                              " outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
  log_probabilities(h, rows, logprobs);
  const int64_t V = vocab_size_;
  const double eps = label_smoothing_;
  const double smooth = eps / static_cast<double>(V - 1);
  // Per-row losses summed serially afterwards: an OpenMP reduction would add in thread-finishing
  // order, and the loss curve must be bit-reproducible (resume, N ranks vs 1).
  row_losses_.assign(static_cast<size_t>(rows), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    const int32_t target = targets[m];
    if (target == 0) continue;
    const float* row = logprobs + m * V;
    double row_loss = -(1.0 - eps) * row[target];
    if (eps > 0.0) {
      double sum = 0.0;
      for (int64_t k = 1; k < V; ++k) sum += row[k];  // class 0 (<pad>) gets no mass
      row_loss -= smooth * sum;
    }
    row_losses_[static_cast<size_t>(m)] = row_loss;
  }
  LossSum sum;
  for (int64_t m = 0; m < rows; ++m) {
    sum.loss += row_losses_[static_cast<size_t>(m)];
    sum.tokens += targets[m] != 0;
  }
  return sum;
}

void OutputLoss::backward(const float* h, const int32_t* targets, int64_t rows, float loss_scale,
                          float* logprobs, float* diff_h) {
  const int64_t V = vocab_size_;
  const float eps = label_smoothing_;
  const float smooth = eps / static_cast<float>(V - 1);
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    float* row = logprobs + m * V;
    const int32_t target = targets[m];
    if (target == 0) {
      for (int64_t k = 0; k < V; ++k) row[k] = 0.0f;
      continue;
    }
    // d/dlogit_k of -sum_j q_j log p_j = p_k - q_k
    row[0] = loss_scale * std::exp(row[0]);
    for (int64_t k = 1; k < V; ++k) row[k] = loss_scale * (std::exp(row[k]) - smooth);
    row[target] -= loss_scale * (1.0f - eps);
  }
  projection_.backward(h, nullptr, logprobs, rows, diff_h);
}

}  // namespace tandem::ops
