// The main() wrapper of the programs that run under mpirun (tandem-train, tandem-translate).
#pragma once

#include <functional>

#include "trainer/dist/mpi_world.h"

namespace tandem::apps {

// Like run_program (program_main.h), for programs under mpirun. The MpiWorld is made first.
// ConfigError and DistributedError are taken as agreed (thrown on every rank together, by
// collective_try or on reduced values): rank 0 prints them once. Any other exception is this rank's
// alone: it prints with its rank and, with several ranks, ends the whole job (MPI_Abort), so no
// rank waits for ever.
int run_mpi_program(const char* program, int* argc, char*** argv,
                    const std::function<int(trainer::MpiWorld&)>& body);

}  // namespace tandem::apps
