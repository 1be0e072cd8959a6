#include "data/corpus_directory.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "data/atomic_file.h"
#include "ops/errors.h"

namespace tandem::data {
namespace {

namespace fs = std::filesystem;

// The files of the corpus in `directory`, from its manifest. ConfigError if there is none or it
// cannot be read: then the directory is not tandem-prep's to replace.
std::vector<std::string> existing_corpus_files(const std::string& directory) {
  const std::string path = directory + "/" + kManifestFile;
  if (!fs::exists(path))
    throw ConfigError("output: " + directory + " holds files but is not a tandem corpus (no " +
                      kManifestFile +
                      "); --force only replaces a corpus tandem-prep made: choose another "
                      "directory");
  std::vector<std::string> files;
  try {
    files = corpus_files(Manifest::parse(read_file(path), path));
  } catch (const Error& error) {
    throw ConfigError("output: " + directory + " is not a readable tandem corpus (" + error.what() +
                      "); --force only replaces a corpus tandem-prep made");
  }
  for (const std::string& file : files)  // never anything outside the directory
    if (file.empty() || file.find('/') != std::string::npos || file[0] == '.')
      throw ConfigError("output: " + path + " names the file '" + file +
                        "', which is not a corpus file; refusing to replace this corpus");
  return files;
}

void move_file(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error)
    throw IoError(to.string() + ": cannot move the new file into place from " + from.string() +
                  " (" + error.message() + ")");
}

}  // namespace

std::vector<std::string> corpus_files(const Manifest& manifest) {
  std::vector<std::string> files;
  for (const SideInfo* side : {&manifest.source, &manifest.target}) {
    files.push_back(side->vocabulary_file);
    if (!side->sentencepiece_model.empty()) files.push_back(side->sentencepiece_model);
  }
  for (const auto& [split, shards] : manifest.splits)
    for (const ShardEntry& shard : shards) files.push_back(shard.file);
  files.push_back(kManifestFile);
  return files;
}

CorpusBuildDirectory::CorpusBuildDirectory(const std::string& output, bool force)
    : output_(output) {
  const fs::path directory(output);
  if (fs::exists(directory)) {
    require_config(fs::is_directory(directory), "output",
                   output + " exists and is not a directory");
    const bool empty = fs::directory_iterator(directory) == fs::directory_iterator();
    require_config(empty || force, "output",
                   output + " exists and is not empty; use --force to replace the corpus in it");
    if (!empty) old_files_ = existing_corpus_files(output);
  }
  fs::path parent = directory.parent_path();
  if (parent.empty()) parent = ".";
  temporary_ =
      (parent / ("." + directory.filename().string() + ".tandem-prep." + std::to_string(getpid())))
          .string();
  std::error_code error;
  fs::remove_all(temporary_, error);  // left by an earlier process with this PID
  fs::create_directories(temporary_, error);
  if (error)
    throw IoError(temporary_ + ": cannot create the directory the corpus is built in (" +
                  error.message() + ")");
}

CorpusBuildDirectory::~CorpusBuildDirectory() {
  std::error_code ignored;
  if (!committed_) fs::remove_all(temporary_, ignored);
}

void CorpusBuildDirectory::commit(const Manifest& manifest) {
  const std::vector<std::string> files = corpus_files(manifest);
  std::error_code error;
  if (!fs::exists(output_)) {
    move_file(temporary_, output_);
    committed_ = true;
    return;
  }
  fs::remove(fs::path(output_) / kManifestFile, error);
  for (const std::string& file : files)  // the manifest is the last one
    move_file(fs::path(temporary_) / file, fs::path(output_) / file);
  for (const std::string& file : old_files_)
    if (std::find(files.begin(), files.end(), file) == files.end())
      fs::remove(fs::path(output_) / file, error);
  fs::remove_all(temporary_, error);
  committed_ = true;
}

}  // namespace tandem::data
