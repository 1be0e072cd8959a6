// The decoder's last layer and its loss: logits = h W^T + b, log-softmax over the vocabulary,
// cross-entropy against the target ids with optional label smoothing; <pad> targets (id 0) are
// ignored. Returns the loss SUM and the count of real target tokens: the caller normalises
// (by the global token count over all ranks, design invariant 2).
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
             int vocab_size, float label_smoothing);

  // Overwrites logprobs[M, V] with log-softmax(h W^T + b) and returns the loss of the rows whose
  // target is not <pad>. Throws std::out_of_range for a target id outside [0, V).
  LossSum forward(const float* h, const int32_t* targets, int64_t rows, float* logprobs);

  // Backward of forward(): turns logprobs (as forward left them) into d(loss_scale * loss)/d
  // logits in place, accumulates the projection's parameter gradients, overwrites diff_h[M, H].
  void backward(const float* h, const int32_t* targets, int64_t rows, float loss_scale,
                float* logprobs, float* diff_h);

  // Inference: logprobs[M, V] only.
  void log_probabilities(const float* h, int64_t rows, float* logprobs);

  int vocab_size() const { return vocab_size_; }

 private:
  DnnlContext& ctx_;
  Dense projection_;
  int vocab_size_;
  float label_smoothing_;
  std::vector<double> row_losses_;
};

}  // namespace tandem::ops
