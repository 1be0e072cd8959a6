// MPI for tandem: the one MpiWorld (constructed first in main(), finalises last), this
// process's place (rank, size, ranks on this node) and the few collectives the trainer needs.
// Agreement on failures and configurations lives in agreement.h.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::trainer {

class CollectiveWatchdog;

class MpiWorld {
 public:
  // MPI_Init_thread (funneled: only the main thread calls MPI; the loader thread never does).
  // Errors return codes, which the helpers below turn into DistributedError.
  MpiWorld(int* argc, char*** argv);
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks on this node
  int local_size() const { return local_size_; }
  MPI_Comm comm() const { return comm_; }

  // Element-wise sum over ranks, in place (blocking).
  void sum(std::vector<double>& values) const;
  double max(double value) const;
  void max(std::vector<double>& values) const;  // element-wise, in place
  // Every rank's `text`, indexed by rank.
  std::vector<std::string> all_gather(const std::string& text) const;
  // Every rank's 64-bit value, indexed by rank.
  std::vector<uint64_t> all_gather(uint64_t value) const;
  void broadcast(float* data, size_t count, int root) const;
  void broadcast(int64_t* data, size_t count, int root) const;
  // root's `text` (any bytes, any size) / `texts` to every rank.
  void broadcast(std::string& text, int root) const;
  void broadcast(std::vector<std::string>& texts, int root) const;
  void barrier() const;

  // Ends every rank of the job (after a rank-local failure that the others cannot learn of).
  [[noreturn]] void abort(int exit_code) const;

  // Every blocking collective above (and those of the gradient reducer) reports to this
  // watchdog while it waits; null: none.
  void set_watchdog(CollectiveWatchdog* watchdog) { watchdog_ = watchdog; }
  CollectiveWatchdog* watchdog() const { return watchdog_; }

 private:
  CollectiveWatchdog* watchdog_ = nullptr;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// Brackets one blocking collective for the watchdog (no-op without one).
class WatchedCollective {
 public:
  WatchedCollective(CollectiveWatchdog* watchdog, const char* what);
  ~WatchedCollective();
  WatchedCollective(const WatchedCollective&) = delete;
  WatchedCollective& operator=(const WatchedCollective&) = delete;

 private:
  CollectiveWatchdog* watchdog_;
};

// The CPUs this process may run on (its affinity mask).
int cpus_available();

// OpenMP threads for one rank: `requested` if > 0 (at most cpus_available(): more threads than
// CPUs only slow oneDNN down), else the CPUs this rank may run on, shared with the other ranks on
// the node (so ranks x threads <= cores).
int threads_per_rank(int requested, int local_ranks);

// A 64-bit checksum of the bits of `count` floats (FNV-1a over the raw bytes).
uint64_t bit_checksum(const float* data, size_t count);

// Throws DistributedError "<file>: MPI call failed: ..." for a non-success MPI return code.
void check_mpi(int code, const char* call);

}  // namespace tandem::trainer
