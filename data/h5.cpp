#include "data/h5.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <algorithm>

#include "data/atomic_file.h"
#include "ops/errors.h"

namespace tandem::data::h5 {
namespace {

// The operating system's message in HDF5's error stack (its POSIX driver records "errno = 28,
// error message = 'No space left on device'"), or "" when the failure had no such cause.
std::string system_reason() {
  std::string reason;
  auto visit = [](unsigned, const H5E_error2_t* entry, void* data) -> herr_t {
    const std::string text = entry->desc ? entry->desc : "";
    const std::string marker = "error message = '";
    const size_t begin = text.find(marker);
    auto& found = *static_cast<std::string*>(data);
    if (begin != std::string::npos && found.empty()) {
      const size_t from = begin + marker.size();
      found = text.substr(from, text.find('\'', from) - from);
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, visit, &reason);
  return reason;
}

[[noreturn]] void format_error(const std::string& path, const std::string& what) {
  const std::string reason = system_reason();
  if (!reason.empty()) throw IoError(path + ": " + what + " (" + reason + ")");
  throw FormatError(path + ": " + what);
}

hid_t checked(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) format_error(path, what);
  return id;
}

void checked_status(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) format_error(path, what);
}

Handle dataspace_1d(int64_t size, const std::string& path) {
  const hsize_t dims[1] = {static_cast<hsize_t>(size)};
  return Handle(checked(H5Screate_simple(1, dims, nullptr), path, "cannot create a dataspace"),
                H5Sclose);
}

Handle chunked_properties(int64_t size, int64_t chunk_elements, int deflate_level,
                          const std::string& path) {
  Handle properties(checked(H5Pcreate(H5P_DATASET_CREATE), path, "cannot create properties"),
                    H5Pclose);
  if (size > 0) {
    const hsize_t chunk[1] = {
        static_cast<hsize_t>(std::max<int64_t>(1, std::min(chunk_elements, size)))};
    checked_status(H5Pset_chunk(properties.get(), 1, chunk), path, "cannot set chunking");
    checked_status(H5Pset_fletcher32(properties.get()), path, "cannot enable checksums");
    if (deflate_level > 0)
      checked_status(H5Pset_deflate(properties.get(), static_cast<unsigned>(deflate_level)), path,
                     "cannot enable deflate");
  }
  return properties;
}

void write_1d(hid_t file, const std::string& name, const void* values, int64_t size, hid_t type,
              int64_t chunk_elements, int deflate_level, const std::string& path) {
  Handle space = dataspace_1d(size, path);
  Handle properties = chunked_properties(size, chunk_elements, deflate_level, path);
  Handle dataset(checked(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT,
                                    properties.get(), H5P_DEFAULT),
                         path, "cannot create dataset " + name),
                 H5Dclose);
  if (size > 0)
    checked_status(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), path,
                   "cannot write dataset " + name);
}

}  // namespace

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && closer_) closer_(id_);
  id_ = -1;
}

// No library shutdown at exit: a file whose write failed (a full disk) cannot be closed, its
// metadata cannot be flushed, and HDF5 1.10's shutdown then dereferences the half-closed file
// (measured: a segfault after the clear error). Every file tandem writes is closed and checked
// explicitly, so the shutdown has nothing of ours to flush. This must precede the library's
// start (any HDF5 call, e.g. --version's H5get_libversion), hence a static initializer.
[[maybe_unused]] const bool kNoShutdownAtExit = (H5dont_atexit(), true);

void quiet_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::mutex& library_mutex() {
  static std::mutex mutex;  // guards a process-wide library, so it is process-wide too
  return mutex;
}

Handle create_file(const std::string& path) {
  quiet_errors();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw IoError(path + ": cannot create the file");
  return Handle(id, H5Fclose);
}

StagedFile::StagedFile(const std::string& path) : path_(path), temporary_(temporary_path(path)) {
  quiet_errors();
  const hid_t id = H5Fcreate(temporary_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) {
    const std::string reason = system_reason();
    throw IoError(path + ": cannot create the temporary file" +
                  (reason.empty() ? "" : " (" + reason + ")"));
  }
  file_ = Handle(id, H5Fclose);
}

StagedFile::~StagedFile() {
  if (committed_) return;
  file_.reset();
  std::remove(temporary_.c_str());
}

