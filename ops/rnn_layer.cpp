// Constraints that shaped this file (oneDNN 2.6 behaviour measured here; docs/design.md lists
// the facts the code relies on):
// 1. f32 training uses forward_training + workspace, then backward with the forward pd as hint.
// 2. Forward weights and diff weights are accepted in plain ldigo (the flat buffers' layout), so
//    forward reads the parameters in place and backward accumulates straight into the flat
//    gradient buffer. Backward insists on ldgoi weights: those are a reordered copy, refreshed
//    when ParamStore::values_version() changes (once per optimizer step).
// 3. Optional states come in pairs (src_iter <-> diff_src_iter, ...); we always pass every state,
//    zeros where there is none, so one code path serves every cell and every segment.
// 4. Inference uses forward_inference with weights in the layout the primitive prefers (a
//    faster brgemm implementation), reordered once per values_version.
// 5. bf16 (mixed precision): layer input/output and hidden states are bf16 copies owned by the
//    tape (the cell state c and every gradient stay f32); weights are bf16 reorders of the f32
//    master, diff weights still accumulate in f32 into the flat gradient buffer. oneDNN then
//    picks its brgemm kernels (~1.4x the f32 ref kernels on this CPU).
#include "ops/rnn_layer.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "ops/bf16.h"
#include "ops/errors.h"

