// One oneDNN engine and stream per process, passed by reference to every op, plus the cache of
// matmul primitives shared by all ops (creating a primitive costs far more than running a small
// one, so every shape is built once) and the one scratchpad every primitive runs with.
#pragma once

#include <dnnl.hpp>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/aligned_vector.h"
#include "ops/lru_cache.h"
#include "ops/section_timer.h"

namespace tandem::ops {

class DnnlContext {
 public:
  DnnlContext() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
  DnnlContext(const DnnlContext&) = delete;
  DnnlContext& operator=(const DnnlContext&) = delete;

  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }

  // Primitives keyed by a string that encodes everything their descriptor depends on: the
  // cached one for `key` or null. Not thread-safe: ops run on the training thread only.
  dnnl::primitive* find_primitive(const std::string& key) { return primitives_.find(key); }
  // Adds a primitive under a new key; may evict the least recently used one (ops/lru_cache.h),
  // so a pointer from find_primitive() is only good until the next remember().
  dnnl::primitive& remember(const std::string& key, dnnl::primitive primitive) {
    return primitives_.insert(key, std::move(primitive));
  }
  static constexpr size_t kMaxCachedPrimitives = 256;

  // Attributes every primitive is created with: a user-managed scratchpad. Debian's oneDNN is
  // built with DNNL_ENABLE_CONCURRENT_EXEC, so with library-managed scratchpads every cached
  // primitive holds its own (measured: ~75 MiB of the CMUdict model's peak, in its RNN
  // primitive caches). Ops run one after another on one thread, so one buffer serves them all.
  static dnnl::primitive_attr attributes() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }

  // Runs `primitive` (created with attributes()) with the shared scratchpad and waits for it.
  void run(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args) {
    const_dnnl_primitive_desc_t pd = primitive.get_primitive_desc();
    const dnnl_memory_desc_t* md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (md && dnnl_memory_desc_get_size(md) > 0) {
      regrown(scratchpad_, std::max(scratchpad_.size(), dnnl_memory_desc_get_size(md)));
      args.emplace(DNNL_ARG_SCRATCHPAD,
                   dnnl::memory(dnnl::memory::desc(*md), engine_, scratchpad_.data()));
    }
    primitive.execute(stream_, args);
    stream_.wait();
  }

  // Per-section step timings (benchmarks switch them on).
  SectionTimes& section_times() { return section_times_; }

  // A vector of at least `count` ones (for bias gradients as ones x dY matmuls).
  const float* ones(size_t count) {
    if (ones_.size() < count) ones_.assign(count, 1.0f);
    return ones_.data();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  LruCache<std::string, dnnl::primitive> primitives_{kMaxCachedPrimitives};
  std::vector<float> ones_;
  AlignedVector<unsigned char> scratchpad_;
  SectionTimes section_times_;
};

// Wraps `pointer` (not owned) as a oneDNN memory object with descriptor `md`.
inline dnnl::memory user_memory(DnnlContext& ctx, const dnnl::memory::desc& md,
                                const void* pointer) {
  return dnnl::memory(md, ctx.engine(), const_cast<void*>(pointer));
}

}  // namespace tandem::ops
