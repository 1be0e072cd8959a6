// The tandem error family. Every failure a user can cause (bad file, bad option, disagreeing
// ranks) is one of these, with a message that names the object, the problem, and expected vs.
// found. Programs catch them once, in main(), and print one line.
#pragma once

#include <stdexcept>
#include <string>

namespace tandem {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be opened, read, written, synced or renamed.
class IoError : public Error {
 public:
  using Error::Error;
};

// A file exists but its content is not what tandem wrote (truncated, corrupt, wrong version).
class FormatError : public Error {
 public:
  using Error::Error;
};

// An option or model configuration is invalid; the message names the option.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Ranks disagree or a collective failed.
class DistributedError : public Error {
 public:
  using Error::Error;
};

// Throws ConfigError("<option>: <problem>") unless `condition` holds.
inline void require_config(bool condition, const std::string& option, const std::string& problem) {
  if (!condition) throw ConfigError(option + ": " + problem);
}

}  // namespace tandem