void StagedFile::commit() {
  // Closing writes HDF5's cached metadata: the last point where a full disk can show.
  if (H5Fclose(file_.release()) < 0) format_error(path_, "cannot finish writing the file");
  committed_ = true;
  commit_file(path_);  // removes the temporary file itself if it fails
}

namespace {

// HDF5's file-image callbacks (H5Pset_file_image_callbacks): the core driver allocates and grows
// its image through these, and at close hands it to image_free, which keeps it for
// MemoryFile::take_image instead of freeing it.
void* image_malloc(size_t size, H5FD_file_image_op_t, void* udata) {
  auto* buffer = static_cast<MemoryFile::Buffer*>(udata);
  buffer->data = std::malloc(size);
  return buffer->data;
}
void* image_realloc(void* data, size_t size, H5FD_file_image_op_t, void* udata) {
  auto* buffer = static_cast<MemoryFile::Buffer*>(udata);
  void* grown = std::realloc(data, size);
  if (grown) buffer->data = grown;
  return grown;
}
void* image_memcpy(void* to, const void* from, size_t size, H5FD_file_image_op_t, void*) {
  return std::memcpy(to, from, size);
}
herr_t image_free(void* data, H5FD_file_image_op_t operation, void* udata) {
  auto* buffer = static_cast<MemoryFile::Buffer*>(udata);
  if (operation == H5FD_FILE_IMAGE_OP_FILE_CLOSE && data == buffer->data) {
    buffer->closed = true;  // the caller owns it now
    return 0;
  }
  std::free(data);
  if (data == buffer->data) buffer->data = nullptr;
  return 0;
}
void* udata_copy(void* udata) {
  return udata;
}
herr_t udata_free(void*) {
  return 0;
}

}  // namespace

MemoryFile::MemoryFile(const std::string& name) : name_(name) {
  quiet_errors();
  Handle access(checked(H5Pcreate(H5P_FILE_ACCESS), name, "cannot create properties"), H5Pclose);
  // The image grows by realloc in steps of this size (large blocks are remapped, not copied);
  // a large step would be allocated and touched in full even for a small file.
  constexpr size_t kGrowth = 1 << 20;
  checked_status(H5Pset_fapl_core(access.get(), kGrowth, 0), name,
                 "cannot select the in-memory driver");
  H5FD_file_image_callbacks_t callbacks = {image_malloc, image_memcpy, image_realloc, image_free,
                                           udata_copy,   udata_free,   &buffer_};
  checked_status(H5Pset_file_image_callbacks(access.get(), &callbacks), name,
                 "cannot set the in-memory image callbacks");
  const hid_t id = H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  if (id < 0) format_error(name, "cannot create an in-memory HDF5 file");
  file_ = Handle(id, H5Fclose);
}

MemoryFile::~MemoryFile() {
  file_.reset();
  if (buffer_.closed) std::free(buffer_.data);  // closed but never taken (an error path)
}

Image MemoryFile::take_image() {
  checked_status(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), name_, "cannot flush the in-memory file");
  const ssize_t size = H5Fget_file_image(file_.get(), nullptr, 0);  // the size only: no copy
  if (size < 0) format_error(name_, "cannot read the in-memory file's size");
  if (H5Fclose(file_.release()) < 0) format_error(name_, "cannot close the in-memory file");
  if (!buffer_.closed || !buffer_.data)
    format_error(name_, "the in-memory image was not handed over");
  Image image;
  image.bytes.reset(static_cast<char*>(buffer_.data));
  image.size = static_cast<size_t>(size);
  buffer_ = Buffer{};
  return image;
}

Handle open_file_readonly(const std::string& path) {
  quiet_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    FILE* probe = std::fopen(path.c_str(), "rb");
    if (!probe) throw IoError(path + ": cannot open (missing or unreadable)");
    std::fclose(probe);
    format_error(path, "not a readable HDF5 file (truncated or corrupt)");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) format_error(path, "not a readable HDF5 file (truncated or corrupt)");
  return Handle(id, H5Fclose);
}

bool exists(hid_t location, const std::string& name) {
  return H5Lexists(location, name.c_str(), H5P_DEFAULT) > 0;
}

