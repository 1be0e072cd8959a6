// Running out of memory anywhere ends with one line naming what was being allocated ("out of
// memory while allocating the parameters and their gradients (2048 MiB) ...") instead of a bare
// std::bad_alloc: the places that allocate much run inside allocating("what", body), which turns
// an allocation failure (std::bad_alloc, std::length_error, oneDNN's out-of-memory status) into
// an OutOfMemoryError carrying that text. The innermost place names it.
#pragma once

#include <dnnl.hpp>
#include <new>
#include <stdexcept>
#include <string>

#include "ops/errors.h"

namespace tandem::ops {

class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// "123 MiB", for messages and memory reports.
inline std::string mib_text(double bytes) {
  return std::to_string(static_cast<long long>(bytes / (1 << 20) + 0.5)) + " MiB";
}

[[noreturn]] inline void throw_out_of_memory(const std::string& what, const std::string& detail) {
  throw OutOfMemoryError("out of memory while " + what + " (" + detail +
                         "): lower --batch-tokens/--batch-size or the model's sizes, or run "
                         "fewer ranks per node");
}

template <class Body>
decltype(auto) allocating(const std::string& what, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc& error) {
    throw_out_of_memory(what, error.what());
  } catch (const std::length_error& error) {
    throw_out_of_memory(what, error.what());
  } catch (const dnnl::error& error) {
    if (error.status != dnnl_out_of_memory) throw;
    throw_out_of_memory(what, std::string("oneDNN: ") + error.what());
  }
}

}  // namespace tandem::ops
