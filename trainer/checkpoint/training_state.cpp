#include "trainer/checkpoint/training_state.h"

#include <cstring>
#include <sstream>
#include <type_traits>

#include "data/h5.h"
#include "ops/errors.h"

namespace tandem::trainer {
namespace {

namespace h5 = data::h5;
using Cursors = std::vector<data::LoaderCursor>;

template <typename Field, typename Kind>
constexpr bool is = std::is_same_v<std::decay_t<Field>, Kind>;

void append(std::vector<int64_t>& words, const Cursors& cursors) {
  words.push_back(static_cast<int64_t>(cursors.size()));
  for (const data::LoaderCursor& cursor : cursors)
    words.insert(words.end(), {cursor.epoch, cursor.window, cursor.batch});
}

// Reads the words pack() wrote, in order; FormatError past the end.
class WordReader {
 public:
  explicit WordReader(const std::vector<int64_t>& words) : words_(words) {}
  int64_t next() {
    if (at_ >= words_.size()) throw FormatError("training state: packed words end too early");
    return words_[at_++];
  }
  Cursors cursors() {
    const int64_t count = next();
    if (count < 0 || count > static_cast<int64_t>(words_.size()))
      throw FormatError("training state: bad cursor count " + std::to_string(count));
    Cursors cursors;
    for (int64_t i = 0; i < count; ++i) cursors.push_back({next(), next(), next()});
    return cursors;
  }

