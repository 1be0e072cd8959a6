// The decoder's last layer and its loss: logits = h W^T + b, log-softmax over the vocabulary,
// cross-entropy against the target ids with optional label smoothing; <pad> targets (id 0) are
// ignored. Returns the loss SUM and the count of real target tokens: the caller normalises
// (by the global token count over all ranks, docs/design.md, invariant 2).
// Letters: M rows (target positions), H hidden size, V vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/dense.h"

namespace tandem::ops {

struct LossSum {
  double loss = 0.0;   // sum over real target tokens of -sum_k q_k log p_k
  int64_t tokens = 0;  // real (non-pad) target tokens
};

class OutputLoss {
 public:
  // Declares "<name>/weight" [V, H] and "<name>/bias" [V].
  // label_smoothing eps in [0, 1): the target distribution is (1 - eps) on the true token plus
  // eps spread uniformly over the V - 1 non-pad classes.
  OutputLoss(DnnlContext& ctx, ParamStore& store, const std::string& name, int hidden_size,
             int vocab_size, float label_smoothing, Precision precision = Precision::kF32);

  // Overwrites probabilities[M, V] with softmax(h W^T + b) and returns the loss of the rows
  // whose target is not <pad>. Throws std::out_of_range for a target id outside [0, V).
  // Known imprecision: a target probability that underflows f32 (< 1e-38) counts as 1e-38 in
  // the loss value (87.3 nats); its gradient is exact.
  LossSum forward(const float* h, const int32_t* targets, int64_t rows, float* probabilities);

  // Backward of forward(): turns probabilities (as forward left them) into
  // d(loss_scale * loss)/d logits in place, accumulates the projection's parameter gradients,
  // overwrites diff_h[M, H].
  void backward(const float* h, const int32_t* targets, int64_t rows, float loss_scale,
                float* probabilities, float* diff_h);

  // Inference: logprobs[M, V] only.
  void log_probabilities(const float* h, int64_t rows, float* logprobs);

  int vocab_size() const { return vocab_size_; }

 private:
  DnnlContext& ctx_;
  Dense projection_;
  int vocab_size_;
  float label_smoothing_;
  void softmax(float* data, int64_t rows, dnnl::algorithm algorithm);

  std::vector<double> row_losses_;
  std::vector<float> target_logits_, logit_sums_;
};

}  // namespace tandem::ops