void write_int32(hid_t file, const std::string& name, const std::vector<int32_t>& values,
                 int64_t chunk_elements, int deflate_level, const std::string& path) {
  write_1d(file, name, values.data(), static_cast<int64_t>(values.size()), H5T_NATIVE_INT32,
           chunk_elements, deflate_level, path);
}

void write_int64(hid_t file, const std::string& name, const std::vector<int64_t>& values,
                 int64_t chunk_elements, int deflate_level, const std::string& path) {
  write_1d(file, name, values.data(), static_cast<int64_t>(values.size()), H5T_NATIVE_INT64,
           chunk_elements, deflate_level, path);
}

namespace {

// An unchunked dataset of `shape` (intermediate groups created), written from `values`.
void write_array(hid_t file, const std::string& name, const void* values,
                 const std::vector<int64_t>& shape, hid_t file_type, hid_t memory_type,
                 const std::string& path) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path,
                       "cannot create a dataspace for " + name),
               H5Sclose);
  Handle link_properties(checked(H5Pcreate(H5P_LINK_CREATE), path, "cannot create properties"),
                         H5Pclose);
  checked_status(H5Pset_create_intermediate_group(link_properties.get(), 1), path,
                 "cannot set properties");
  Handle dataset(checked(H5Dcreate2(file, name.c_str(), file_type, space.get(),
                                    link_properties.get(), H5P_DEFAULT, H5P_DEFAULT),
                         path, "cannot create dataset " + name),
                 H5Dclose);
  checked_status(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), path,
                 "cannot write dataset " + name);
}

}  // namespace

void write_float(hid_t file, const std::string& name, const float* values,
                 const std::vector<int64_t>& shape, const std::string& path) {
  write_array(file, name, values, shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, path);
}

void write_int64_array(hid_t file, const std::string& name, const int64_t* values,
                       const std::vector<int64_t>& shape, const std::string& path) {
  write_array(file, name, values, shape, H5T_STD_I64LE, H5T_NATIVE_INT64, path);
}

std::vector<int64_t> dataset_shape(hid_t file, const std::string& name, const std::string& path) {
  if (H5Lexists(file, name.substr(0, name.find('/')).c_str(), H5P_DEFAULT) <= 0 ||
      H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0)
    format_error(path, "dataset " + name + " is missing");
  Handle dataset(
      checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, "cannot open dataset " + name),
      H5Dclose);
  Handle space(checked(H5Dget_space(dataset.get()), path, "cannot read the shape of " + name),
               H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) format_error(path, "cannot read the shape of " + name);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

void read_whole(hid_t file, const std::string& name, const std::vector<int64_t>& shape, hid_t type,
                void* out, const std::string& path) {
  const std::vector<int64_t> found = dataset_shape(file, name, path);
  if (found != shape)
    format_error(path, "dataset " + name + " has shape " + shape_text(found) + ", expected " +
                           shape_text(shape));
  Handle dataset(
      checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, "cannot open dataset " + name),
      H5Dclose);
  checked_status(H5Dread(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), path,
                 "dataset " + name + " is corrupt (read failed)");
}

}  // namespace

void read_float(hid_t file, const std::string& name, const std::vector<int64_t>& shape, float* out,
                const std::string& path) {
  read_whole(file, name, shape, H5T_NATIVE_FLOAT, out, path);
}

void read_int64_array(hid_t file, const std::string& name, const std::vector<int64_t>& shape,
                      int64_t* out, const std::string& path) {
  read_whole(file, name, shape, H5T_NATIVE_INT64, out, path);
}

Dataset1D::Dataset1D(hid_t file, const std::string& name, const std::string& path,
                     size_t cache_bytes)
    : name_(name), path_(path) {
  if (!exists(file, name)) format_error(path, "dataset " + name + " is missing");
  Handle access(checked(H5Pcreate(H5P_DATASET_ACCESS), path, "cannot create properties"), H5Pclose);
  if (cache_bytes > 0)
    checked_status(H5Pset_chunk_cache(access.get(), 521, cache_bytes, 0.75), path,
                   "cannot set the chunk cache");
  dataset_ = Handle(
      checked(H5Dopen2(file, name.c_str(), access.get()), path, "cannot open dataset " + name),
      H5Dclose);
  Handle space(checked(H5Dget_space(dataset_.get()), path, "cannot read the shape of " + name),
               H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 1)
    format_error(path, "dataset " + name + " is not 1-D");
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  size_ = static_cast<int64_t>(dims[0]);
}