 private:
  const std::vector<int64_t>& words_;
  size_t at_ = 0;
};

std::string cursors_text(const Cursors& cursors) {
  std::string text = "[";
  for (size_t i = 0; i < cursors.size(); ++i)
    text += (i ? " " : "") + std::to_string(cursors[i].epoch) + ":" +
            std::to_string(cursors[i].window) + ":" + std::to_string(cursors[i].batch);
  return text + "]";
}

void write_cursors(hid_t root, const std::string& dataset, const Cursors& cursors,
                   const std::string& path) {
  std::vector<int64_t> rows;
  for (const data::LoaderCursor& cursor : cursors)
    rows.insert(rows.end(), {cursor.epoch, cursor.window, cursor.batch});
  h5::write_int64_array(root, dataset, rows.data(), {static_cast<int64_t>(cursors.size()), 3},
                        path);
}

// `count` rows of a cursor dataset; the count comes from an attribute, so it is range-checked.
Cursors read_cursors(hid_t root, const std::string& dataset, int64_t count,
                     const std::string& path) {
  std::vector<int64_t> rows(static_cast<size_t>(count * 3));
  h5::read_int64_array(root, dataset, {count, 3}, rows.data(), path);
  Cursors cursors;
  for (size_t i = 0; i < rows.size(); i += 3)
    cursors.push_back({rows[i], rows[i + 1], rows[i + 2]});
  return cursors;
}

int64_t rank_count_attribute(hid_t root, const std::string& name, int64_t minimum,
                             const std::string& path) {
  const int64_t ranks = h5::get_int_attribute(root, name, path);
  if (ranks < minimum || ranks > 1 << 20)
    throw FormatError(path + ": attribute " + name + " is " + std::to_string(ranks));
  return ranks;
}

int64_t bits_of(double value) {
  int64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

double from_bits(int64_t bits) {
  double value = 0;
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

// The content fields as words (pack() without the measured fields).
std::vector<int64_t> content_words(const TrainingState& state) {
  std::vector<int64_t> words;
  for_each_field(state, [&](const char*, const auto& field) {
    using Field = decltype(field);
    if constexpr (is<Field, Cursors>) {
      append(words, field);
    } else if constexpr (is<Field, data::EpochOrigin>) {
      words.push_back(field.ranks);
      append(words, field.cursors);
    } else if constexpr (is<Field, double>) {
      words.push_back(bits_of(field));
    } else {
      static_assert(is<Field, int64_t>, "a TrainingState field of a kind pack() does not know");
      words.push_back(field);
    }
  });
  return words;
}

}  // namespace

bool operator==(const TrainingState& a, const TrainingState& b) {
  return content_words(a) == content_words(b);  // bit equality, doubles included
}

std::vector<int64_t> pack(const TrainingState& state) {
  std::vector<int64_t> words = content_words(state);
  for_each_measured_field(state,
                          [&](const char*, double field) { words.push_back(bits_of(field)); });
  return words;
}

TrainingState unpack(const std::vector<int64_t>& words) {
  TrainingState state;
  WordReader reader(words);
  for_each_field(state, [&](const char*, auto& field) {
    using Field = decltype(field);
    if constexpr (is<Field, Cursors>) {
      field = reader.cursors();
    } else if constexpr (is<Field, data::EpochOrigin>) {
      field.ranks = reader.next();
      field.cursors = reader.cursors();
    } else if constexpr (is<Field, double>) {
      field = from_bits(reader.next());
    } else {
      field = reader.next();
    }
  });
  for_each_measured_field(state,
                          [&](const char*, double& field) { field = from_bits(reader.next()); });
  return state;
}

uint64_t checksum(const TrainingState& state, uint64_t seed) {
  // Lists as they come; the integers, then the reals, each kind as one block (the layout of
  // format version 1, which older checkpoints were summed with).
  uint64_t sum = seed;
  std::vector<int64_t> integers;
  std::vector<double> reals;
  for_each_field(state, [&](const char* name, const auto& field) {
    using Field = decltype(field);
    if constexpr (is<Field, Cursors> || is<Field, data::EpochOrigin>) {
      const Cursors& cursors = [&]() -> const Cursors& {
        if constexpr (is<Field, Cursors>)
          return field;
        else
          return field.cursors;
      }();
      for (const data::LoaderCursor& cursor : cursors) {
        const int64_t row[3] = {cursor.epoch, cursor.window, cursor.batch};
        sum = content_checksum(row, sizeof row, sum);
      }
      if constexpr (is<Field, data::EpochOrigin>)
        sum = content_checksum(&field.ranks, sizeof field.ranks, sum);
    } else if constexpr (is<Field, double>) {
      reals.push_back(field);
    } else if (!added_later(name) || field != added_later_default(name)) {
      integers.push_back(field);
    }
  });
  sum = content_checksum(integers.data(), integers.size() * sizeof(int64_t), sum);
  return content_checksum(reals.data(), reals.size() * sizeof(double), sum);
}

std::string describe(const TrainingState& state) {
  std::ostringstream text;
  for_each_field(state, [&](const char* name, const auto& field) {
    using Field = decltype(field);
    text << name << " = ";
    if constexpr (is<Field, Cursors>)
      text << cursors_text(field);
    else if constexpr (is<Field, data::EpochOrigin>)
      text << field.ranks << " " << cursors_text(field.cursors);
    else
      text << field;
    text << "\n";
  });
  for_each_measured_field(state, [&](const char* name, double field) {
    text << name << " = " << field << " (measured)\n";
  });
  return text.str();
}

void write_state(hid_t root, const TrainingState& state, const std::string& path) {
  for_each_field(state, [&](const char* name, const auto& field) {
    using Field = decltype(field);
    if constexpr (is<Field, Cursors>) {
      write_cursors(root, std::string("loader/") + name, field, path);
      h5::set_attribute(root, "ranks", static_cast<int64_t>(field.size()), path);
    } else if constexpr (is<Field, data::EpochOrigin>) {
      h5::set_attribute(root, std::string(name) + "_ranks", field.ranks, path);
      if (!field.empty())
        write_cursors(root, std::string("loader/") + name + "_cursors", field.cursors, path);
    } else {
      h5::set_attribute(root, name, field, path);
    }
  });
  for_each_measured_field(
      state, [&](const char* name, double field) { h5::set_attribute(root, name, field, path); });
}

TrainingState read_state(hid_t root, const std::string& path) {
  TrainingState state;
  for_each_field(state, [&](const char* name, auto& field) {
    using Field = decltype(field);
    if constexpr (is<Field, Cursors>) {
      const int64_t ranks = rank_count_attribute(root, "ranks", 1, path);
      field = read_cursors(root, std::string("loader/") + name, ranks, path);
    } else if constexpr (is<Field, data::EpochOrigin>) {
      field.ranks = rank_count_attribute(root, std::string(name) + "_ranks", 0, path);
      if (!field.empty())
        field.cursors =
            read_cursors(root, std::string("loader/") + name + "_cursors", field.ranks, path);
    } else if constexpr (is<Field, double>) {
      field = h5::get_double_attribute(root, name, path);
    } else if (!added_later(name) || H5Aexists(root, name) > 0) {
      field = h5::get_int_attribute(root, name, path);
    }
  });
  for_each_measured_field(state, [&](const char* name, double& field) {
    field = H5Aexists(root, name) > 0 ? h5::get_double_attribute(root, name, path) : 0.0;
  });
  return state;
}

uint64_t content_checksum(const void* data, size_t bytes, uint64_t seed) {
  uint64_t hash = seed ^ 0xCBF29CE484222325ull;
  const auto* raw = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, raw + i, 8);
    hash = (hash ^ word) * 0x100000001B3ull;
    hash ^= hash >> 29;
  }
  for (; i < bytes; ++i) hash = (hash ^ raw[i]) * 0x100000001B3ull;
  return hash;
}

}  // namespace tandem::trainer
