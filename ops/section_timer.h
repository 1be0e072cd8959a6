// Wall-clock time per named section of a step (embedding, encoder, attention, ...), for the
// benchmarks' breakdown. Disabled by default: a disabled timer does not even read the clock.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace tandem::ops {

class SectionTimes {
 public:
  void enable(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  void add(const char* section, double seconds) { seconds_[section] += seconds; }
  void clear() { seconds_.clear(); }
  const std::map<std::string, double>& seconds() const { return seconds_; }

 private:
  bool enabled_ = false;
  std::map<std::string, double> seconds_;
};

// Adds the time from construction to destruction to `section` (if timing is enabled).
class ScopedSection {
 public:
  ScopedSection(SectionTimes& times, const char* section)
      : times_(times.enabled() ? &times : nullptr), section_(section) {
    if (times_) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedSection() {
    if (times_)
      times_->add(section_,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedSection(const ScopedSection&) = delete;
  ScopedSection& operator=(const ScopedSection&) = delete;

 private:
  SectionTimes* times_;
  const char* section_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tandem::ops
