#include "trainer/apps/mpi_program_main.h"

#include <omp.h>

#include <cstdio>
#include <memory>

#include "ops/build_info.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "trainer/apps/program_main.h"
#include "trainer/dist/agreement.h"
#include "trainer/dist/layout_advice.h"

namespace tandem::apps {

int run_mpi_program(const char* program, int* argc, char*** argv,
                    const std::function<int(trainer::MpiWorld&)>& body) {
  if (print_version_if_asked(*argc, *argv, program)) return kExitDone;
  ignore_file_size_signal();
  std::unique_ptr<trainer::MpiWorld> world;
  try {
    world = std::make_unique<trainer::MpiWorld>(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
    return kExitError;
  }
  auto agreed = [&](const char* message, int code) {
    if (world->rank() == 0) std::fprintf(stderr, "%s: error: %s\n", program, message);
    return code;
  };
  try {
    return body(*world);
  } catch (const ConfigError& error) {
    return agreed(error.what(), kExitUsage);
  } catch (const DistributedError& error) {
    return agreed(error.what(), kExitError);
  } catch (const std::exception& error) {
    const std::string message = failure_text(error);
    if (world->size() == 1) return agreed(message.c_str(), kExitError);
    std::fprintf(stderr, "%s: error: rank %d: %s\n", program, world->rank(), message.c_str());
    world->abort(kExitError);
  }
}

void parse_agreed(const trainer::MpiWorld& world, const std::function<void()>& parse) {
  trainer::collective_try(world, [&] {
    try {
      parse();
    } catch (const std::exception& error) {  // a usage error, whatever raised it
      throw ConfigError(std::string(error.what()) + " (see --help)");
    }
  });
}

void set_threads(const trainer::MpiWorld& world, const char* program, int requested) {
  const int threads = trainer::threads_per_rank(requested, world.local_size());
  if (requested > threads && world.rank() == 0)
    std::fprintf(stderr,
                 "%s: note: --threads %d is more than the %d CPUs a rank may use here; using %d\n",
                 program, requested, trainer::cpus_available(), threads);
  omp_set_num_threads(threads);
}

void advise_layout(const trainer::MpiWorld& world, const char* program) {
  if (world.rank() != 0) return;
  const std::string advice =
      trainer::layout_advice(world.local_size(), omp_get_max_threads(), trainer::this_node());
  if (!advice.empty()) std::fprintf(stderr, "%s: note: %s\n", program, advice.c_str());
}

}  // namespace tandem::apps
