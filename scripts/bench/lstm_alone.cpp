#include "scripts/bench/lstm_alone.h"

#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

namespace tandem::bench {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;
using Arguments = std::unordered_map<int, memory>;

struct LstmPds {
  dnnl::lstm_forward::primitive_desc forward;
  dnnl::lstm_backward::primitive_desc backward;
};

// The descriptors of ops/rnn_layer.cpp for one left-to-right LSTM layer.
LstmPds lstm_pds(const dnnl::engine& engine, int64_t T, int64_t N, int64_t I, int64_t H,
                 bool bf16) {
  const dt type = bf16 ? dt::bf16 : dt::f32;
  const int64_t G = 4;
  const auto sequence = [&](int64_t channels, dt t) {
    return memory::desc({T, N, channels}, t, tag::tnc);
  };
  const auto state = [&](dt t) { return memory::desc({1, 1, N, H}, t, tag::ldnc); };
  const memory::desc bias({1, 1, G, H}, dt::f32, tag::ldgo);
  const memory::desc plain_layer({1, 1, I, G, H}, dt::f32, tag::ldigo);
  const memory::desc plain_iter({1, 1, H, G, H}, dt::f32, tag::ldigo);
  // bf16 weights in the layout the kernel picks; f32 training reads the plain ldigo in place.
  // Backward always gets the layout it picks (f32 too: it wants ldgoi).
  const memory::desc any_layer({1, 1, I, G, H}, type, tag::any);
  const memory::desc any_iter({1, 1, H, G, H}, type, tag::any);
  const auto direction = dnnl::rnn_direction::unidirectional_left2right;
  const dnnl::lstm_forward::primitive_desc forward(
      {dnnl::prop_kind::forward_training, direction, sequence(I, type), state(type), state(dt::f32),
       bf16 ? any_layer : plain_layer, bf16 ? any_iter : plain_iter, bias, sequence(H, type),
       state(type), state(dt::f32)},
      engine);
  const dnnl::lstm_backward::primitive_desc backward({dnnl::prop_kind::backward,
                                                      direction,
                                                      sequence(I, type),
                                                      state(type),
                                                      state(dt::f32),
                                                      any_layer,
                                                      any_iter,
                                                      bias,
                                                      sequence(H, type),
                                                      state(type),
                                                      state(dt::f32),
                                                      sequence(I, dt::f32),
                                                      state(dt::f32),
                                                      state(dt::f32),
                                                      plain_layer,
                                                      plain_iter,
                                                      bias,
                                                      sequence(H, dt::f32),
                                                      state(dt::f32),
                                                      state(dt::f32)},
                                                     engine, forward);
  return {forward, backward};
}

// A buffer for each argument of `pd`, filled with a small constant (speed does not depend on
// it), added to `args`.
void fill_arguments(const dnnl::primitive_desc& pd, std::initializer_list<int> names,
                    const dnnl::engine& engine, Arguments& args) {
  for (const int name : names) {
    const memory::desc md = pd.query_md(dnnl::query::exec_arg_md, name);
    memory buffer(md, engine);
    std::memset(buffer.get_data_handle(), 0x3c, md.get_size());
    args[name] = buffer;
  }
}

double seconds_of(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

LstmTimes time_lstm_alone(int64_t steps, int64_t batch, int64_t input_size, int64_t hidden_size,
                          bool bf16) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const LstmPds pds = lstm_pds(engine, steps, batch, input_size, hidden_size, bf16);
  Arguments forward_args, backward_args;
  fill_arguments(pds.forward,
                 {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
                  DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER,
                  DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE},
                 engine, forward_args);
  backward_args = forward_args;
  fill_arguments(pds.backward,
                 {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_DIFF_SRC_LAYER,
                  DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C, DNNL_ARG_DIFF_WEIGHTS_LAYER,
                  DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS, DNNL_ARG_DIFF_DST_LAYER,
                  DNNL_ARG_DIFF_DST_ITER, DNNL_ARG_DIFF_DST_ITER_C},
                 engine, backward_args);
  const dnnl::lstm_forward forward(pds.forward);
  const dnnl::lstm_backward backward(pds.backward);
  LstmTimes times;
  times.forward_ms = times.backward_ms = 1e30;
  for (int repeat = 0; repeat < 8; ++repeat) {
    auto start = std::chrono::steady_clock::now();
    forward.execute(stream, forward_args);
    stream.wait();
    const double forward_s = seconds_of(start);
    start = std::chrono::steady_clock::now();
    backward.execute(stream, backward_args);
    stream.wait();
    const double backward_s = seconds_of(start);
    if (repeat < 2) continue;  // warm-up
    times.forward_ms = std::min(times.forward_ms, forward_s * 1e3);
    times.backward_ms = std::min(times.backward_ms, backward_s * 1e3);
  }
  times.forward_flops = 2.0 * steps * batch * 4 * hidden_size * (input_size + hidden_size);
  return times;
}

}  // namespace tandem::bench
