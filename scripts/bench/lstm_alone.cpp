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

// A buffer for `md`, filled with a small constant (the kernels' speed does not depend on it).
memory filled(const memory::desc& md, const dnnl::engine& engine) {
  memory m(md, engine);
  std::memset(m.get_data_handle(), 0x3c, md.get_size());
  return m;
}

double seconds_of(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

LstmTimes time_lstm_alone(int64_t steps, int64_t batch, int64_t input_size, int64_t hidden_size,
                          bool bf16) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dt type = bf16 ? dt::bf16 : dt::f32;
  const int64_t T = steps, N = batch, I = input_size, H = hidden_size, G = 4;
  const auto sequence = [&](int64_t channels, dt t) {
    return memory::desc({T, N, channels}, t, tag::tnc);
  };
  const auto state = [&](dt t) { return memory::desc({1, 1, N, H}, t, tag::ldnc); };
  const memory::desc bias({1, 1, G, H}, dt::f32, tag::ldgo);
  const memory::desc plain_layer({1, 1, I, G, H}, dt::f32, tag::ldigo);
  const memory::desc plain_iter({1, 1, H, G, H}, dt::f32, tag::ldigo);
  const memory::desc weights_layer =
      bf16 ? memory::desc({1, 1, I, G, H}, type, tag::any) : plain_layer;
  const memory::desc weights_iter =
      bf16 ? memory::desc({1, 1, H, G, H}, type, tag::any) : plain_iter;
  const auto direction = dnnl::rnn_direction::unidirectional_left2right;
  const dnnl::lstm_forward::primitive_desc forward_pd(
      {dnnl::prop_kind::forward_training, direction, sequence(I, type), state(type), state(dt::f32),
       weights_layer, weights_iter, bias, sequence(H, type), state(type), state(dt::f32)},
      engine);
  // Backward always gets the weights in the layout it picks (f32 too: it wants ldgoi).
  const memory::desc backward_layer({1, 1, I, G, H}, type, tag::any);
  const memory::desc backward_iter({1, 1, H, G, H}, type, tag::any);
  const dnnl::lstm_backward::primitive_desc backward_pd({dnnl::prop_kind::backward,
                                                         direction,
                                                         sequence(I, type),
                                                         state(type),
                                                         state(dt::f32),
                                                         backward_layer,
                                                         backward_iter,
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
                                                        engine, forward_pd);

  std::unordered_map<int, memory> forward_args;
  for (const int arg :
       {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C, DNNL_ARG_WEIGHTS_LAYER,
        DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER,
        DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE})
    forward_args.emplace(arg, filled(forward_pd.query_md(dnnl::query::exec_arg_md, arg), engine));
  std::unordered_map<int, memory> backward_args = forward_args;
  for (const int arg : {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_DIFF_SRC_LAYER,
                        DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C,
                        DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS,
                        DNNL_ARG_DIFF_DST_LAYER, DNNL_ARG_DIFF_DST_ITER, DNNL_ARG_DIFF_DST_ITER_C})
    backward_args[arg] = filled(backward_pd.query_md(dnnl::query::exec_arg_md, arg), engine);

  const dnnl::lstm_forward forward(forward_pd);
  const dnnl::lstm_backward backward(backward_pd);
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
  times.forward_flops = 2.0 * T * N * G * H * (I + H);
  return times;
}

}  // namespace tandem::bench
