#include "trainer/dist/watchdog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "ops/exit_codes.h"

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

// This host's non-loopback IPv4 addresses.
std::string local_addresses() {
  std::string addresses;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (ntohl(address->sin_addr.s_addr) >> 24 == 127) continue;
    inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
    addresses += (addresses.empty() ? "" : ",") + std::string(text);
  }
  freeifaddrs(list);
  return addresses;
}

// For each (address, port), whether a TCP connection completes within `timeout_ms`; all
// probes run at once, so the answer takes at most timeout_ms.
std::vector<bool> reachable(const std::vector<std::pair<std::string, int>>& targets,
                            int timeout_ms) {
  std::vector<bool> connected(targets.size(), false);
  std::vector<pollfd> waiting;
  std::vector<size_t> owner;
  for (size_t i = 0; i < targets.size(); ++i) {
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<uint16_t>(targets[i].second));
    if (targets[i].second <= 0 ||
        inet_pton(AF_INET, targets[i].first.c_str(), &target.sin_addr) != 1)
      continue;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
      connected[i] = true;
      close(fd);
    } else if (errno == EINPROGRESS) {
      waiting.push_back({fd, POLLOUT, 0});
      owner.push_back(i);
    } else {
      close(fd);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!waiting.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 ||
        poll(waiting.data(), waiting.size(), static_cast<int>(left.count())) <= 0)
      break;
    for (size_t k = waiting.size(); k-- > 0;) {
      if (!waiting[k].revents) continue;
      int error = 0;
      socklen_t length = sizeof error;
      connected[owner[k]] =
          getsockopt(waiting[k].fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
      close(waiting[k].fd);
      waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(k));
      owner.erase(owner.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  for (const pollfd& fd : waiting) close(fd.fd);
  return connected;
}

}  // namespace

std::string ranks_behind(const std::vector<std::string>& heartbeats, int rank,
                         int64_t collectives) {
  std::string missing;
  for (size_t r = 0; r < heartbeats.size(); ++r) {
    if (static_cast<int>(r) == rank) continue;
    int64_t step = -1, entered = -1;
    std::istringstream(heartbeats[r]) >> step >> entered;
    if (entered < collectives)
      missing += (missing.empty() ? "" : ", ") + std::to_string(r) + " (last heard at step " +
                 (step < 0 ? std::string("none") : std::to_string(step)) + ")";
  }
  return missing;
}

CollectiveWatchdog::CollectiveWatchdog(int rank, int ranks, std::string heartbeat_dir,
                                       double timeout_seconds)
    : rank_(rank),
      ranks_(ranks),
      heartbeat_dir_(std::move(heartbeat_dir)),
      timeout_seconds_(timeout_seconds) {
  if (!heartbeat_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(heartbeat_dir_, ignored);
    // The kernel completes TCP handshakes on a listening socket by itself, even while this
    // process is stopped: a failed connection means the network, not the process.
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    socklen_t length = sizeof any;
    if (listener_ >= 0 && bind(listener_, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0 &&
        listen(listener_, 128) == 0 &&
        getsockname(listener_, reinterpret_cast<sockaddr*>(&any), &length) == 0)
      port_ = ntohs(any.sin_port);
    addresses_ = local_addresses();
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
  if (listener_ >= 0) close(listener_);
}

// Temp + rename (no fsync): a reader sees a whole recent line even if this rank is stopped
// mid-write; durability does not matter. Only the watchdog thread writes.
void CollectiveWatchdog::write_heartbeat() {
  if (heartbeat_dir_.empty()) return;
  const std::string path = heartbeat_path(heartbeat_dir_, rank_);
  std::ofstream(path + ".tmp", std::ios::trunc)
      << step_.load() << " " << collectives_.load() << " " << port_ << " " << addresses_ << "\n";
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

// Ranks cut off the network first (the stronger evidence: with a partition, reachable ranks
// can be held up inside other MPI calls too); otherwise the ranks that have not entered this
// collective.
std::string CollectiveWatchdog::missing_ranks() const {
  if (heartbeat_dir_.empty()) return "unknown (no heartbeat directory)";
  const std::string unreachable = unreachable_ranks();
  if (!unreachable.empty()) return unreachable;
  std::vector<std::string> heartbeats;
  for (int r = 0; r < ranks_; ++r) {
    std::string line;
    std::getline(std::ifstream(heartbeat_path(heartbeat_dir_, r)), line);
    heartbeats.push_back(line);
  }
  const std::string behind = ranks_behind(heartbeats, rank_, collectives_);
  return behind.empty() ? "none found (every rank arrived and answers)" : behind;
}

std::string CollectiveWatchdog::unreachable_ranks() const {
  std::vector<std::pair<std::string, int>> targets;
  std::vector<int> target_rank;
  std::vector<std::string> rank_addresses(static_cast<size_t>(ranks_));
  for (int r = 0; r < ranks_; ++r) {
    if (r == rank_) continue;
    int64_t step = -1, collectives = -1;
    int port = 0;
    std::ifstream(heartbeat_path(heartbeat_dir_, r)) >> step >> collectives >> port >>
        rank_addresses[static_cast<size_t>(r)];
    std::stringstream list(rank_addresses[static_cast<size_t>(r)]);
    for (std::string address; std::getline(list, address, ',');) {
      targets.emplace_back(address, port);
      target_rank.push_back(r);
    }
    if (rank_addresses[static_cast<size_t>(r)].empty()) {  // no heartbeat: cannot tell
      targets.emplace_back("", 0);
      target_rank.push_back(-1);
    }
  }
  const std::vector<bool> connected = reachable(targets, 1500);
  std::vector<bool> answers(static_cast<size_t>(ranks_), false);
  for (size_t i = 0; i < targets.size(); ++i)
    if (target_rank[i] >= 0 && connected[i]) answers[static_cast<size_t>(target_rank[i])] = true;
  std::string unreachable;
  for (int r = 0; r < ranks_; ++r)
    if (r != rank_ && !rank_addresses[static_cast<size_t>(r)].empty() &&
        !answers[static_cast<size_t>(r)])
      unreachable += (unreachable.empty() ? "" : ", ") + std::to_string(r) +
                     " (unreachable over TCP at " + rank_addresses[static_cast<size_t>(r)] + ")";
  return unreachable;
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
    if (listener_ >= 0)  // drain probes so the backlog never fills
      for (int fd; (fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) close(fd);
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
