// Rank layout advice. Ranks that share a node also share its memory bandwidth and caches: on
// this project's measurements (docs/training.md, "Choosing a layout") one rank with 2 threads
// trained bench-base 1.4x faster than 2 ranks with 1 thread each on the same 2 cores, while small
// models ran alike. So when several ranks share a socket and each uses fewer threads than the
// socket has CPUs, tandem-train says how to lay the job out instead.
#pragma once

#include <string>

namespace tandem::trainer {

struct NodeShape {
  int cpus = 1;     // logical CPUs of the node
  int sockets = 1;  // physical packages
};

// This node, from the OS (std::thread::hardware_concurrency and /sys/devices/system/cpu).
NodeShape this_node();

// One line of advice ("" when the layout is already one rank per socket or better): the ranks
// per node and threads per rank to use, spelled for mpirun and for sbatch.
std::string layout_advice(int ranks_on_node, int threads_per_rank, const NodeShape& node);

}  // namespace tandem::trainer
