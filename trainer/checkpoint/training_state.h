// TrainingState: every counter and state a resumed run needs besides the parameters and the
// optimizer moments (Marian's TrainingState). Its fields are declared once, in
// for_each_field(); broadcast (pack/unpack), the content checksum, the HDF5 form, the text
// summary and equality are all derived from that list, so a new field cannot be forgotten in one
// of them (tests/checkpoint/training_state_test.cpp walks the list).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/batch_loader.h"

namespace tandem::trainer {

struct TrainingState {
  std::vector<data::LoaderCursor> cursors;  // one per rank, indexed by rank
  data::EpochOrigin origin;                 // how the current epoch began (see the loader)
  int64_t step = 0;                         // updates taken (the next noise key, schedule step)
  int64_t epoch = 0;
  int64_t optimizer_steps = 0;  // Adam's bias-correction count
  int64_t consecutive_skips = 0;
  int64_t total_skips = 0;
  int64_t validations_without_improvement = 0;
  int64_t schedule_bad_evaluations = 0;
  double plateau_scale = 1.0;
  double best_validation = 0.0;
  double elapsed_seconds = 0.0;  // training time so far, over every resume (measured)
  // --deterministic: the fixed-point scale of the exact gradient sum (lowered by an overflow).
  int64_t gradient_scale_bits = 32;
};

// THE list of the state's fields: visit(name, member) for each, in this order. The names are
// persisted in checkpoints: never rename one. Field kinds and their HDF5 form: int64_t and double
// (an attribute of that name), the cursor list "cursors" (dataset loader/cursors, rows of epoch,
// window, batch, plus the attribute "ranks") and the epoch origin "origin" (attribute
// origin_ranks plus, when not empty, dataset loader/origin_cursors). The checksum hashes the lists
// first, then the integers, then the reals, each kind in this order: keep the lists first and add
// new fields at the end of their kind.
template <typename State, typename Visit>
void for_each_field(State& state, Visit&& visit) {
  visit("cursors", state.cursors);
  visit("origin", state.origin);
  visit("step", state.step);
  visit("epoch", state.epoch);
  visit("optimizer_steps", state.optimizer_steps);
  visit("consecutive_skips", state.consecutive_skips);
  visit("total_skips", state.total_skips);
  visit("validations_without_improvement", state.validations_without_improvement);
  visit("schedule_bad_evaluations", state.schedule_bad_evaluations);
  visit("gradient_scale_bits", state.gradient_scale_bits);  // optional: see kAddedLater
  visit("plateau_scale", state.plateau_scale);
  visit("best_validation", state.best_validation);
}

// Fields added after checkpoints without them were written: such a checkpoint reads them as the
// default above (any other missing field is a damaged checkpoint), and the checksum includes
// them only where they differ from it, so those files (and runs that never change the field)
// keep their checksum. Integers only.
inline bool added_later(const std::string& field) {
  return field == "gradient_scale_bits";
}
inline int64_t added_later_default(const std::string& /*field*/) {
  return TrainingState{}.gradient_scale_bits;
}

// The fields measured during a run (wall-clock time): saved, restored, broadcast and described
// like the others, so a time budget and a schedule over it continue on resume, but not part of
// the content: two identical runs differ in them, so the checksum and equality leave them out.
// Doubles only; a checkpoint without one (written before it existed) reads it as 0.
template <typename State, typename Visit>
void for_each_measured_field(State& state, Visit&& visit) {
  visit("elapsed_seconds", state.elapsed_seconds);
}

// Equality of the content (every for_each_field field, bit for bit; measured fields ignored).
bool operator==(const TrainingState& a, const TrainingState& b);
inline bool operator!=(const TrainingState& a, const TrainingState& b) {
  return !(a == b);
}

// The state as int64 words (doubles by their bits, lists with their lengths), for one
// broadcast, and back. unpack throws FormatError on words that do not form a state.
std::vector<int64_t> pack(const TrainingState& state);
TrainingState unpack(const std::vector<int64_t>& words);

// Continues `seed` (a content_checksum) over every field.
uint64_t checksum(const TrainingState& state, uint64_t seed);

// "name = value" lines, one per field (lists in brackets), for summaries and messages.
std::string describe(const TrainingState& state);

// The state in an open HDF5 file or group `root`; `path` names the file in errors (FormatError
// for a missing or malformed field). Requires: the HDF5 library mutex held.
void write_state(hid_t root, const TrainingState& state, const std::string& path);
TrainingState read_state(hid_t root, const std::string& path);

// 64-bit checksum of raw bytes, read as 64-bit words (fast over hundreds of MB).
uint64_t content_checksum(const void* data, size_t bytes, uint64_t seed);

}  // namespace tandem::trainer
