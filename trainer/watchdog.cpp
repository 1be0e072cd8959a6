#include "trainer/watchdog.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "trainer/train_loop.h"

namespace tandem::trainer {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string heartbeat_path(const std::string& directory, int rank) {
  return directory + "/rank." + std::to_string(rank);
}

}  // namespace

CollectiveWatchdog::CollectiveWatchdog(int rank, int ranks, std::string heartbeat_dir,
                                       double timeout_seconds)
    : rank_(rank),
      ranks_(ranks),
      heartbeat_dir_(std::move(heartbeat_dir)),
      timeout_seconds_(timeout_seconds) {
  if (!heartbeat_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(heartbeat_dir_, ignored);
  }
  if (timeout_seconds_ > 0) thread_ = std::thread([this] { run(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Temp + rename (no fsync): a reader sees a whole recent line even if this rank is stopped
// mid-write; durability does not matter. Only the watchdog thread writes.
void CollectiveWatchdog::write_heartbeat() {
  if (heartbeat_dir_.empty()) return;
  const std::string path = heartbeat_path(heartbeat_dir_, rank_);
  std::ofstream(path + ".tmp", std::ios::trunc)
      << step_.load() << " " << collectives_.load() << "\n";
  std::rename((path + ".tmp").c_str(), path.c_str());
}

void CollectiveWatchdog::enter(const char* what) {
  ++collectives_;
  entered_ns_ = now_ns();
  inside_ = what;
}

void CollectiveWatchdog::leave() {
  inside_ = nullptr;
}

std::string CollectiveWatchdog::missing_ranks() const {
  if (heartbeat_dir_.empty()) return "unknown (no heartbeat directory)";
  std::string missing;
  for (int r = 0; r < ranks_; ++r) {
    if (r == rank_) continue;
    int64_t step = -1, collectives = -1;
    std::ifstream(heartbeat_path(heartbeat_dir_, r)) >> step >> collectives;
    if (collectives < collectives_)
      missing += (missing.empty() ? "" : ", ") + std::to_string(r) + " (last heard at step " +
                 (step < 0 ? std::string("none") : std::to_string(step)) + ")";
  }
  return missing.empty() ? "unknown (every rank reports having arrived)" : missing;
}

void CollectiveWatchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t last_write_ns = 0, flushed_for = -1;
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stopping_) break;
    const char* what = inside_;
    const int64_t now = now_ns();
    const double waited = what ? static_cast<double>(now - entered_ns_) * 1e-9 : 0.0;
    // Heartbeat: about once a second, and at once when this rank has waited a second here.
    if (now - last_write_ns > 1000000000 || (waited > 1.0 && flushed_for != collectives_)) {
      write_heartbeat();
      last_write_ns = now;
      if (waited > 1.0) flushed_for = collectives_;
    }
    if (!what || waited < timeout_seconds_) continue;
    std::fprintf(
        stderr,
        "tandem-train: error: rank %d: collective '%s' at step %lld did not complete within %.0f s "
        "(--collective-timeout); ranks that did not arrive: %s. Ending the job.\n",
        rank_, what, static_cast<long long>(step_.load()), waited, missing_ranks().c_str());
    std::fflush(stderr);
    std::_Exit(kExitError);  // mpirun sees the exit and ends the other ranks
  }
}

}  // namespace tandem::trainer
