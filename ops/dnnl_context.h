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
#include "ops/section_timer.h"

namespace tandem::ops {

class DnnlContext {
 public:
  DnnlContext() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
  DnnlContext(const DnnlContext&) = delete;
  DnnlContext& operator=(const DnnlContext&) = delete;

  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }

  // Primitives keyed by a string that encodes everything their descriptor depends on.
  // Not thread-safe: ops run on the training thread only.
  std::unordered_map<std::string, dnnl::primitive>& primitive_cache() { return primitive_cache_; }
  // Adds a primitive to the cache. Variable lengths and batch sizes give an unbounded number of
  // shapes, so the cache is emptied when full: memory (JIT code, descriptors) stays bounded and
  // the shapes in use come back within a step. Invalidates earlier iterators into the cache.
  std::unordered_map<std::string, dnnl::primitive>::iterator remember(const std::string& key,
                                                                      dnnl::primitive primitive) {
    if (primitive_cache_.size() >= kMaxCachedPrimitives) primitive_cache_.clear();
    return primitive_cache_.emplace(key, std::move(primitive)).first;
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
  std::unordered_map<std::string, dnnl::primitive> primitive_cache_;
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