namespace tandem::ops {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr auto kLeftToRight = dnnl::rnn_direction::unidirectional_left2right;

struct RnnDescs {
  memory::desc src_layer, src_iter, src_iter_c, weights_layer, weights_iter, bias, dst_layer,
      dst_iter, dst_iter_c;
};

// GRU and LBR-GRU take the same arguments.
template <typename Forward, typename Backward>
void make_gru_pds(dnnl::prop_kind prop, bool training, const RnnDescs& f, const RnnDescs& b,
                  const RnnDescs& d, const dnnl::engine& engine, dnnl::primitive_desc& forward_pd,
                  dnnl::primitive_desc& backward_pd) {
  typename Forward::primitive_desc fpd(
      {prop, kLeftToRight, f.src_layer, f.src_iter, f.weights_layer, f.weights_iter, f.bias,
       f.dst_layer, f.dst_iter},
      DnnlContext::attributes(), engine);
  forward_pd = fpd;
  if (training)
    backward_pd = typename Backward::primitive_desc(
        {dnnl::prop_kind::backward, kLeftToRight, b.src_layer, b.src_iter, b.weights_layer,
         b.weights_iter, b.bias, b.dst_layer, b.dst_iter, d.src_layer, d.src_iter, d.weights_layer,
         d.weights_iter, d.bias, d.dst_layer, d.dst_iter},
        DnnlContext::attributes(), engine, fpd);
}

// Builds the forward (and, for training, backward) primitive descriptors of `cell`.
// f: forward descriptors; b: the same with weights left to the primitive (it wants ldgoi);
// d: the gradients' descriptors (f32, diff weights in the master's plain ldigo).
void make_pds(CellKind cell, bool training, const RnnDescs& f, const RnnDescs& b, const RnnDescs& d,
              const dnnl::engine& engine, dnnl::primitive_desc& forward_pd,
              dnnl::primitive_desc& backward_pd) {
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  switch (cell) {
    case CellKind::kLstm: {
      dnnl::lstm_forward::primitive_desc fpd(
          {prop, kLeftToRight, f.src_layer, f.src_iter, f.src_iter_c, f.weights_layer,
           f.weights_iter, f.bias, f.dst_layer, f.dst_iter, f.dst_iter_c},
          DnnlContext::attributes(), engine);
      forward_pd = fpd;
      if (training)
        backward_pd = dnnl::lstm_backward::primitive_desc({dnnl::prop_kind::backward,
                                                           kLeftToRight,
                                                           b.src_layer,
                                                           b.src_iter,
                                                           b.src_iter_c,
                                                           b.weights_layer,
                                                           b.weights_iter,
                                                           b.bias,
                                                           b.dst_layer,
                                                           b.dst_iter,
                                                           b.dst_iter_c,
                                                           d.src_layer,
                                                           d.src_iter,
                                                           d.src_iter_c,
                                                           d.weights_layer,
                                                           d.weights_iter,
                                                           d.bias,
                                                           d.dst_layer,
                                                           d.dst_iter,
                                                           d.dst_iter_c},
                                                          DnnlContext::attributes(), engine, fpd);
      return;
    }
    case CellKind::kGru:
      make_gru_pds<dnnl::gru_forward, dnnl::gru_backward>(prop, training, f, b, d, engine,
                                                          forward_pd, backward_pd);
      return;
    case CellKind::kLbrGru:
      make_gru_pds<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(prop, training, f, b, d, engine,
                                                                  forward_pd, backward_pd);
      return;
    case CellKind::kVanillaTanh: {
      const auto tanh = dnnl::algorithm::eltwise_tanh;
      dnnl::vanilla_rnn_forward::primitive_desc fpd(
          {prop, tanh, kLeftToRight, f.src_layer, f.src_iter, f.weights_layer, f.weights_iter,
           f.bias, f.dst_layer, f.dst_iter},
          DnnlContext::attributes(), engine);
      forward_pd = fpd;
      if (training)
        backward_pd = dnnl::vanilla_rnn_backward::primitive_desc(
            {dnnl::prop_kind::backward, tanh, kLeftToRight, b.src_layer, b.src_iter,
             b.weights_layer, b.weights_iter, b.bias, b.dst_layer, b.dst_iter, d.src_layer,
             d.src_iter, d.weights_layer, d.weights_iter, d.bias, d.dst_layer, d.dst_iter},
            DnnlContext::attributes(), engine, fpd);
      return;
    }
  }
}

memory::desc state_md(int64_t batch, int64_t hidden, dt type = dt::f32) {
  return memory::desc({1, 1, batch, hidden}, type, tag::ldnc);
}

// [steps, batch, channels] rows of a tnc buffer whose full batch is `full_batch`.
memory::desc sequence_md(int64_t steps, int64_t batch, int64_t channels, int64_t full_batch,
                         dt type = dt::f32) {
  return memory::desc({steps, batch, channels}, type, {full_batch * channels, channels, 1});
}

size_t element_size(dt type) {
  return type == dt::bf16 ? 2 : 4;
}

// Zeroes rows [from_row, full_batch) of steps [t_begin, t_end) in a tnc buffer.
void zero_rows(void* data, size_t element, int64_t t_begin, int64_t t_end, int64_t from_row,
               int64_t full_batch, int64_t channels) {
  if (from_row >= full_batch) return;
  auto* bytes = static_cast<unsigned char*>(data);
  for (int64_t t = t_begin; t < t_end; ++t)
    std::memset(bytes + (t * full_batch + from_row) * channels * element, 0,
                element * static_cast<size_t>((full_batch - from_row) * channels));
}

// A state buffer holds h [rows, H] in the layer's type, then (64-byte aligned) c [rows, H] f32.
size_t cell_offset(int64_t rows, int64_t hidden, size_t element) {
  return (static_cast<size_t>(rows * hidden) * element + 63) / 64 * 64;
}
size_t state_bytes(int64_t rows, int64_t hidden, size_t element) {
  return cell_offset(rows, hidden, element) + static_cast<size_t>(rows * hidden) * sizeof(float);
}

// Copies `rows` rows of H values from a state h part (layer type) into f32 `out`.
void copy_h_to_f32(const unsigned char* state, dt type, int64_t first_row, int64_t rows,
                   int64_t hidden, float* out) {
  if (type == dt::bf16)
    convert_to_f32(reinterpret_cast<const bf16_t*>(state) + first_row * hidden, out, rows * hidden);
  else
    std::memcpy(out, reinterpret_cast<const float*>(state) + first_row * hidden,
                sizeof(float) * static_cast<size_t>(rows * hidden));
}

void check_lengths(const int32_t* lengths, int64_t steps, int64_t batch) {
  for (int64_t n = 0; n < batch; ++n) {
    if (lengths[n] < 1 || lengths[n] > steps)
      throw std::invalid_argument("rnn: length " + std::to_string(lengths[n]) + " of sequence " +
                                  std::to_string(n) + " outside [1, " + std::to_string(steps) +
                                  "]");
    if (n > 0 && lengths[n] > lengths[n - 1])
      throw std::invalid_argument("rnn: lengths must be sorted longest first (sequence " +
                                  std::to_string(n) + ")");
  }
}

}  // namespace

