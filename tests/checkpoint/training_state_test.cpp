// TrainingState's one field list: every declared field survives the HDF5 form, the broadcast
// words and the text summary, and changes the checksum when it changes. The tests walk
// for_each_field, so a field added to the list is covered without touching this file.
#include <gtest/gtest.h>

#include <mutex>
#include <type_traits>

#include "data/h5.h"
#include "ops/errors.h"
#include "trainer/checkpoint/training_state.h"

namespace tandem {
namespace {

using trainer::TrainingState;

// A state where every field differs from its default.
TrainingState filled_state() {
  TrainingState state;
  state.cursors = {{3, 1, 4}, {3, 2, 0}};
  state.origin = {3, {{2, 7, 1}, {2, 6, 5}, {2, 8, 0}}};
  state.step = 1234;
  state.epoch = 3;
  state.optimizer_steps = 1200;
  state.consecutive_skips = 2;
  state.total_skips = 34;
  state.validations_without_improvement = 1;
  state.schedule_bad_evaluations = 5;
  state.plateau_scale = 0.25;
  state.best_validation = -0.8125;
  return state;
}

size_t field_count() {
  size_t count = 0;
  TrainingState state;
  trainer::for_each_field(state, [&](const char*, auto&) { ++count; });
  return count;
}

// Changes the field at `index` (in declaration order) in a way every field kind can show.
void change_field(TrainingState& state, size_t index) {
  size_t at = 0;
  trainer::for_each_field(state, [&](const char*, auto& field) {
    if (at++ != index) return;
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, std::vector<data::LoaderCursor>>)
      field.back().batch += 1;
    else if constexpr (std::is_same_v<Field, data::EpochOrigin>)
      field.cursors.front().window += 1;
    else if constexpr (std::is_same_v<Field, double>)
      field += 0.5;
    else
      field += 7;
  });
}

std::string field_name(size_t index) {
  std::string name;
  size_t at = 0;
  TrainingState state;
  trainer::for_each_field(state, [&](const char* field, auto&) {
    if (at++ == index) name = field;
  });
  return name;
}

TrainingState hdf5_round_trip(const TrainingState& state) {
  namespace h5 = data::h5;
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  h5::MemoryFile file("state.h5");
  trainer::write_state(file.get(), state, "state.h5");
  return trainer::read_state(file.get(), "state.h5");
}

TEST(TrainingState, EveryFieldSurvivesHdf5AndBroadcastWords) {
  for (size_t i = 0; i < field_count(); ++i) {
    TrainingState state = filled_state();
    change_field(state, i);
    EXPECT_EQ(hdf5_round_trip(state), state) << "HDF5 form loses " << field_name(i);
    EXPECT_EQ(trainer::unpack(trainer::pack(state)), state)
        << "pack/unpack loses " << field_name(i);
  }
}

TEST(TrainingState, ChangingAnyFieldChangesChecksumEqualityAndSummary) {
  const TrainingState reference = filled_state();
  for (size_t i = 0; i < field_count(); ++i) {
    TrainingState changed = reference;
    change_field(changed, i);
    EXPECT_NE(trainer::checksum(changed, 1), trainer::checksum(reference, 1)) << field_name(i);
    EXPECT_NE(changed, reference) << field_name(i);
    EXPECT_NE(trainer::describe(changed), trainer::describe(reference)) << field_name(i);
  }
}

TEST(TrainingState, SummaryNamesEveryField) {
  const std::string text = trainer::describe(filled_state());
  for (size_t i = 0; i < field_count(); ++i)
    EXPECT_NE(text.find(field_name(i) + " = "), std::string::npos) << text;
}

TEST(TrainingState, ChecksumKeepsFormatVersionOneLayout) {
  // The checksum of version-1 checkpoints: lists, then the integers as one block, then the reals.
  const TrainingState state = filled_state();
  uint64_t sum = 1;
  for (const auto* cursors : {&state.cursors, &state.origin.cursors})
    for (const data::LoaderCursor& cursor : *cursors) {
      const int64_t row[3] = {cursor.epoch, cursor.window, cursor.batch};
      sum = trainer::content_checksum(row, sizeof row, sum);
    }
  sum = trainer::content_checksum(&state.origin.ranks, sizeof state.origin.ranks, sum);
  const int64_t integers[7] = {state.step,
                               state.epoch,
                               state.optimizer_steps,
                               state.consecutive_skips,
                               state.total_skips,
                               state.validations_without_improvement,
                               state.schedule_bad_evaluations};
  sum = trainer::content_checksum(integers, sizeof integers, sum);
  const double reals[2] = {state.plateau_scale, state.best_validation};
  sum = trainer::content_checksum(reals, sizeof reals, sum);
  EXPECT_EQ(trainer::checksum(state, 1), sum);
}

// A field added later (--deterministic's scale) may be missing from an older file: it reads as
// its default, and at its default it is not in the checksum, so those files still verify.
TEST(TrainingState, AFieldAddedLaterIsOptionalAndOutOfTheChecksumAtItsDefault) {
  namespace h5 = data::h5;
  TrainingState state = filled_state();
  const uint64_t version_one = trainer::checksum(state, 1);
  {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::MemoryFile file("old.h5");
    trainer::write_state(file.get(), state, "old.h5");
    ASSERT_GE(H5Adelete(file.get(), "gradient_scale_bits"), 0);
    EXPECT_EQ(trainer::read_state(file.get(), "old.h5"), state);
    ASSERT_GE(H5Adelete(file.get(), "total_skips"), 0);
    EXPECT_THROW(trainer::read_state(file.get(), "old.h5"), FormatError)
        << "only fields added later may be missing";
  }
  state.gradient_scale_bits -= 8;  // an overflow lowered it: now it is content
  EXPECT_NE(trainer::checksum(state, 1), version_one);
  EXPECT_EQ(hdf5_round_trip(state).gradient_scale_bits, state.gradient_scale_bits);
}

// Measured fields (wall-clock time) are saved, restored and described, but identical runs differ
// in them, so they are not content: neither the checksum nor equality sees them.
TEST(TrainingState, MeasuredFieldsTravelButAreNotContent) {
  TrainingState state = filled_state();
  trainer::for_each_measured_field(state, [](const char*, double& field) { field = 98.25; });
  const TrainingState through_hdf5 = hdf5_round_trip(state);
  const TrainingState through_words = trainer::unpack(trainer::pack(state));
  trainer::for_each_measured_field(through_hdf5, [](const char* name, double field) {
    EXPECT_EQ(field, 98.25) << "HDF5 form loses " << name;
  });
  trainer::for_each_measured_field(through_words, [](const char* name, double field) {
    EXPECT_EQ(field, 98.25) << "pack/unpack loses " << name;
  });
  const TrainingState reference = filled_state();
  EXPECT_EQ(trainer::checksum(state, 1), trainer::checksum(reference, 1));
  EXPECT_EQ(state, reference);
  EXPECT_NE(trainer::describe(state).find("elapsed_seconds = 98.25 (measured)"), std::string::npos);
}

TEST(TrainingState, TruncatedWordsAreAFormatError) {
  std::vector<int64_t> words = trainer::pack(filled_state());
  words.resize(words.size() - 1);
  EXPECT_THROW(trainer::unpack(words), FormatError);
}

}  // namespace
}  // namespace tandem
