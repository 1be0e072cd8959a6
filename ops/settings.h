// Named settings with a text form: the one declaration behind a configuration's options,
// its "key = value" lines (config.ini, checkpoints) and its enum names. A struct lists its
// fields once in a Settings table (key, field, help); printing, parsing, command-line options
// (trainer/apps/option_table.h) and comparisons all walk that table.
// Header-only, beside errors.h, because every layer has configurations (data/ too).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/errors.h"

namespace tandem {

// The persisted names of an enum's values, in one table. parse() throws
// ConfigError("<key>: unknown value 'x' (expected a, b or c)"). Names written to files: never
// change one.
template <typename Enum>
class EnumNames {
 public:
  EnumNames(const char* key, std::initializer_list<std::pair<Enum, const char*>> entries)
      : key_(key), entries_(entries) {}

  std::string name(Enum value) const {
    for (const auto& [entry, text] : entries_)
      if (entry == value) return text;
    return "?";
  }
  Enum parse(const std::string& text) const {
    for (const auto& [entry, name] : entries_)
      if (text == name) return entry;
    throw ConfigError(key_ + ": unknown value '" + text + "' (expected " + choices() + ")");
  }
  std::vector<Enum> values() const {
    std::vector<Enum> values;
    for (const auto& entry : entries_) values.push_back(entry.first);
    return values;
  }
  // "a, b or c"
  std::string choices() const {
    std::string text;
    for (size_t i = 0; i < entries_.size(); ++i)
      text += (i == 0                     ? ""
               : i + 1 == entries_.size() ? " or "
                                          : ", ") +
              std::string(entries_[i].second);
    return text;
  }

 private:
  std::string key_;
  std::vector<std::pair<Enum, const char*>> entries_;
};

// Text form of numbers as tandem writes them (shortest round-trip is not needed: these are
// configuration values, written with the stream's default precision).
template <typename T>
std::string setting_text(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else {
    std::ostringstream out;
    out << value;
    return out.str();
  }
}

// Parses `text` as a T; ConfigError naming `key` if it is not one (the whole text must be used).
template <typename T>
T parse_setting(const std::string& key, const std::string& text) {
  if constexpr (std::is_same_v<T, std::string>) {
    return text;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "0" || text == "no" || text == "off") return false;
    throw ConfigError(key + ": expected true or false, got '" + text + "'");
  } else {
    std::istringstream in(text);
    T value{};
    in >> value;
    if (in.fail() || !in.eof())
      throw ConfigError(key + ": cannot parse '" + text + "' as a number");
    if constexpr (std::is_unsigned_v<T>)
      if (text.find('-') != std::string::npos)
        throw ConfigError(key + ": must not be negative, got '" + text + "'");
    return value;
  }
}

// One setting: a key, the group it is listed under, help, and access to the field it names.
struct Setting {
  std::string key;
  std::string group;
  std::string help;
  std::function<std::string()> get;
  std::function<void(const std::string&)> set;  // ConfigError naming the key
  bool persisted = true;                        // part of the configuration's "key = value" lines
  bool is_switch = false;                       // a command-line flag without a value (a bool)
  bool is_list = false;                         // given several times; each value is appended
  bool is_bool = false;  // a persisted bool: "--name" alone means true ("--name=false" too)
};

// An ordered table of settings over the fields of one configuration object. The object must
// outlive the table.
class Settings {
 public:
  // Settings added from now on are listed under `title` (command-line help groups).
  Settings& group(const std::string& title) {
    group_ = title;
    return *this;
  }
  // Settings added from now on are (not) part of the "key = value" lines.
  Settings& persisted(bool on) {
    persisted_ = on;
    return *this;
  }