int gate_count(CellKind cell) {
  switch (cell) {
    case CellKind::kLstm:
      return 4;
    case CellKind::kGru:
    case CellKind::kLbrGru:
      return 3;
    case CellKind::kVanillaTanh:
      return 1;
  }
  return 0;
}

int bias_gate_count(CellKind cell) {
  return cell == CellKind::kLbrGru ? 4 : gate_count(cell);
}

bool has_cell_state(CellKind cell) {
  return cell == CellKind::kLstm;
}

RnnTape::Call& RnnTape::push() {
  if (used_ == calls_.size()) calls_.emplace_back();
  Call& call = calls_[used_++];
  call.segment_count = 0;
  return call;
}

RnnTape::Call& RnnTape::pop() {
  if (used_ == 0) throw std::logic_error("rnn: backward without a matching forward");
  return calls_[--used_];
}

RnnLayer::RnnLayer(DnnlContext& ctx, ParamStore& store, const std::string& name, CellKind cell,
                   int input_size, int hidden_size, Precision precision)
    : ctx_(ctx),
      store_(store),
      name_(name),
      cell_(cell),
      input_size_(input_size),
      hidden_size_(hidden_size),
      type_(precision == Precision::kBf16 ? dt::bf16 : dt::f32) {
  require_config(input_size > 0, name, "input size must be positive");
  require_config(hidden_size > 0, name, "hidden size must be positive");
  const int gates = gate_count(cell);
  const InitSpec uniform{InitKind::kUniform, 1.0f / std::sqrt(static_cast<float>(hidden_size))};
  weights_layer_ =
      store.declare(name + "/weights_layer", {input_size, gates, hidden_size}, uniform);
  weights_iter_ = store.declare(name + "/weights_iter", {hidden_size, gates, hidden_size}, uniform);
  bias_ = store.declare(name + "/bias", {bias_gate_count(cell), hidden_size}, uniform);
}

memory::desc RnnLayer::weights_md(int arg) const {
  const int64_t rows = arg == DNNL_ARG_WEIGHTS_LAYER ? input_size_ : hidden_size_;
  return memory::desc({1, 1, rows, gate_count(cell_), hidden_size_}, dt::f32, tag::ldigo);
}

RnnLayer::Primitives& RnnLayer::primitives(int64_t steps, int64_t batch, int64_t full_batch,
                                           bool training) {
  const auto key = std::make_tuple(steps, batch, full_batch, training);
  if (Primitives* found = primitives_.find(key)) return *found;

  const int64_t hidden = hidden_size_;
  const int gates = gate_count(cell_);
  RnnDescs f;  // forward: activations and h states in the layer's type, c states f32
  f.src_layer = sequence_md(steps, batch, input_size_, full_batch, type_);
  f.src_iter = f.dst_iter = state_md(batch, hidden, type_);
  f.src_iter_c = f.dst_iter_c = state_md(batch, hidden);
  f.bias = memory::desc({1, 1, bias_gate_count(cell_), hidden}, dt::f32, tag::ldgo);
  f.dst_layer = sequence_md(steps, batch, hidden, full_batch, type_);
  RnnDescs any = f;
  any.weights_layer = memory::desc({1, 1, input_size_, gates, hidden}, type_, tag::any);
  any.weights_iter = memory::desc({1, 1, hidden, gates, hidden}, type_, tag::any);
  // f32 training reads the plain ldigo parameters in place; otherwise the layout of choice.
  const bool in_place = training && type_ == dt::f32;
  f.weights_layer = in_place ? weights_md(DNNL_ARG_WEIGHTS_LAYER) : any.weights_layer;
  f.weights_iter = in_place ? weights_md(DNNL_ARG_WEIGHTS_ITER) : any.weights_iter;
  RnnDescs d;  // gradients: f32, diff weights in the master layout
  d.src_layer = sequence_md(steps, batch, input_size_, full_batch);
  d.src_iter = d.dst_iter = d.src_iter_c = d.dst_iter_c = state_md(batch, hidden);
  d.bias = f.bias;
  d.dst_layer = sequence_md(steps, batch, hidden, full_batch);
  d.weights_layer = weights_md(DNNL_ARG_WEIGHTS_LAYER);
  d.weights_iter = weights_md(DNNL_ARG_WEIGHTS_ITER);
  Primitives prims;
  make_pds(cell_, training, f, any, d, ctx_.engine(), prims.forward_pd, prims.backward_pd);
  prims.forward = dnnl::primitive(prims.forward_pd);
  if (training) prims.backward = dnnl::primitive(prims.backward_pd);
  // No reference into the cache outlives one segment, so an eviction here is safe (backward
  // re-creates an identical primitive).
  return primitives_.insert(key, std::move(prims));
}

