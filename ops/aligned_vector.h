// std::vector with 64-byte aligned storage (one cache line, one AVX-512 register), for the flat
// parameter buffers and large activations that oneDNN and our loops stream through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace tandem::ops {

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }

  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const {
    return false;
  }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// Scratch buffers are resized per batch (keeping their capacity) and handed out as pointers.
// They grow to exactly what is asked: resize alone may double the capacity, and batches of
// varying size would leave every buffer up to twice its largest need.
template <typename T>
T* resized(AlignedVector<T>& buffer, int64_t count) {
  if (static_cast<size_t>(count) > buffer.capacity()) buffer.reserve(static_cast<size_t>(count));
  buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

// For large scratch whose old content is dead: grows to exactly `count` (std::vector's resize
// may double the capacity and copies the old content), keeps the capacity when shrinking.
template <typename T>
T* regrown(AlignedVector<T>& buffer, size_t count) {
  if (count > buffer.capacity()) {
    AlignedVector<T>().swap(buffer);
    buffer.reserve(count);
  }
  buffer.resize(count);
  return buffer.data();
}

template <typename T>
T* zeroed(AlignedVector<T>& buffer, int64_t count) {
  buffer.assign(static_cast<size_t>(count), T(0));
  return buffer.data();
}

}  // namespace tandem::ops
