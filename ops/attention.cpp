#include "ops/attention.h"

#include <cmath>
#include <cstring>

#include "ops/errors.h"
#include "ops/matmul.h"
#include "ops/sequence_ops.h"

namespace tandem::ops {
namespace {

using dnnl::memory;

// Large negative instead of -inf: exp() underflows to exactly 0 and no inf - inf can occur.
constexpr float kMaskedScore = -1e30f;

// A batch-major [N, S or T, X] buffer seen as N matrices [steps, X].
StridedMatrix per_sequence(const float* data, int64_t steps, int64_t batch, int64_t channels) {
  return StridedMatrix::batched(data, batch, steps, channels, steps * channels, channels);
}

}  // namespace

Attention::Attention(DnnlContext& ctx, ParamStore& store, const std::string& name,
                     AttentionKind kind, int query_size, int key_size)
    : ctx_(ctx),
      store_(store),
      kind_(kind),
      query_size_(query_size),
      key_size_(key_size),
      projection_size_(query_size) {
  require_config(query_size > 0 && key_size > 0, name, "sizes must be positive");
  switch (kind) {
    case AttentionKind::kDot:
      require_config(query_size == key_size, "attention",
                     "dot attention needs the decoder hidden size (" + std::to_string(query_size) +
                         ") to equal the encoder output size (" + std::to_string(key_size) + ")");
      break;
    case AttentionKind::kGeneral:
      w_a_ = store.declare(name + "/w_a", {query_size, key_size},
                           {InitKind::kXavierUniform, 0.0f, key_size, query_size});
      break;
    case AttentionKind::kAdditive:
      w_keys_ = store.declare(name + "/w_keys", {projection_size_, key_size},
                              {InitKind::kXavierUniform, 0.0f, key_size, projection_size_});
      w_query_ = store.declare(name + "/w_query", {projection_size_, query_size},
                               {InitKind::kXavierUniform, 0.0f, query_size, projection_size_});
      v_ = store.declare(name + "/v", {projection_size_},
                         {InitKind::kXavierUniform, 0.0f, projection_size_, 1});
      break;
  }
}

void Attention::set_keys(const float* keys, int64_t source_steps, int64_t batch,
                         const int32_t* lengths) {
  source_steps_ = source_steps;
  batch_ = batch;
  lengths_.assign(lengths, lengths + batch);
  const int64_t rows = source_steps * batch;
  const int64_t width = kind_ == AttentionKind::kDot ? key_size_ : projection_size_;
  swap_outer_dims(keys, source_steps, batch, key_size_, resized(keys_, rows * key_size_), false);
  diff_keys_.assign(static_cast<size_t>(rows * key_size_), 0.0f);
  projected_keys_.resize(static_cast<size_t>(rows * width));
  diff_projected_keys_.assign(static_cast<size_t>(rows * width), 0.0f);
  if (kind_ == AttentionKind::kDot) {
    std::memcpy(projected_keys_.data(), keys_.data(), sizeof(float) * rows * width);
    return;
  }
  const ParamView& w = store_.view(kind_ == AttentionKind::kGeneral ? w_a_ : w_keys_);
  matmul(ctx_, StridedMatrix::dense(keys_.data(), rows, key_size_),
         StridedMatrix::dense(w.value, width, key_size_).transposed(),
         StridedMatrix::dense(projected_keys_.data(), rows, width), Accumulate::kOverwrite);
}

// weights[N, T, S] = unnormalised scores (masked positions set to kMaskedScore).
void Attention::scores(const float* queries, int64_t steps, const float* query_projection,
                       float* weights) {
  const int64_t S = source_steps_, N = batch_;
  if (kind_ != AttentionKind::kAdditive) {
    matmul(ctx_, per_sequence(queries, steps, N, query_size_),
           per_sequence(projected_keys_.data(), S, N, query_size_).transposed(),
           StridedMatrix::batched(weights, N, steps, S, steps * S, S), Accumulate::kOverwrite);
  } else {
    const int64_t A = projection_size_;
    const float* v = store_.view(v_).value;
    const float* keys = projected_keys_.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < steps; ++t) {
        const float* q = query_projection + (t * N + n) * A;
        for (int64_t s = 0; s < lengths_[n]; ++s) {
          const float* k = keys + (n * S + s) * A;
          float sum = 0.0f;
          for (int64_t a = 0; a < A; ++a) sum += v[a] * std::tanh(k[a] + q[a]);
          weights[(n * steps + t) * S + s] = sum;
        }
      }
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t s = lengths_[n]; s < S; ++s) weights[(n * steps + t) * S + s] = kMaskedScore;
}