dnnl::memory RnnLayer::weights_for(const dnnl::primitive_desc& pd, int arg) {
  const memory::desc wanted = pd.query_md(dnnl::query::exec_arg_md, arg);
  const float* source =
      store_.view(arg == DNNL_ARG_WEIGHTS_LAYER ? weights_layer_ : weights_iter_).value;
  memory plain = user_memory(ctx_, weights_md(arg), source);
  if (wanted == plain.get_desc()) return plain;
  for (ReorderedWeights& copy : reordered_) {
    if (copy.arg != arg || copy.md != wanted) continue;
    if (copy.version != store_.values_version()) {
      dnnl::reorder(plain, copy.memory).execute(ctx_.stream(), plain, copy.memory);
      ctx_.stream().wait();
      copy.version = store_.values_version();
    }
    return copy.memory;
  }
  ReorderedWeights copy{wanted, memory(wanted, ctx_.engine()), store_.values_version(), arg};
  dnnl::reorder(plain, copy.memory).execute(ctx_.stream(), plain, copy.memory);
  ctx_.stream().wait();
  reordered_.push_back(copy);
  return copy.memory;
}

// Fills the call's record and initial state; returns the primitive's input and output: the
// caller's f32 buffers, or tape-owned bf16 copies (the input converted here).
std::pair<const void*, void*> RnnLayer::begin_call(RnnTape::Call& call, const float* x,
                                                   int64_t steps, int64_t batch, const float* h0,
                                                   const float* c0, float* y) {
  const int64_t hidden = hidden_size_;
  const bool low = type_ == dt::bf16;
  const size_t element = element_size(type_);
  call.x = x;
  call.y = y;
  call.steps = steps;
  call.batch = batch;
  const void* source = x;
  void* destination = y;
  if (low) {
    regrown(call.low_x, static_cast<size_t>(steps * batch * input_size_));
    regrown(call.low_y, static_cast<size_t>(steps * batch * hidden));
    convert_to_bf16(x, call.low_x.data(), steps * batch * input_size_);
    source = call.low_x.data();
    destination = call.low_y.data();
  }
  call.initial_state.assign(state_bytes(batch, hidden, element), 0);
  if (h0) {
    if (low)
      convert_to_bf16(h0, reinterpret_cast<bf16_t*>(call.initial_state.data()), batch * hidden);
    else
      std::memcpy(call.initial_state.data(), h0,
                  sizeof(float) * static_cast<size_t>(batch * hidden));
  }
  if (c0 && has_cell_state(cell_))
    std::memcpy(call.initial_state.data() + cell_offset(batch, hidden, element), c0,
                sizeof(float) * static_cast<size_t>(batch * hidden));
  return {source, destination};
}

