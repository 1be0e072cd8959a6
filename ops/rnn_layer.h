// One recurrent layer in one direction (left to right) on oneDNN's RNN primitives: LSTM, GRU,
// linear-before-reset GRU or a vanilla tanh RNN. The primitive does the recurrence; this class
// makes it exact for padded batches and plugs it into the flat parameter buffers.
//
// Letters: T time steps, N batch, I input features, H hidden size, G gates (oneDNN's order:
// LSTM i, f, c~, o; GRU u, r, o), tnc = time-major [T][N][C], ldigo/ldgo = oneDNN weight layouts.
//
// Variable lengths. The batch must be sorted by length, longest first. The time axis is cut at
// every distinct length into segments; a segment runs one primitive over the sequences still
// active, addressed as a strided sub-view of the full tnc buffer (as oneDNN's
// rnn_training_f32 example does), and its final state seeds the next segment. So no step past a
// sequence's end is ever computed: outputs, final states and all gradients of a sequence are
// exactly those of the sequence alone (docs/design.md, invariant 9). Right-to-left layers are built
// by the caller from a per-sequence reversal (ops/sequence_ops.h) and this left-to-right layer.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/bf16.h"
#include "ops/dnnl_context.h"
#include "ops/lru_cache.h"
#include "ops/param_store.h"

namespace tandem::ops {

// Cell kinds. Their configuration names (lstm, gru, lbr_gru, rnn_tanh) are persisted in run
// configurations: never rename.
enum class CellKind { kLstm, kGru, kLbrGru, kVanillaTanh };

int gate_count(CellKind cell);       // G: 4, 3, 3, 1
int bias_gate_count(CellKind cell);  // as G, except 4 for LBR-GRU (its extra reset-gate bias)
bool has_cell_state(CellKind cell);  // LSTM only

// What a training forward saves for its backward: a stack of calls, each with its segments'
// states and one workspace arena that holds every segment's workspace. Reused across steps
// (buffers keep their capacity). One arena per call, not one buffer per segment: a segment
// index's buffer would keep the largest size it ever had, and the sum of those per-index maxima
// is several times any one batch's need (measured: ~3x on CMUdict, docs/training.md).
class RnnTape {
 public:
  void clear() { used_ = 0; }
  bool empty() const { return used_ == 0; }

 private:
  friend class RnnLayer;
  struct Segment {
    int64_t t_begin = 0, t_end = 0, batch = 0;
    size_t workspace_offset = 0;         // in bytes, into Call::workspace
    AlignedVector<unsigned char> state;  // dst_iter [batch, H] (layer type), then dst_iter_c f32
  };
  struct Call {
    const float* x = nullptr;  // f32: the caller's input and output, used by backward
    const float* y = nullptr;
    AlignedVector<bf16_t> low_x, low_y;  // bf16: the primitive's own copies
    int64_t steps = 0, batch = 0;
    std::vector<Segment> segments;
    size_t segment_count = 0;
    AlignedVector<unsigned char> workspace;      // every segment's workspace, 64-byte aligned each
    AlignedVector<unsigned char> initial_state;  // h0 [N, H] (layer type), then c0 [N, H] f32
  };
  Call& push();
  Call& pop();
  std::vector<Call> calls_;
  size_t used_ = 0;
};

class RnnLayer {
 public:
  // Primitives kept per layer (one per segment shape: steps, batch, full batch, training), the
  // least recently used forgotten first (ops/lru_cache.h): memory stays bounded however many
  // shapes the data has.
  static constexpr size_t kMaxCachedPrimitives = 128;

  // Declares "<name>/weights_layer" [I, G, H] and "<name>/weights_iter" [H, G, H] (oneDNN ldigo
  // with L = D = 1) and "<name>/bias" [Gb, H] (ldgo), all uniform(+-1/sqrt(H)) as in PyTorch.
  // precision kBf16: the recurrence runs on bf16 copies (mixed precision); see rnn_layer.cpp.
  RnnLayer(DnnlContext& ctx, ParamStore& store, const std::string& name, CellKind cell,
           int input_size, int hidden_size, Precision precision = Precision::kF32);

  // Runs the layer over x[T, N, I] (tnc). lengths[N]: non-increasing, each in [1, T].
  // h0, c0: initial states [N, H], or null for zeros (c0 is ignored unless LSTM).
  // Writes y[T, N, H] (zero at steps t >= lengths[n]) and, unless null, h_last/c_last [N, H]:
  // the state after each sequence's own last step.
  // With a tape (training), records what backward needs; x and y must then stay unchanged
  // until that backward. With tape == nullptr, runs the faster inference primitive.
  // Throws std::invalid_argument for lengths that are not sorted or out of range.
  void forward(const float* x, int64_t steps, int64_t batch, const int32_t* lengths,
               const float* h0, const float* c0, float* y, float* h_last, float* c_last,
               RnnTape* tape);

  // Backward of the newest call on `tape` (popped). diff_y[T, N, H] is read at real steps only;
  // diff_h_last/diff_c_last [N, H] may be null (zero).
  // Accumulates into the weight and bias gradients (oneDNN RNN backward accumulates, so the
  // trainer zeroes gradients once per step). Overwrites diff_x[T, N, I] (zero at padded steps)
  // and, unless null, diff_h0/diff_c0 [N, H].
  void backward(RnnTape& tape, const float* diff_y, const float* diff_h_last,
                const float* diff_c_last, float* diff_x, float* diff_h0, float* diff_c0);

  CellKind cell() const { return cell_; }
  int input_size() const { return input_size_; }
  int hidden_size() const { return hidden_size_; }

 private:
  struct Primitives {
    dnnl::primitive_desc forward_pd, backward_pd;
    dnnl::primitive forward, backward;
  };
  struct ReorderedWeights {  // a copy of weights in a layout a primitive wants
    dnnl::memory::desc md;
    dnnl::memory memory;
    uint64_t version = 0;
    int arg = 0;  // DNNL_ARG_WEIGHTS_LAYER or DNNL_ARG_WEIGHTS_ITER
  };

  Primitives& primitives(int64_t steps, int64_t batch, int64_t full_batch, bool training);
  std::pair<const void*, void*> begin_call(RnnTape::Call& call, const float* x, int64_t steps,
                                           int64_t batch, const float* h0, const float* c0,
                                           float* y);
  void plan_segments(RnnTape::Call& call, const int32_t* lengths, bool training);
  void forward_segment(RnnTape::Segment& segment, unsigned char* workspace, int64_t full_batch,
                       const unsigned char* source, unsigned char* destination,
                       const unsigned char* previous_state, int64_t previous_batch);
  void backward_segment(const RnnTape::Call& call, size_t s, const float* diff_y, float* diff_x);
  dnnl::memory weights_for(const dnnl::primitive_desc& pd, int arg);
  dnnl::memory::desc weights_md(int arg) const;

  DnnlContext& ctx_;
  ParamStore& store_;
  std::string name_;
  CellKind cell_;
  int input_size_, hidden_size_;
  dnnl::memory::data_type type_;  // of the layer input/output and hidden states
  ParamId weights_layer_, weights_iter_, bias_;
  LruCache<std::tuple<int64_t, int64_t, int64_t, bool>, Primitives> primitives_{
      kMaxCachedPrimitives};
  std::vector<ReorderedWeights> reordered_;
  RnnTape inference_tape_;
  AlignedVector<float> carry_, diff_src_iter_;  // backward scratch
};

}  // namespace tandem::ops
