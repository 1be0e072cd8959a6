// tandem-average: averages the parameters of several checkpoints of one model into a new,
// verified checkpoint (docs/checkpoints.md, "Averaging").
//   tandem-average -o avg.h5 run/checkpoints/ckpt.000009000.h5 run/checkpoints/ckpt.000010000.h5
//   tandem-average -o avg.h5 --last 5 run/
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "ops/errors.h"
#include "trainer/apps/program_main.h"
#include "trainer/checkpoint/checkpoint.h"

namespace {

using namespace tandem;
namespace po = boost::program_options;

int average(int argc, char** argv) {
  std::string output;
  std::vector<std::string> inputs;
  int last = 0;
  bool help = false;
  po::options_description options(
      "tandem-average -o OUT.h5 CHECKPOINT... | tandem-average -o OUT.h5 --last N RUN_DIR");
  options.add_options()("output,o", po::value(&output), "the averaged checkpoint (a new file)")(
      "last", po::value(&last),
      "average the newest N checkpoints of the run in RUN_DIR (or a checkpoint directory)")(
      "help,h", po::bool_switch(&help), "this help")(
      "inputs", po::value(&inputs), "checkpoint files (or, with --last, one directory)");
  po::positional_options_description positional;
  positional.add("inputs", -1);
  po::variables_map values;  // a po::error is a usage error (run_program)
  po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
            values);
  po::notify(values);
  if (help) {
    std::printf("tandem-average: averages checkpoints' parameters into a new checkpoint\n");
    options.print(std::cout);
    return 0;
  }
  require_config(!output.empty(), "output", "give the new checkpoint's path (-o FILE)");
  require_config(!inputs.empty(), "inputs", "give the checkpoints to average");
  if (values.count("last")) {
    require_config(last >= 1, "last", "must be at least 1");
    require_config(inputs.size() == 1, "last", "takes one run or checkpoint directory");
    inputs = trainer::newest_checkpoints(inputs.front(), last);
  }
  const std::string newest = trainer::average_checkpoints(inputs, output);
  std::fprintf(stderr, "tandem-average: %s = mean of %zu checkpoint(s) (state and moments of %s)\n",
               output.c_str(), inputs.size(), newest.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tandem::apps::run_program("tandem-average", argc, argv,
                                   [&] { return average(argc, argv); });
}
