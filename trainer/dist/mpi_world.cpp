#include "trainer/dist/mpi_world.h"

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "ops/errors.h"
#include "trainer/dist/watchdog.h"

namespace tandem::trainer {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistributedError(std::string(call) +
                         " failed: " + std::string(text, static_cast<size_t>(length)));
}

WatchedCollective::WatchedCollective(CollectiveWatchdog* watchdog, const char* what)
    : watchdog_(watchdog) {
  if (watchdog_) watchdog_->enter(what);
}

WatchedCollective::~WatchedCollective() {
  if (watchdog_) watchdog_->leave();
}

MpiWorld::MpiWorld(int* argc, char*** argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

MpiWorld::~MpiWorld() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  MPI_Finalize();
}

void MpiWorld::sum(std::vector<double>& values) const {
  const WatchedCollective watched(watchdog_, "all-reduce (sum)");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                          MPI_SUM, comm_),
            "MPI_Allreduce");
}

double MpiWorld::max(double value) const {
  const WatchedCollective watched(watchdog_, "all-reduce (max)");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return value;
}

void MpiWorld::max(std::vector<double>& values) const {
  const WatchedCollective watched(watchdog_, "all-reduce (max)");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                          MPI_MAX, comm_),
            "MPI_Allreduce");
}

std::vector<std::string> MpiWorld::all_gather(const std::string& text) const {
  const WatchedCollective watched(watchdog_, "all-gather");
  const int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<size_t>(size_)),
      displacements(static_cast<size_t>(size_), 0);
  check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  for (int r = 1; r < size_; ++r)
    displacements[static_cast<size_t>(r)] =
        displacements[static_cast<size_t>(r - 1)] + lengths[static_cast<size_t>(r - 1)];
  std::string all(static_cast<size_t>(displacements.back() + lengths.back()), '\0');
  check_mpi(MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(),
                           displacements.data(), MPI_CHAR, comm_),
            "MPI_Allgatherv");
  std::vector<std::string> texts;
  for (int r = 0; r < size_; ++r)
    texts.push_back(all.substr(static_cast<size_t>(displacements[static_cast<size_t>(r)]),
                               static_cast<size_t>(lengths[static_cast<size_t>(r)])));
  return texts;
}

std::vector<uint64_t> MpiWorld::all_gather(uint64_t value) const {
  const WatchedCollective watched(watchdog_, "all-gather");
  std::vector<uint64_t> values(static_cast<size_t>(size_));
  check_mpi(MPI_Allgather(&value, 1, MPI_UINT64_T, values.data(), 1, MPI_UINT64_T, comm_),
            "MPI_Allgather");
  return values;
}

void MpiWorld::broadcast(float* data, size_t count, int root) const {
  const WatchedCollective watched(watchdog_, "broadcast");
  constexpr size_t kPiece = 1 << 28;  // MPI counts are int
  for (size_t done = 0; done < count; done += kPiece)
    check_mpi(MPI_Bcast(data + done, static_cast<int>(std::min(kPiece, count - done)), MPI_FLOAT,
                        root, comm_),
              "MPI_Bcast");
}

void MpiWorld::broadcast(int64_t* data, size_t count, int root) const {
  const WatchedCollective watched(watchdog_, "broadcast");
  check_mpi(MPI_Bcast(data, static_cast<int>(count), MPI_INT64_T, root, comm_), "MPI_Bcast");
}

void MpiWorld::broadcast(std::string& text, int root) const {
  int64_t size = static_cast<int64_t>(text.size());
  broadcast(&size, 1, root);
  text.resize(static_cast<size_t>(size));
  const WatchedCollective watched(watchdog_, "broadcast");
  constexpr int64_t kChunk = 1 << 30;  // MPI counts are int
  for (int64_t at = 0; at < size; at += kChunk)
    check_mpi(MPI_Bcast(text.data() + at, static_cast<int>(std::min(kChunk, size - at)), MPI_CHAR,
                        root, comm_),
              "MPI_Bcast");
}

void MpiWorld::broadcast(std::vector<std::string>& texts, int root) const {
  // Packed as [count][length, bytes]...: binary-safe (lines may hold any bytes).
  std::string packed;
  if (rank_ == root) {
    auto put = [&](uint64_t value) { packed.append(reinterpret_cast<const char*>(&value), 8); };
    put(texts.size());
    for (const std::string& text : texts) put(text.size()), packed += text;
  }
  broadcast(packed, root);
  if (rank_ == root) return;
  size_t at = 0;
  auto get = [&]() {
    uint64_t value = 0;
    std::memcpy(&value, packed.data() + at, 8);
    at += 8;
    return value;
  };
  texts.assign(get(), std::string());
  for (std::string& text : texts) {
    const uint64_t length = get();
    text.assign(packed, at, length);
    at += length;
  }
}

int cpus_available() {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) return std::max(1, CPU_COUNT(&mask));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int threads_per_rank(int requested, int local_ranks) {
  if (requested > 0) return std::min(requested, cpus_available());
  const int node = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::max(1, std::min(cpus_available(), node / std::max(1, local_ranks)));
}

void MpiWorld::barrier() const {
  const WatchedCollective watched(watchdog_, "barrier");
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

void MpiWorld::abort(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::abort();
}

uint64_t bit_checksum(const float* data, size_t count) {
  uint64_t hash = 0xCBF29CE484222325ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  for (size_t i = 0; i < count * sizeof(float); ++i) hash = (hash ^ bytes[i]) * 0x100000001B3ull;
  return hash;
}

}  // namespace tandem::trainer
