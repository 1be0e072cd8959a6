#include "trainer/dist/layout_advice.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace tandem::trainer {

NodeShape this_node() {
  NodeShape node;
  node.cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::set<std::string> packages;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/devices/system/cpu", error)) {
    std::ifstream id(entry.path() / "topology" / "physical_package_id");
    std::string text;
    if (id >> text) packages.insert(text);
  }
  node.sockets = std::max<int>(1, static_cast<int>(packages.size()));
  return node;
}

std::string layout_advice(int ranks_on_node, int threads_per_rank, const NodeShape& node) {
  const int sockets = std::max(1, node.sockets);
  const int per_socket = std::max(1, node.cpus / sockets);
  if (ranks_on_node <= sockets || threads_per_rank >= per_socket) return "";
  const std::string threads = std::to_string(per_socket);
  return std::to_string(ranks_on_node) + " ranks x " + std::to_string(threads_per_rank) +
         " thread(s) share this node's " + std::to_string(node.cpus) + " CPUs (" +
         std::to_string(sockets) + " socket(s)); one rank per socket with " + threads +
         " threads trains larger models faster (docs/training.md, \"Choosing a layout\"): mpirun "
         "--map-by ppr:1:socket:PE=" +
         threads + " --bind-to core, or sbatch --ntasks-per-node=" + std::to_string(sockets) +
         " --cpus-per-task=" + threads;
}

}  // namespace tandem::trainer
