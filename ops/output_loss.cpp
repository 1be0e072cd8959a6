#include "ops/output_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "ops/errors.h"

namespace tandem::ops {

OutputLoss::OutputLoss(DnnlContext& ctx, ParamStore& store, const std::string& name,
                       int hidden_size, int vocab_size, float label_smoothing, Precision precision)
    : ctx_(ctx),
      // U(+-0.1), not Xavier: Xavier's bound sqrt(6 / (V + H)) shrinks with the vocabulary
      // (0.027 for 8k subwords), the initial logits are then nearly flat and learning starts
      // slowly. Measured on English->Chinese catalog text (docs/model.md, "Initial values").
      projection_(ctx, store, name, hidden_size, vocab_size, Activation::kNone, precision,
                  InitSpec{InitKind::kUniform, 0.1f}),
      vocab_size_(vocab_size),
      label_smoothing_(label_smoothing) {
  require_config(vocab_size >= 2, "tgt_vocab", "the target vocabulary needs at least 2 entries");
  require_config(label_smoothing >= 0.0f && label_smoothing < 1.0f, "label_smoothing",
                 "must be in [0, 1), got " + std::to_string(label_smoothing));
}

void OutputLoss::softmax(float* data, int64_t rows, dnnl::algorithm algorithm) {
  const dnnl::memory::desc md({rows, vocab_size_}, dnnl::memory::data_type::f32,
                              dnnl::memory::format_tag::ab);
  const std::string key =
      std::string(algorithm == dnnl::algorithm::softmax_log ? "logsoftmax|" : "softmax|") +
      std::to_string(rows) + "x" + std::to_string(vocab_size_);
  dnnl::primitive* found = ctx_.find_primitive(key);
  if (!found) {
    dnnl::softmax_v2_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, algorithm, md, md, 1}, DnnlContext::attributes(),
        ctx_.engine());
    found = &ctx_.remember(key, dnnl::softmax_v2_forward(pd));
  }
  const dnnl::memory memory = user_memory(ctx_, md, data);
  ctx_.run(*found, {{DNNL_ARG_SRC, memory}, {DNNL_ARG_DST, memory}});
}

void OutputLoss::log_probabilities(const float* h, int64_t rows, float* logprobs) {
  projection_.forward(h, rows, logprobs);
  softmax(logprobs, rows, dnnl::algorithm::softmax_log);
}

// Why softmax and not log-softmax: backward needs p = exp(log p) for all M x V entries, a slow
// scalar exp per element; oneDNN's vectorised softmax gives p directly. The loss needs only
// log p[target] per row, plus, for label smoothing, sum_k log p_k = sum_k z_k - (V - 1) * lse with
// lse = z_target - log p_target, from the logit sums taken before the softmax overwrites them.
LossSum OutputLoss::forward(const float* h, const int32_t* targets, int64_t rows,
                            float* probabilities) {
  for (int64_t m = 0; m < rows; ++m)
    if (targets[m] < 0 || targets[m] >= vocab_size_)
      throw std::out_of_range("output: target id " + std::to_string(targets[m]) +
                              " outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
  projection_.forward(h, rows, probabilities);
  const int64_t V = vocab_size_;
  const double eps = label_smoothing_;
  target_logits_.resize(static_cast<size_t>(rows));
  logit_sums_.assign(static_cast<size_t>(rows), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = probabilities + m * V;
    target_logits_[static_cast<size_t>(m)] = row[targets[m]];
    if (eps > 0.0) {
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (int64_t k = 1; k < V; ++k) sum += row[k];  // class 0 (<pad>) gets no mass
      logit_sums_[static_cast<size_t>(m)] = static_cast<float>(sum);
    }
  }
  softmax(probabilities, rows, dnnl::algorithm::softmax_accurate);

  // Per-row losses summed serially afterwards: an OpenMP reduction would add in thread-finishing
  // order, and the loss curve must be bit-reproducible (resume, N ranks vs 1).
  row_losses_.assign(static_cast<size_t>(rows), 0.0);
  const double smooth = eps / static_cast<double>(V - 1);
  for (int64_t m = 0; m < rows; ++m) {
    const int32_t target = targets[m];
    if (target == 0) continue;
    const double p = std::max(probabilities[m * V + target], std::numeric_limits<float>::min());
    const double log_p = std::log(p);
    double row_loss = -(1.0 - eps) * log_p;
    if (eps > 0.0) {
      const double lse = target_logits_[static_cast<size_t>(m)] - log_p;
      row_loss -= smooth * (logit_sums_[static_cast<size_t>(m)] - static_cast<double>(V - 1) * lse);
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
                          float* probabilities, float* diff_h) {
  const int64_t V = vocab_size_;
  const float eps = label_smoothing_;
  const float smooth = eps / static_cast<float>(V - 1);
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    float* row = probabilities + m * V;
    const int32_t target = targets[m];
    if (target == 0) {
      std::fill(row, row + V, 0.0f);
      continue;
    }
    // d/dlogit_k of -sum_j q_j log p_j = p_k - q_k
#pragma omp simd
    for (int64_t k = 0; k < V; ++k) row[k] = loss_scale * (row[k] - smooth);
    row[0] += loss_scale * smooth;  // <pad> has q = 0
    row[target] -= loss_scale * (1.0f - eps);
  }
  projection_.backward(h, nullptr, probabilities, rows, diff_h);
}

}  // namespace tandem::ops
