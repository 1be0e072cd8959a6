// Where tandem-prep builds a corpus without risking the user's files: a temporary sibling of the
// output directory, moved into place only when the new corpus is complete. --force replaces only
// the files an earlier corpus's manifest lists, never anything else in the directory.
#pragma once

#include <string>
#include <vector>

#include "data/corpus.h"

namespace tandem::data {

// Every file a corpus consists of, relative to its directory (the manifest last).
std::vector<std::string> corpus_files(const Manifest& manifest);

class CorpusBuildDirectory {
 public:
  // Checks `output` before anything is written: absent or empty is fine; an earlier tandem corpus
  // (a readable manifest) only with `force`; anything else is a ConfigError naming it. Then
  // creates the temporary sibling directory (IoError if it cannot).
  CorpusBuildDirectory(const std::string& output, bool force);
  ~CorpusBuildDirectory();  // removes the temporary directory unless committed
  CorpusBuildDirectory(const CorpusBuildDirectory&) = delete;
  CorpusBuildDirectory& operator=(const CorpusBuildDirectory&) = delete;

  // Where the new corpus is written.
  const std::string& path() const { return temporary_; }

  // Moves the complete corpus (described by `manifest`) into the output directory: the old
  // manifest is removed first (an interrupted commit never looks like a complete corpus), then
  // the new files, the new manifest last; then the old corpus's files the new one does not use.
  void commit(const Manifest& manifest);

 private:
  std::string output_, temporary_;
  std::vector<std::string> old_files_;  // of the corpus being replaced (force)
  bool committed_ = false;
};

}  // namespace tandem::data
