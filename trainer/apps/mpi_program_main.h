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

// Runs `parse` (the command line, an INI file, checks between options) on every rank; any
// failure on any rank is the same usage error ("... (see --help)") on every rank. Collective.
void parse_agreed(const trainer::MpiWorld& world, const std::function<void()>& parse);

// Sets this rank's OpenMP threads (trainer::threads_per_rank); when `requested` is more than the
// CPUs a rank may use, rank 0 prints a note naming the number used.
void set_threads(const trainer::MpiWorld& world, const char* program, int requested);

// Rank 0 prints trainer::layout_advice for this job's ranks on rank 0's node, if any.
void advise_layout(const trainer::MpiWorld& world, const char* program);

}  // namespace tandem::apps
