// Crash-safe file replacement (leveldb's SetCurrentFile): write "<path>.tmp", fsync it, rename it
// over <path>, fsync the directory. A reader sees the old file or the new one, never half of one.
#pragma once

#include <string>
#include <string_view>

namespace tandem::data {

// The temporary name a file is written under before commit_file() renames it.
std::string temporary_path(const std::string& path);

// fsyncs temporary_path(path), renames it to path and fsyncs the directory. IoError naming the
// path on failure (the temporary file is removed then).
void commit_file(const std::string& path);

// Writes `content` to path atomically (temp + fsync + rename + directory fsync). IoError naming
// the path (e.g. "disk full") on failure; the old file, if any, is untouched then.
void write_file_atomically(const std::string& path, std::string_view content);

// fsyncs a directory, so renames inside it survive a crash. IoError naming it on failure.
void sync_directory(const std::string& directory);

// Reads a whole file. IoError naming the path if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace tandem::data
