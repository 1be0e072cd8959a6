// One oneDNN LSTM layer trained on its own (forward_training, then backward), with the
// descriptors tandem's ops/rnn_layer.cpp uses: bf16 activations and weights in the layout the
// primitive picks, f32 cell states, bias and gradients, diff weights in the plain ldigo layout
// (f32: the forward reads the weights in place as ldigo). step_bench compares a step's RNN
// executions with this: if they match, the time is the kernel's, not tandem's.
#pragma once

#include <cstdint>

namespace tandem::bench {

struct LstmTimes {
  double forward_ms = 0.0, backward_ms = 0.0;  // best of several after a warm-up
  double forward_flops = 0.0;                  // backward: twice this
};

// steps x batch sequences, input_size -> hidden_size, in bf16 or f32.
LstmTimes time_lstm_alone(int64_t steps, int64_t batch, int64_t input_size, int64_t hidden_size,
                          bool bf16);

}  // namespace tandem::bench
