#include "trainer/train/resume.h"

#include <cstdio>

#include "trainer/dist/agreement.h"

namespace tandem::trainer {
namespace {

// Rank 0's search. ConfigError for a checkpoint that cannot be used at all.
std::optional<LoadedCheckpoint> find_checkpoint(const TrainConfig& config,
                                                const std::string& directory,
                                                const std::string& run_id,
                                                const ops::ParamStore& params,
                                                CheckpointIdentity expected) {
  if (config.reset_optimizer) expected.optimizer.clear();
  const bool automatic = config.resume == "auto";
  const std::vector<std::string> candidates = automatic ? checkpoint_candidates(directory, run_id)
                                                        : std::vector<std::string>{config.resume};
  for (const std::string& candidate : candidates) {
    CheckpointProblem problem;
    std::optional<LoadedCheckpoint> loaded = load_checkpoint(candidate, params, expected, problem);
    if (loaded) return loaded;
    if (problem.incompatible || !automatic) throw ConfigError("resume: " + problem.message);
    std::fprintf(stderr, "tandem-train: skipping checkpoint %s; trying an older one\n",
                 problem.message.c_str());
  }
  return std::nullopt;
}

// Another rank count: the rest of the epoch becomes a remainder plan over the new ranks, once
// per epoch (a second change would need the first one's cursors too).
void require_one_rank_change_per_epoch(const LoadedCheckpoint& loaded, int ranks) {
  const TrainingState& state = loaded.state;
  if (static_cast<int>(state.cursors.size()) == ranks || state.origin.empty()) return;
  throw ConfigError(
      "resume: " + loaded.path + " is in the middle of epoch " + std::to_string(state.epoch) +
      ", which was already resumed with another rank count (" + std::to_string(state.origin.ranks) +
      " -> " + std::to_string(state.cursors.size()) + "); resume it with " +
      std::to_string(state.cursors.size()) + " rank(s) until that epoch ends");
}

// Rank 0's checkpoint to every rank. Collective.
std::optional<LoadedCheckpoint> broadcast(const MpiWorld& world,
                                          std::optional<LoadedCheckpoint> loaded,
                                          size_t parameter_count) {
  std::vector<int64_t> state_words;
  std::vector<int64_t> header{loaded ? 1 : 0, 0, 0, 0};
  if (loaded) {
    state_words = pack(loaded->state);
    header = {1, static_cast<int64_t>(loaded->first_moment.size()),
              static_cast<int64_t>(loaded->second_moment.size()),
              static_cast<int64_t>(state_words.size())};
  }
  world.broadcast(header.data(), header.size(), 0);
  if (header[0] == 0) return std::nullopt;
  if (world.rank() != 0) {
    loaded.emplace();
    loaded->values.resize(parameter_count);
    loaded->first_moment.resize(static_cast<size_t>(header[1]));
    loaded->second_moment.resize(static_cast<size_t>(header[2]));
    state_words.resize(static_cast<size_t>(header[3]));
  }
  world.broadcast(loaded->values.data(), loaded->values.size(), 0);
  world.broadcast(loaded->first_moment.data(), loaded->first_moment.size(), 0);
  world.broadcast(loaded->second_moment.data(), loaded->second_moment.size(), 0);
  world.broadcast(state_words.data(), state_words.size(), 0);
  loaded->state = unpack(state_words);
  return loaded;
}

}  // namespace

std::optional<LoadedCheckpoint> load_for_resume(const MpiWorld& world, const TrainConfig& config,
                                                const std::string& directory,
                                                const std::string& run_id,
                                                const ops::ParamStore& params,
                                                const CheckpointIdentity& identity) {
  // --fresh moves the directory's earlier run aside: nothing in it to resume automatically.
  if (config.resume == "none" || (config.resume == "auto" && config.fresh)) return std::nullopt;
  std::optional<LoadedCheckpoint> loaded;
  collective_try(world, [&] {
    if (world.rank() != 0) return;
    loaded = find_checkpoint(config, directory, run_id, params, identity);
    if (loaded) require_one_rank_change_per_epoch(*loaded, config.deterministic ? 1 : world.size());
  });
  return broadcast(world, std::move(loaded), params.total_size());
}

}  // namespace tandem::trainer