  template <typename T>
  Settings& add(const std::string& key, T& field, const std::string& help) {
    Setting setting{key,
                    group_,
                    help,
                    [&field] { return setting_text(field); },
                    [&field, key](const std::string& text) { field = parse_setting<T>(key, text); },
                    persisted_,
                    false};
    setting.is_bool = std::is_same_v<T, bool>;
    return push(std::move(setting));
  }
  template <typename Enum>
  Settings& add(const std::string& key, Enum& field, const EnumNames<Enum>& names,
                const std::string& help) {
    return push({key, group_, help + ": " + names.choices(),
                 [&field, &names] { return names.name(field); },
                 [&field, &names](const std::string& text) { field = names.parse(text); },
                 persisted_, false});
  }
  // A field with its own text form and parser (`parse` throws std::invalid_argument saying what
  // is wrong; the error then names the key).
  template <typename T>
  Settings& add_parsed(const std::string& key, T& field, std::string (*text)(const T&),
                       T (*parse)(const std::string&), const std::string& help) {
    return push({key, group_, help, [&field, text] { return text(field); },
                 [&field, parse, key](const std::string& value) {
                   try {
                     field = parse(value);
                   } catch (const std::invalid_argument& error) {
                     throw ConfigError(key + ": " + error.what());
                   }
                 },
                 persisted_, false});
  }
  // A bool set by naming it (--flag); never persisted.
  Settings& add_switch(const std::string& key, bool& field, const std::string& help) {
    return push({key, group_, help, [&field] { return setting_text(field); },
                 [&field, key](const std::string& text) { field = parse_setting<bool>(key, text); },
                 false, true});
  }
  // The last added setting (a number) must lie in [low, high]; otherwise set() throws
  // ConfigError("<key>: must be ..., got <text>"). NaN and infinities never parse.
  Settings& range(double low, double high) { return limit(low, high, false); }
  Settings& at_least(double low) { return limit(low, kNoLimit, false); }
  // ... must be greater than `low` (e.g. a learning rate: positive).
  Settings& above(double low, double high = kNoLimit) { return limit(low, high, true); }

  // A list of strings, one value per occurrence of the option; never persisted.
  Settings& add_list(const std::string& key, std::vector<std::string>& field,
                     const std::string& help) {
    Setting setting{key,
                    group_,
                    help,
                    [&field] {
                      std::string text;
                      for (const std::string& item : field)
                        text += (text.empty() ? "" : ",") + item;
                      return text;
                    },
                    [&field](const std::string& text) { field.push_back(text); },
                    false,
                    false};
    setting.is_list = true;
    return push(std::move(setting));
  }

  // Every setting of `other`, under this table's current group, keys passed through `rename`
  // and those for which `keep` is false left out.
  Settings& add_all(const Settings& other, const std::function<std::string(std::string)>& rename,
                    const std::function<bool(const std::string&)>& keep) {
    for (Setting setting : other.all()) {
      if (!keep(setting.key)) continue;
      const std::string key = rename(setting.key);
      // Errors name the setting by its new key.
      setting.set = [set = setting.set, from = setting.key + ":",
                     to = key + ":"](const std::string& text) {
        try {
          set(text);
        } catch (const ConfigError& error) {
          const std::string message = error.what();
          if (message.rfind(from, 0) != 0) throw;
          throw ConfigError(to + message.substr(from.size()));
        }
      };
      setting.key = key;
      setting.group = group_;
      setting.persisted = setting.persisted && persisted_;
      push(std::move(setting));
    }
    return *this;
  }

  const std::vector<Setting>& all() const { return settings_; }

  // The persisted settings as ordered (key, value) pairs.
  std::vector<std::pair<std::string, std::string>> key_values() const {
    std::vector<std::pair<std::string, std::string>> values;
    for (const Setting& setting : settings_)
      if (setting.persisted) values.emplace_back(setting.key, setting.get());
    return values;
  }
  // The setting named `key`, or null.
  const Setting* find(const std::string& key) const {
    for (const Setting& setting : settings_)
      if (setting.key == key) return &setting;
    return nullptr;
  }
  // Sets the setting named `key`; ConfigError "<key>: unknown option" if there is none.
  void set(const std::string& key, const std::string& text) const {
    const Setting* setting = find(key);
    if (!setting) throw ConfigError(key + ": unknown option");
    setting->set(text);
  }

 private:
  static constexpr double kNoLimit = 1e300;

  Settings& limit(double low, double high, bool exclusive_low) {
    Setting& setting = settings_.back();
    const std::string bounds =
        exclusive_low
            ? (high >= kNoLimit ? "greater than " + setting_text(low)
                                : "in (" + setting_text(low) + ", " + setting_text(high) + "]")
            : (high >= kNoLimit ? "at least " + setting_text(low)
                                : "in [" + setting_text(low) + ", " + setting_text(high) + "]");
    setting.set = [set = setting.set, get = setting.get, key = setting.key, low, high,
                   exclusive_low, bounds](const std::string& text) {
      set(text);
      const double value = std::stod(get());
      if (value < low || value > high || (exclusive_low && value == low))
        throw ConfigError(key + ": must be " + bounds + ", got " + text);
    };
    setting.help += " [" + bounds + "]";
    return *this;
  }

  Settings& push(Setting setting) {
    settings_.push_back(std::move(setting));
    return *this;
  }
  std::string group_;
  bool persisted_ = true;
  std::vector<Setting> settings_;
};

// "key = value" lines of ordered pairs.
inline std::string key_value_text(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string text;
  for (const auto& [key, value] : pairs) text += key + " = " + value + "\n";
  return text;
}

}  // namespace tandem