// The softmax over source positions (rows of [N*T, S]), as oneDNN's v2 softmax API, the one
// OutputLoss uses too.
dnnl::softmax_v2_forward::primitive_desc Attention::softmax_forward_pd(
    const memory::desc& md) const {
  return {{dnnl::prop_kind::forward_training, dnnl::algorithm::softmax_accurate, md, md, 1},
          DnnlContext::attributes(),
          ctx_.engine()};
}

void Attention::masked_softmax(float* weights, int64_t steps) {
  const memory::desc md({batch_ * steps, source_steps_}, memory::data_type::f32,
                        memory::format_tag::ab);
  const std::string key =
      "softmax_fwd|" + std::to_string(batch_ * steps) + "x" + std::to_string(source_steps_);
  dnnl::primitive* found = ctx_.find_primitive(key);
  if (!found) found = &ctx_.remember(key, dnnl::softmax_v2_forward(softmax_forward_pd(md)));
  const memory data = user_memory(ctx_, md, weights);
  ctx_.run(*found, {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data}});
}

void Attention::softmax_backward(const float* weights, float* diff_weights, int64_t steps) {
  const memory::desc md({batch_ * steps, source_steps_}, memory::data_type::f32,
                        memory::format_tag::ab);
  const std::string key =
      "softmax_bwd|" + std::to_string(batch_ * steps) + "x" + std::to_string(source_steps_);
  dnnl::primitive* found = ctx_.find_primitive(key);
  if (!found) {
    const dnnl::softmax_v2_backward::primitive_desc pd(
        {dnnl::algorithm::softmax_accurate, md, md, md, 1}, DnnlContext::attributes(),
        ctx_.engine(), softmax_forward_pd(md));
    found = &ctx_.remember(key, dnnl::softmax_v2_backward(pd));
  }
  const memory diff = user_memory(ctx_, md, diff_weights);
  ctx_.run(*found, {{DNNL_ARG_DST, user_memory(ctx_, md, weights)},
                    {DNNL_ARG_DIFF_DST, diff},
                    {DNNL_ARG_DIFF_SRC, diff}});
}

void Attention::forward(const float* queries, int64_t steps, float* context, AttentionTape* tape) {
  if (!tape) inference_tape_.clear();
  AttentionTape& used = tape ? *tape : inference_tape_;
  if (used.used_ == used.chunks_.size()) used.chunks_.emplace_back();
  AttentionTape::Chunk& chunk = used.chunks_[used.used_++];
  chunk.queries = queries;
  chunk.steps = steps;
  const int64_t S = source_steps_, N = batch_;
  swap_outer_dims(queries, steps, N, query_size_,
                  resized(chunk.queries_by_batch, steps * N * query_size_), false);
  chunk.weights.resize(static_cast<size_t>(N * steps * S));
  const float* query_projection = nullptr;
  if (kind_ == AttentionKind::kAdditive) {
    chunk.query_projection.resize(static_cast<size_t>(steps * N * projection_size_));
    matmul(ctx_, StridedMatrix::dense(queries, steps * N, query_size_),
           StridedMatrix::dense(store_.view(w_query_).value, projection_size_, query_size_)
               .transposed(),
           StridedMatrix::dense(chunk.query_projection.data(), steps * N, projection_size_),
           Accumulate::kOverwrite);
    query_projection = chunk.query_projection.data();
  }
  scores(chunk.queries_by_batch.data(), steps, query_projection, chunk.weights.data());
  masked_softmax(chunk.weights.data(), steps);
  float* context_by_batch = resized(context_, N * steps * key_size_);
  matmul(ctx_, StridedMatrix::batched(chunk.weights.data(), N, steps, S, steps * S, S),
         per_sequence(keys_.data(), S, N, key_size_),
         per_sequence(context_by_batch, steps, N, key_size_), Accumulate::kOverwrite);
  swap_outer_dims(context_by_batch, N, steps, key_size_, context, false);
  last_weights_ = chunk.weights.data();
}

