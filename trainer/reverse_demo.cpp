// tandem-reverse-demo: the built-in demo until tandem-train exists (issues 3, 4): trains a small
// bidirectional-LSTM encoder-decoder with attention to reverse random symbol strings, in one
// process, and shows greedy translations of held-out strings. No data files needed.
#include <boost/program_options.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "data/synthetic.h"
#include "ops/errors.h"
#include "trainer/seq2seq_model.h"
#include "trainer/train_step.h"

namespace {

using namespace tandem;
namespace po = boost::program_options;

std::string spell(const std::vector<int32_t>& ids) {
  std::string text;
  for (int32_t id : ids) text += static_cast<char>('a' + (id - data::kFirstRegularId));
  return text.empty() ? "(empty)" : text;
}

int run(int argc, char** argv) {
  int steps = 0, max_length = 0;
  uint64_t seed = 0;
  po::options_description options("tandem-reverse-demo: learn to reverse strings (a..j)");
  options.add_options()("help,h", "show this help")("steps", po::value(&steps)->default_value(1500),
                                                    "maximum training steps (batch 64)")(
      "max-length", po::value(&max_length)->default_value(12), "longest string (shortest is 3)")(
      "seed", po::value(&seed)->default_value(7), "seed for data, initialisation and dropout");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  po::notify(vm);
  require_config(steps > 0, "steps", "must be positive");
  require_config(max_length >= 3, "max-length", "must be at least 3");

  const data::ReversalTask task{10, 3, max_length, seed};
  trainer::ModelConfig config;
  config.src_vocab_size = config.tgt_vocab_size = task.vocab_size();
  config.embedding_size = 32;
  config.hidden_size = 128;
  config.bidirectional_encoder = true;
  config.attention = trainer::AttentionType::kGeneral;
  config.dropout = 0.1f;
  ops::DnnlContext ctx;
  trainer::Seq2SeqModel model(config, ctx);
  model.initialize(seed);
  trainer::TrainStepConfig train_config;
  train_config.learning_rate = 3e-3f;
  train_config.seed = seed;
  trainer::Trainer trainer(model, train_config);
  std::printf("model:");
  for (const auto& [key, value] : trainer::to_key_values(config))
    std::printf(" %s=%s", key.c_str(), value.c_str());
  std::printf("\nparameters: %zu\n", model.params().parameter_count());

  const uint64_t held_out = 1ull << 40;
  const data::Batch test = task.source_batch(held_out, 500);
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0.0;
  int64_t tokens = 0, all_tokens = 0;
  for (int step = 1; step <= steps; ++step) {
    const trainer::StepResult result =
        trainer.train_step(task.batch(static_cast<uint64_t>(step) * 64, 64));
    loss_sum += result.global.loss;
    tokens += result.global.tokens;
    all_tokens += result.global.tokens;
    if (step % 100 != 0 && step != steps) continue;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto hypotheses = model.greedy_decode(test, max_length + 5);
    int correct = 0;
    for (size_t i = 0; i < hypotheses.size(); ++i)
      correct += hypotheses[i] == task.target(held_out + i);
    const double accuracy = static_cast<double>(correct) / static_cast<double>(hypotheses.size());
    std::printf(
        "step %5d  loss/token %.4f  ppl %7.3f  grad-norm %6.3f  %7.0f tokens/s  held-out exact "
        "match %5.1f%%\n",
        step, loss_sum / tokens, std::exp(loss_sum / tokens), result.grad_norm,
        all_tokens / seconds, 100.0 * accuracy);
    std::fflush(stdout);
    loss_sum = 0.0;
    tokens = 0;
    if (accuracy >= 0.995) break;
  }
  const auto hypotheses = model.greedy_decode(test, max_length + 5);
  std::printf("examples (source -> translation, expected):\n");
  for (size_t i = 0; i < 6; ++i)
    std::printf("  %-14s -> %-14s %s\n", spell(task.source(held_out + i)).c_str(),
                spell(hypotheses[i]).c_str(), spell(task.target(held_out + i)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const boost::program_options::error& error) {
    std::fprintf(stderr, "tandem-reverse-demo: error: %s\n", error.what());
    return 2;
  } catch (const tandem::ConfigError& error) {
    std::fprintf(stderr, "tandem-reverse-demo: error: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tandem-reverse-demo: error: %s\n", error.what());
    return 1;
  }
}