void Dataset1D::read(int64_t first, int64_t count, hid_t memory_type, void* out) const {
  if (first < 0 || count < 0 || first + count > size_)
    format_error(path_, "dataset " + name_ + " has " + std::to_string(size_) +
                            " entries, needed [" + std::to_string(first) + ", " +
                            std::to_string(first + count) + ")");
  if (count == 0) return;
  Handle file_space(checked(H5Dget_space(dataset_.get()), path_, "cannot read " + name_), H5Sclose);
  const hsize_t start[1] = {static_cast<hsize_t>(first)}, size[1] = {static_cast<hsize_t>(count)};
  checked_status(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, size, nullptr), path_,
      "cannot select in " + name_);
  Handle memory_space = dataspace_1d(count, path_);
  checked_status(
      H5Dread(dataset_.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out),
      path_, "dataset " + name_ + " is corrupt (read or checksum failed)");
}

void Dataset1D::read_int32(int64_t first, int64_t count, std::vector<int32_t>& out) const {
  out.resize(static_cast<size_t>(count));
  read(first, count, H5T_NATIVE_INT32, out.data());
}

void Dataset1D::read_int64(int64_t first, int64_t count, std::vector<int64_t>& out) const {
  out.resize(static_cast<size_t>(count));
  read(first, count, H5T_NATIVE_INT64, out.data());
}

void set_attribute(hid_t object, const std::string& name, int64_t value, const std::string& path) {
  Handle space(checked(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
  Handle attribute(checked(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                      H5P_DEFAULT),
                           path, "cannot create attribute " + name),
                   H5Aclose);
  checked_status(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), path,
                 "cannot write attribute " + name);
}

void set_attribute(hid_t object, const std::string& name, const std::string& value,
                   const std::string& path) {
  Handle space(checked(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
  Handle type(checked(H5Tcopy(H5T_C_S1), path, "cannot create a string type"), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle attribute(
      checked(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              path, "cannot create attribute " + name),
      H5Aclose);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  checked_status(H5Awrite(attribute.get(), type.get(), padded.data()), path,
                 "cannot write attribute " + name);
}

void set_attribute(hid_t object, const std::string& name, double value, const std::string& path) {
  Handle space(checked(H5Screate(H5S_SCALAR), path, "cannot create a dataspace"), H5Sclose);
  Handle attribute(checked(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space.get(),
                                      H5P_DEFAULT, H5P_DEFAULT),
                           path, "cannot create attribute " + name),
                   H5Aclose);
  checked_status(H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, &value), path,
                 "cannot write attribute " + name);
}

double get_double_attribute(hid_t object, const std::string& name, const std::string& path) {
  if (H5Aexists(object, name.c_str()) <= 0) format_error(path, "attribute " + name + " is missing");
  Handle attribute(
      checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), path, "cannot open attribute " + name),
      H5Aclose);
  double value = 0;
  checked_status(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), path,
                 "attribute " + name + " is not a number");
  return value;
}

int64_t get_int_attribute(hid_t object, const std::string& name, const std::string& path) {
  if (H5Aexists(object, name.c_str()) <= 0) format_error(path, "attribute " + name + " is missing");
  Handle attribute(
      checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), path, "cannot open attribute " + name),
      H5Aclose);
  int64_t value = 0;
  checked_status(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), path,
                 "attribute " + name + " is not an integer");
  return value;
}

std::string get_string_attribute(hid_t object, const std::string& name, const std::string& path) {
  if (H5Aexists(object, name.c_str()) <= 0) format_error(path, "attribute " + name + " is missing");
  Handle attribute(
      checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), path, "cannot open attribute " + name),
      H5Aclose);
  Handle type(checked(H5Aget_type(attribute.get()), path, "cannot read attribute " + name),
              H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    format_error(path, "attribute " + name + " is not a fixed-length string");
  std::string value(H5Tget_size(type.get()), '\0');
  checked_status(H5Aread(attribute.get(), type.get(), value.data()), path,
                 "cannot read attribute " + name);
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

}  // namespace tandem::data::h5
