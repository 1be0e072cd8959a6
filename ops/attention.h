// Attention of decoder states (queries) over encoder states (keys = values), with a source
// padding mask: scores -> masked softmax -> context vectors. Score functions:
//   dot       q . k                         (requires H == C)
//   general   q . W_a k        (Luong)      W_a [H, C]
//   additive  v . tanh(W_k k + W_q q) (Bahdanau)  W_k [A, C], W_q [A, H], v [A], A = H
// Letters: S source steps, T target steps (queries), N batch, C key size, H query size.
// Layouts: keys [S, N, C] and queries/context [T, N, *] are tnc; weights are [N, T, S].
// Inside, keys, projected keys and queries are kept batch-major ([N, S, *], [N, T, *]): oneDNN's
// batched matmul uses its brgemm kernels only when the batch is the outermost dimension (on tnc
// views it fell back to gemm:jit at ~6 % of the f32 peak, 7 % of bench-small's step).
//
// Use per batch: set_keys() once (projects the keys), forward() for one or more chunks of
// queries (all at once, or step by step for scheduled sampling), backward() for each chunk in
// reverse order, then finish_backward() once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/dnnl_context.h"
#include "ops/param_store.h"

namespace tandem::ops {

// Configuration names (dot, general, additive) are persisted: never rename.
enum class AttentionKind { kDot, kGeneral, kAdditive };

// What forward saves for backward, a stack of chunks. Reused across steps.
class AttentionTape {
 public:
  void clear() { used_ = 0; }

 private:
  friend class Attention;
  struct Chunk {
    const float* queries = nullptr;         // [T, N, H], the caller's
    AlignedVector<float> queries_by_batch;  // [N, T, H]
    int64_t steps = 0;
    AlignedVector<float> weights;           // [N, T, S]
    AlignedVector<float> query_projection;  // additive only: W_q q, [T, N, A]
  };
  std::vector<Chunk> chunks_;
  size_t used_ = 0;
};

class Attention {
 public:
  Attention(DnnlContext& ctx, ParamStore& store, const std::string& name, AttentionKind kind,
            int query_size, int key_size);

  // Takes keys[S, N, C] (copied) and the source lengths[N] (positions s >= lengths[n] get zero
  // weight). Projects the keys and, for training, zeroes the key-projection gradient.
  void set_keys(const float* keys, int64_t source_steps, int64_t batch, const int32_t* lengths);

  // context[T, N, C] for queries[T, N, H]. With a tape, records the chunk for backward (queries
  // must stay unchanged until then). Overwrites context.
  void forward(const float* queries, int64_t steps, float* context, AttentionTape* tape);

  // Backward of the newest chunk on the tape (popped). Overwrites diff_queries[T, N, H];
  // accumulates the parameter gradients and, inside, the keys' gradient.
  void backward(AttentionTape& tape, const float* diff_context, float* diff_queries);

  // After the last backward of the batch: adds the keys' gradient (value and key-projection
  // paths) to diff_keys[S, N, C] and the projection's gradient to its parameters.
  void finish_backward(float* diff_keys);

  // Attention weights [N, T, S] of the newest forward (for alignment dumps and tests).
  const float* last_weights() const { return last_weights_; }
  AttentionKind kind() const { return kind_; }

 private:
  void scores(const float* queries, int64_t steps, const float* query_projection, float* weights);
  void masked_softmax(float* weights, int64_t steps);
  void softmax_backward(const float* weights, float* diff_weights, int64_t steps);
  dnnl::softmax_v2_forward::primitive_desc softmax_forward_pd(const dnnl::memory::desc& md) const;

  DnnlContext& ctx_;
  ParamStore& store_;
  AttentionKind kind_;
  int query_size_, key_size_, projection_size_;
  ParamId w_a_ = -1, w_keys_ = -1, w_query_ = -1, v_ = -1;
  // Per batch:
  int64_t source_steps_ = 0, batch_ = 0;
  std::vector<int32_t> lengths_;
  AlignedVector<float> keys_, diff_keys_;                      // [N, S, C]
  AlignedVector<float> projected_keys_, diff_projected_keys_;  // [N, S, H or A]
  // Scratch:
  AttentionTape inference_tape_;
  AlignedVector<float> context_, diff_context_, diff_queries_;  // [N, T, *]
  AlignedVector<float> diff_weights_, diff_query_projection_, diff_v_partial_;
  const float* last_weights_ = nullptr;
};

}  // namespace tandem::ops