// Runs the forward primitive over one segment (steps [t_begin, t_end) of its `batch` rows) from
// `previous_state` (a state buffer of `previous_batch` rows) into segment.state. workspace: the
// call's arena (null for inference).
void RnnLayer::forward_segment(RnnTape::Segment& segment, unsigned char* workspace,
                               int64_t full_batch, const unsigned char* source,
                               unsigned char* destination, const unsigned char* previous_state,
                               int64_t previous_batch) {
  const int64_t hidden = hidden_size_, active = segment.batch;
  const int64_t steps = segment.t_end - segment.t_begin;
  const auto element = static_cast<int64_t>(element_size(type_));
  const bool training = workspace != nullptr;
  Primitives& prims = primitives(steps, active, full_batch, training);
  const memory::desc h_state = state_md(active, hidden, type_), c_state = state_md(active, hidden);
  segment.state.resize(state_bytes(active, hidden, element_size(type_)));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER,
       user_memory(ctx_, sequence_md(steps, active, input_size_, full_batch, type_),
                   source + segment.t_begin * full_batch * input_size_ * element)},
      {DNNL_ARG_SRC_ITER, user_memory(ctx_, h_state, previous_state)},
      {DNNL_ARG_WEIGHTS_LAYER, weights_for(prims.forward_pd, DNNL_ARG_WEIGHTS_LAYER)},
      {DNNL_ARG_WEIGHTS_ITER, weights_for(prims.forward_pd, DNNL_ARG_WEIGHTS_ITER)},
      {DNNL_ARG_BIAS,
       user_memory(ctx_, memory::desc({1, 1, bias_gate_count(cell_), hidden}, dt::f32, tag::ldgo),
                   store_.view(bias_).value)},
      {DNNL_ARG_DST_LAYER,
       user_memory(ctx_, sequence_md(steps, active, hidden, full_batch, type_),
                   destination + segment.t_begin * full_batch * hidden * element)},
      {DNNL_ARG_DST_ITER, user_memory(ctx_, h_state, segment.state.data())}};
  if (has_cell_state(cell_)) {
    const size_t element_bytes = element_size(type_);
    args.emplace(DNNL_ARG_SRC_ITER_C,
                 user_memory(ctx_, c_state,
                             previous_state + cell_offset(previous_batch, hidden, element_bytes)));
    args.emplace(DNNL_ARG_DST_ITER_C,
                 user_memory(ctx_, c_state,
                             segment.state.data() + cell_offset(active, hidden, element_bytes)));
  }
  if (training)
    args.emplace(DNNL_ARG_WORKSPACE, user_memory(ctx_, prims.forward_pd.workspace_desc(),
                                                 workspace + segment.workspace_offset));
  ctx_.run(prims.forward, std::move(args));
}

// Cuts the time axis at every distinct length (lengths non-increasing): a segment runs steps
// [t_begin, t_end) over the rows still active. For training, also places every segment's
// workspace in the call's arena, sized once for the whole call.
void RnnLayer::plan_segments(RnnTape::Call& call, const int32_t* lengths, bool training) {
  constexpr size_t kAlign = 64;
  size_t workspace_bytes = 0;
  int64_t t_begin = 0;
  int64_t active = call.batch;  // sequences with length > t_begin are rows [0, active)
  while (active > 0) {
    const int64_t t_end = lengths[active - 1];
    if (call.segment_count == call.segments.size()) call.segments.emplace_back();
    RnnTape::Segment& segment = call.segments[call.segment_count++];
    segment.t_begin = t_begin;
    segment.t_end = t_end;
    segment.batch = active;
    segment.workspace_offset = workspace_bytes;
    if (training) {
      const size_t bytes = primitives(t_end - t_begin, active, call.batch, true)
                               .forward_pd.workspace_desc()
                               .get_size();
      workspace_bytes += (bytes + kAlign - 1) / kAlign * kAlign;
    }
    while (active > 0 && lengths[active - 1] == t_end) --active;
    t_begin = t_end;
  }
  regrown(call.workspace, workspace_bytes);
}

