// A bounded map that forgets the least recently used entry when full: the cache of oneDNN
// primitives (one per shape). Variable lengths and batch sizes give an unbounded number of
// shapes, but real data keeps coming back to the same ones: a bound keeps memory (generated
// kernels, descriptors) in check, and least-recently-used keeps the shapes in use. An earlier
// cache that was emptied when full lost every shape at once (docs/performance.md, "Primitive
// caches").
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <utility>

namespace tandem::ops {

template <typename Key, typename Value>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // The entry for `key`, now the most recently used, or null. The pointer stays valid until
  // the entry is evicted by a later insert().
  Value* find(const Key& key) {
    auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, found->second);
    return &found->second->second;
  }

  // Adds `value` under `key` (which must be absent) as the most recently used entry; evicts the
  // least recently used one first when full.
  Value& insert(const Key& key, Value value) {
    if (index_.size() >= capacity_ && !entries_.empty()) {
      index_.erase(entries_.back().first);
      entries_.pop_back();
    }
    entries_.emplace_front(key, std::move(value));
    index_.emplace(key, entries_.begin());
    return entries_.front().second;
  }

  size_t size() const { return index_.size(); }

 private:
  using Entries = std::list<std::pair<Key, Value>>;
  size_t capacity_;
  Entries entries_;  // most recently used first
  std::map<Key, typename Entries::iterator> index_;
};

}  // namespace tandem::ops