void Attention::backward(AttentionTape& tape, const float* diff_context, float* diff_queries) {
  if (tape.used_ == 0) throw std::logic_error("attention: backward without a matching forward");
  const AttentionTape::Chunk& chunk = tape.chunks_[--tape.used_];
  const int64_t S = source_steps_, N = batch_, T = chunk.steps;
  const StridedMatrix weights = StridedMatrix::batched(chunk.weights.data(), N, T, S, T * S, S);
  float* diff_context_by_batch = resized(diff_context_, N * T * key_size_);
  swap_outer_dims(diff_context, T, N, key_size_, diff_context_by_batch, false);
  const StridedMatrix diff_context_m = per_sequence(diff_context_by_batch, T, N, key_size_);
  // Value path: d(weights) and dK += weights^T dC.
  diff_weights_.resize(static_cast<size_t>(N * T * S));
  const StridedMatrix diff_weights =
      StridedMatrix::batched(diff_weights_.data(), N, T, S, T * S, S);
  matmul(ctx_, diff_context_m, per_sequence(keys_.data(), S, N, key_size_).transposed(),
         diff_weights, Accumulate::kOverwrite);
  matmul(ctx_, weights.transposed(), diff_context_m,
         per_sequence(diff_keys_.data(), S, N, key_size_), Accumulate::kAdd);
  softmax_backward(chunk.weights.data(), diff_weights_.data(), T);  // now d(scores)

  if (kind_ != AttentionKind::kAdditive) {
    const StridedMatrix queries = per_sequence(chunk.queries_by_batch.data(), T, N, query_size_);
    float* diff_queries_by_batch = resized(diff_queries_, N * T * query_size_);
    matmul(ctx_, diff_weights, per_sequence(projected_keys_.data(), S, N, query_size_),
           per_sequence(diff_queries_by_batch, T, N, query_size_), Accumulate::kOverwrite);
    swap_outer_dims(diff_queries_by_batch, N, T, query_size_, diff_queries, false);
    matmul(ctx_, diff_weights.transposed(), queries,
           per_sequence(diff_projected_keys_.data(), S, N, query_size_), Accumulate::kAdd);
    return;
  }
  // Additive: score = v . tanh(k + q) with k = W_k key, q = W_q query.
  const int64_t A = projection_size_;
  const ParamView& v = store_.view(v_);
  diff_query_projection_.assign(static_cast<size_t>(T * N * A), 0.0f);
  diff_v_partial_.assign(static_cast<size_t>(N * A), 0.0f);
  const float* keys = projected_keys_.data();
  const float* d_scores = diff_weights_.data();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {  // rows of n are disjoint: no races
    float* dv = diff_v_partial_.data() + n * A;
    for (int64_t t = 0; t < T; ++t) {
      const float* q = chunk.query_projection.data() + (t * N + n) * A;
      float* dq = diff_query_projection_.data() + (t * N + n) * A;
      for (int64_t s = 0; s < lengths_[n]; ++s) {
        const float ds = d_scores[(n * T + t) * S + s];
        const float* k = keys + (n * S + s) * A;
        float* dk = diff_projected_keys_.data() + (n * S + s) * A;
        for (int64_t a = 0; a < A; ++a) {
          const float th = std::tanh(k[a] + q[a]);
          const float g = ds * v.value[a] * (1.0f - th * th);
          dq[a] += g;
          dk[a] += g;
          dv[a] += ds * th;
        }
      }
    }
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < A; ++a) v.grad[a] += diff_v_partial_[static_cast<size_t>(n * A + a)];
  const ParamView& w_query = store_.view(w_query_);
  const StridedMatrix dq = StridedMatrix::dense(diff_query_projection_.data(), T * N, A);
  matmul(ctx_, dq, StridedMatrix::dense(w_query.value, A, query_size_),
         StridedMatrix::dense(diff_queries, T * N, query_size_), Accumulate::kOverwrite);
  matmul(ctx_, dq.transposed(), StridedMatrix::dense(chunk.queries, T * N, query_size_),
         StridedMatrix::dense(w_query.grad, A, query_size_), Accumulate::kAdd);
}

void Attention::finish_backward(float* diff_keys) {
  const int64_t rows = source_steps_ * batch_;
  if (kind_ == AttentionKind::kDot) {
    for (int64_t i = 0; i < rows * key_size_; ++i)
      diff_keys_[static_cast<size_t>(i)] += diff_projected_keys_[static_cast<size_t>(i)];
  } else {
    const ParamView& w = store_.view(kind_ == AttentionKind::kGeneral ? w_a_ : w_keys_);
    const int64_t width = projection_size_;
    const StridedMatrix d_projected =
        StridedMatrix::dense(diff_projected_keys_.data(), rows, width);
    matmul(ctx_, d_projected, StridedMatrix::dense(w.value, width, key_size_),
           StridedMatrix::dense(diff_keys_.data(), rows, key_size_), Accumulate::kAdd);
    matmul(ctx_, d_projected.transposed(), StridedMatrix::dense(keys_.data(), rows, key_size_),
           StridedMatrix::dense(w.grad, width, key_size_), Accumulate::kAdd);
  }
  swap_outer_dims(diff_keys_.data(), batch_, source_steps_, key_size_, diff_keys, true);
}

}  // namespace tandem::ops