void RnnLayer::forward(const float* x, int64_t steps, int64_t batch, const int32_t* lengths,
                       const float* h0, const float* c0, float* y, float* h_last, float* c_last,
                       RnnTape* tape) {
  check_lengths(lengths, steps, batch);
  const bool training = tape != nullptr;
  if (!training) inference_tape_.clear();
  RnnTape::Call& call = training ? tape->push() : inference_tape_.push();
  const int64_t hidden = hidden_size_;
  const size_t element = element_size(type_);
  const auto [source, destination] = begin_call(call, x, steps, batch, h0, c0, y);
  plan_segments(call, lengths, training);
  const unsigned char* previous_state = call.initial_state.data();
  int64_t previous_batch = batch;  // rows in the previous state buffer (its c part follows them)
  for (size_t s = 0; s < call.segment_count; ++s) {
    RnnTape::Segment& segment = call.segments[s];
    const int64_t active = segment.batch;
    const int64_t still_active = s + 1 < call.segment_count ? call.segments[s + 1].batch : 0;
    forward_segment(segment, training ? call.workspace.data() : nullptr, batch,
                    static_cast<const unsigned char*>(source),
                    static_cast<unsigned char*>(destination), previous_state, previous_batch);

    // Sequences that end at t_end are rows [still_active, active): their final states.
    const int64_t ending = active - still_active;
    if (h_last)
      copy_h_to_f32(segment.state.data(), type_, still_active, ending, hidden,
                    h_last + still_active * hidden);
    if (c_last && has_cell_state(cell_))
      std::memcpy(c_last + still_active * hidden,
                  reinterpret_cast<const float*>(segment.state.data() +
                                                 cell_offset(active, hidden, element)) +
                      still_active * hidden,
                  sizeof(float) * static_cast<size_t>(ending * hidden));
    zero_rows(destination, element, segment.t_begin, segment.t_end, active, batch, hidden);
    previous_state = segment.state.data();
    previous_batch = active;
  }
  const int64_t t_done = call.segment_count ? call.segments[call.segment_count - 1].t_end : 0;
  zero_rows(destination, element, t_done, steps, 0, batch, hidden);
  if (type_ == dt::bf16) convert_to_f32(call.low_y.data(), y, steps * batch * hidden);
}

// Runs the backward primitive over segment `s` of `call`: diff_x of its steps, the state
// gradient at its start into diff_src_iter_, weight gradients accumulated; carry_ holds the
// state gradient at its end.
void RnnLayer::backward_segment(const RnnTape::Call& call, size_t s, const float* diff_y,
                                float* diff_x) {
  const RnnTape::Segment& segment = call.segments[s];
  const int64_t hidden = hidden_size_, batch = call.batch, state_size = batch * hidden;
  const int64_t active = segment.batch, steps = segment.t_end - segment.t_begin;
  const size_t element = element_size(type_);
  const bool low = type_ == dt::bf16;
  const auto* source = static_cast<const unsigned char*>(
      low ? static_cast<const void*>(call.low_x.data()) : static_cast<const void*>(call.x));
  const auto* destination = static_cast<const unsigned char*>(
      low ? static_cast<const void*>(call.low_y.data()) : static_cast<const void*>(call.y));
  Primitives& prims = primitives(steps, active, batch, true);
  const memory::desc h_state = state_md(active, hidden, type_), state = state_md(active, hidden);
  const memory::desc bias_md({1, 1, bias_gate_count(cell_), hidden}, dt::f32, tag::ldgo);
  const unsigned char* src_state =
      s == 0 ? call.initial_state.data() : call.segments[s - 1].state.data();
  const int64_t src_rows = s == 0 ? batch : call.segments[s - 1].batch;
  const int64_t x_offset = segment.t_begin * batch * input_size_;
  const int64_t y_offset = segment.t_begin * batch * hidden;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, user_memory(ctx_, sequence_md(steps, active, input_size_, batch, type_),
                                       source + x_offset * static_cast<int64_t>(element))},
      {DNNL_ARG_SRC_ITER, user_memory(ctx_, h_state, src_state)},
      {DNNL_ARG_WEIGHTS_LAYER, weights_for(prims.backward_pd, DNNL_ARG_WEIGHTS_LAYER)},
      {DNNL_ARG_WEIGHTS_ITER, weights_for(prims.backward_pd, DNNL_ARG_WEIGHTS_ITER)},
      {DNNL_ARG_BIAS, user_memory(ctx_, bias_md, store_.view(bias_).value)},
      {DNNL_ARG_DST_LAYER, user_memory(ctx_, sequence_md(steps, active, hidden, batch, type_),
                                       destination + y_offset * static_cast<int64_t>(element))},
      {DNNL_ARG_DST_ITER, user_memory(ctx_, h_state, segment.state.data())},
      {DNNL_ARG_WORKSPACE, user_memory(ctx_, prims.forward_pd.workspace_desc(),
                                       call.workspace.data() + segment.workspace_offset)},
      {DNNL_ARG_DIFF_SRC_LAYER,
       user_memory(ctx_, sequence_md(steps, active, input_size_, batch), diff_x + x_offset)},
      {DNNL_ARG_DIFF_SRC_ITER, user_memory(ctx_, state, diff_src_iter_.data())},
      {DNNL_ARG_DIFF_WEIGHTS_LAYER,
       user_memory(ctx_, weights_md(DNNL_ARG_WEIGHTS_LAYER), store_.view(weights_layer_).grad)},
      {DNNL_ARG_DIFF_WEIGHTS_ITER,
       user_memory(ctx_, weights_md(DNNL_ARG_WEIGHTS_ITER), store_.view(weights_iter_).grad)},
      {DNNL_ARG_DIFF_BIAS, user_memory(ctx_, bias_md, store_.view(bias_).grad)},
      {DNNL_ARG_DIFF_DST_LAYER,
       user_memory(ctx_, sequence_md(steps, active, hidden, batch), diff_y + y_offset)},
      {DNNL_ARG_DIFF_DST_ITER, user_memory(ctx_, state, carry_.data())}};
  if (has_cell_state(cell_)) {
    args.emplace(DNNL_ARG_SRC_ITER_C,
                 user_memory(ctx_, state, src_state + cell_offset(src_rows, hidden, element)));
    args.emplace(
        DNNL_ARG_DST_ITER_C,
        user_memory(ctx_, state, segment.state.data() + cell_offset(active, hidden, element)));
    args.emplace(DNNL_ARG_DIFF_SRC_ITER_C,
                 user_memory(ctx_, state, diff_src_iter_.data() + active * hidden));
    args.emplace(DNNL_ARG_DIFF_DST_ITER_C, user_memory(ctx_, state, carry_.data() + state_size));
  }
  ctx_.run(prims.backward, std::move(args));
}

