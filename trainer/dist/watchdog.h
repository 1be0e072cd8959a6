// A watchdog for blocking collectives. A rank that stops without dying (SIGSTOP, a hung node,
// a host cut off the network) leaves the others waiting in MPI for ever. Every blocking
// collective of MpiWorld is bracketed by enter()/leave(); a thread checks once a second and,
// after `timeout` seconds inside one collective, prints which collective at which step is stuck
// and which ranks did not arrive, then ends this process (mpirun then ends the job).
// Which ranks: every rank's watchdog keeps a one-line heartbeat ("step collectives-entered") in
// a directory all ranks see (the run directory), rewritten about once a second and as soon as
// its rank has waited a second in a collective. So after the timeout every rank that reached the
// stuck collective has said so, and the ranks whose count is lower are the ones that did not.
// If every rank reached it, the network failed: each rank also listens on a TCP port (noted in
// its heartbeat) and the waiting ranks try to connect to every other rank; those that cannot be
// reached within 2 s are named (a host cut off the network).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tandem::trainer {

class CollectiveWatchdog {
 public:
  // heartbeat_dir: a directory shared by all ranks (created; may be empty to skip heartbeats).
  CollectiveWatchdog(int rank, int ranks, std::string heartbeat_dir, double timeout_seconds);
  ~CollectiveWatchdog();  // stops and joins the thread
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // The step this rank is working on (reported in its heartbeat).
  void set_step(int64_t step) { step_ = step; }
  // Bracket a blocking collective. `what` must be a string literal.
  void enter(const char* what);
  void leave();

 private:
  void run();
  void write_heartbeat();
  std::string missing_ranks() const;
  std::string unreachable_ranks() const;

  int rank_, ranks_;
  std::string heartbeat_dir_;
  double timeout_seconds_;
  std::atomic<int64_t> step_{-1};
  std::atomic<const char*> inside_{nullptr};
  std::atomic<int64_t> entered_ns_{0};
  std::atomic<int64_t> collectives_{0};  // entered so far
  int listener_ = -1;                    // TCP socket for reachability probes
  int port_ = 0;
  std::string addresses_;  // this host's IPv4 addresses, comma-separated
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The decision behind "ranks that did not arrive": given every rank's heartbeat line
// ("step collectives-entered port addresses", "" where a rank wrote none), the ranks other than
// `rank` that entered fewer collectives than `collectives`, as "1 (last heard at step 7), 2 (last
// heard at step none)"; "" if every rank arrived.
std::string ranks_behind(const std::vector<std::string>& heartbeats, int rank, int64_t collectives);

}  // namespace tandem::trainer
