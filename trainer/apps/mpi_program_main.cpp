#include "trainer/apps/mpi_program_main.h"

#include <cstdio>
#include <memory>

#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "trainer/apps/program_main.h"

namespace tandem::apps {

int run_mpi_program(const char* program, int* argc, char*** argv,
                    const std::function<int(trainer::MpiWorld&)>& body) {
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

}  // namespace tandem::apps