void RnnLayer::backward(RnnTape& tape, const float* diff_y, const float* diff_h_last,
                        const float* diff_c_last, float* diff_x, float* diff_h0, float* diff_c0) {
  RnnTape::Call& call = tape.pop();
  const int64_t hidden = hidden_size_;
  const int64_t batch = call.batch;
  const int64_t state_size = batch * hidden;
  const bool lstm = has_cell_state(cell_);
  // carry_ holds d(loss)/d(state) at the current segment boundary: h part, then c part (f32).
  carry_.assign(static_cast<size_t>(2 * state_size), 0.0f);
  if (diff_h_last) std::memcpy(carry_.data(), diff_h_last, sizeof(float) * state_size);
  if (diff_c_last && lstm)
    std::memcpy(carry_.data() + state_size, diff_c_last, sizeof(float) * state_size);
  diff_src_iter_.resize(static_cast<size_t>(2 * state_size));
  zero_rows(diff_x, sizeof(float),
            call.segment_count ? call.segments[call.segment_count - 1].t_end : 0, call.steps, 0,
            batch, input_size_);
  for (size_t s = call.segment_count; s-- > 0;) {
    const RnnTape::Segment& segment = call.segments[s];
    const int64_t active = segment.batch;
    backward_segment(call, s, diff_y, diff_x);
    // The state gradient at t_begin for the active rows replaces theirs in the carry; rows that
    // ended before keep their diff_h_last (they enter the recurrence in an earlier segment).
    std::memcpy(carry_.data(), diff_src_iter_.data(), sizeof(float) * active * hidden);
    if (lstm)
      std::memcpy(carry_.data() + state_size, diff_src_iter_.data() + active * hidden,
                  sizeof(float) * active * hidden);
    zero_rows(diff_x, sizeof(float), segment.t_begin, segment.t_end, active, batch, input_size_);
  }
  if (diff_h0) std::memcpy(diff_h0, carry_.data(), sizeof(float) * state_size);
  if (diff_c0 && lstm) std::memcpy(diff_c0, carry_.data() + state_size, sizeof(float) * state_size);
}

}  // namespace tandem::ops
