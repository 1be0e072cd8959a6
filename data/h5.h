// Thin RAII layer over the HDF5 C API: one move-only handle per id kind, calls checked and
// turned into tandem errors naming the file, and atomic file writing (temp file + fsync +
// rename). HDF5's own error-stack printing is switched off; we print one line.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::data::h5 {

// An owned hid_t with its matching close function (H5Fclose, H5Dclose, ...).
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  // Gives up the id without closing it (the caller closes it and checks the result).
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Call once before using HDF5 (idempotent): silences HDF5's automatic error printing.
void quiet_errors();

// Debian's HDF5 is built without thread safety, and the loader reads on a prefetch thread while
// the trainer may write a checkpoint: every multi-call HDF5 operation holds this lock.
std::mutex& library_mutex();

// Files. Errors name `path`: IoError when it cannot be opened/created, FormatError when it is
// not a readable HDF5 file.
Handle create_file(const std::string& path);  // truncates
// A file HDF5 writes straight to disk under `path`'s temporary name (data/atomic_file.h);
// commit() closes it and moves it into place (fsync, rename, directory fsync). Until then `path`
// itself is untouched, and a failure (the destructor without commit) removes the temporary file.
// Errors name `path`; one with an operating-system cause (a full disk, a file-size limit) is an
// IoError that says it. Used for checkpoints: written from the live buffers, so a save needs no
// second copy of parameters and moments in memory. Requires: the library mutex held while used.
class StagedFile {
 public:
  explicit StagedFile(const std::string& path);
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();
  hid_t get() const { return file_.get(); }
  void commit();  // once

 private:
  std::string path_, temporary_;
  Handle file_;
  bool committed_ = false;
};

// The bytes of a file built in memory: HDF5's own buffer, handed over (never copied).
struct Image {
  struct Free {
    void operator()(char* bytes) const { std::free(bytes); }
  };
  std::unique_ptr<char, Free> bytes;
  size_t size = 0;
  std::string_view view() const { return {bytes.get(), size}; }
};

// A file that lives in memory only (HDF5's core driver, growing by realloc); take_image() closes
// it and hands over its buffer, which the caller writes with its own checked I/O (so a full
// disk is an errno, not an HDF5 state). The buffer is taken through HDF5's file-image callbacks
// instead of H5Fget_file_image, which would copy it: a checkpoint's peak memory is its image
// once, not twice. Requires: the library mutex held while it is used.
class MemoryFile {
 public:
  explicit MemoryFile(const std::string& name);  // FormatError naming it if HDF5 refuses
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile();
  hid_t get() const { return file_.get(); }
  // Flushes and closes the file; returns its bytes. Once.
  Image take_image();

  struct Buffer {  // where the callbacks keep HDF5's current image block
    void* data = nullptr;
    bool closed = false;
  };

 private:
  std::string name_;
  Buffer buffer_;
  Handle file_;
};
Handle open_file_readonly(const std::string& path);
bool exists(hid_t location, const std::string& name);  // a link (dataset or group) by that name

// 1-D datasets of int32 / int64, chunked (chunk_elements) with Fletcher-32 checksums (so a
// flipped byte in the data is detected on read), optionally deflate-compressed (level 1-9).
void write_int32(hid_t file, const std::string& name, const std::vector<int32_t>& values,
                 int64_t chunk_elements, int deflate_level, const std::string& path);
void write_int64(hid_t file, const std::string& name, const std::vector<int64_t>& values,
                 int64_t chunk_elements, int deflate_level, const std::string& path);
// N-D float / int64 datasets (contiguous) for checkpoints; `name` may contain groups
// ("encoder/l0/weights_layer"), which are created as needed.
void write_float(hid_t file, const std::string& name, const float* values,
                 const std::vector<int64_t>& shape, const std::string& path);
void write_int64_array(hid_t file, const std::string& name, const int64_t* values,
                       const std::vector<int64_t>& shape, const std::string& path);
// Reads a whole N-D dataset whose shape must be `shape` (FormatError naming path, dataset and
// both shapes otherwise). `out` must hold the product of `shape` elements.
void read_float(hid_t file, const std::string& name, const std::vector<int64_t>& shape, float* out,
                const std::string& path);
void read_int64_array(hid_t file, const std::string& name, const std::vector<int64_t>& shape,
                      int64_t* out, const std::string& path);
// The shape of a dataset (FormatError if missing).
std::vector<int64_t> dataset_shape(hid_t file, const std::string& name, const std::string& path);

// Reads elements [first, first + count) of a 1-D dataset into out (resized).
// FormatError naming path and dataset if it is missing, not 1-D, too short or corrupt.
class Dataset1D {
 public:
  // cache_bytes > 0: HDF5 chunk cache for this dataset (default 1 MiB).
  Dataset1D(hid_t file, const std::string& name, const std::string& path, size_t cache_bytes = 0);
  int64_t size() const { return size_; }
  void close() { dataset_.reset(); }
  void read_int32(int64_t first, int64_t count, std::vector<int32_t>& out) const;
  void read_int64(int64_t first, int64_t count, std::vector<int64_t>& out) const;

 private:
  void read(int64_t first, int64_t count, hid_t memory_type, void* out) const;
  Handle dataset_;
  std::string name_, path_;
  int64_t size_ = 0;
};

// Attributes on the root group (or any object).
void set_attribute(hid_t object, const std::string& name, int64_t value, const std::string& path);
void set_attribute(hid_t object, const std::string& name, const std::string& value,
                   const std::string& path);
void set_attribute(hid_t object, const std::string& name, double value, const std::string& path);
int64_t get_int_attribute(hid_t object, const std::string& name, const std::string& path);
double get_double_attribute(hid_t object, const std::string& name, const std::string& path);
std::string get_string_attribute(hid_t object, const std::string& name, const std::string& path);

}  // namespace tandem::data::h5
