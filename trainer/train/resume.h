// Finding the checkpoint a run resumes from (--resume auto|none|FILE) and handing it to every
// rank: rank 0 reads and verifies, everyone receives the same parameters, moments and state.
#pragma once

#include <optional>

#include "ops/param_store.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/dist/mpi_world.h"
#include "trainer/train/train_config.h"

namespace tandem::trainer {

// Collective. auto: the newest checkpoint of run `run_id` in `directory` that verifies
// (skipping broken ones with a message), none if there is none (or with --fresh); FILE: that one. A
// checkpoint of another model, vocabulary or optimizer, or a named file that fails, is a
// ConfigError on every rank; so is a second change of the rank count within one epoch. Returns the
// same checkpoint on every rank (its path is known on rank 0 only).
std::optional<LoadedCheckpoint> load_for_resume(const MpiWorld& world, const TrainConfig& config,
                                                const std::string& directory,
                                                const std::string& run_id,
                                                const ops::ParamStore& params,
                                                const CheckpointIdentity& identity);

}  // namespace tandem::trainer
