// The one stopwatch: monotonic, nanoseconds. Never uv_now (cached per loop turn),
// never wall time for intervals.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>

namespace pingmesh {

inline uint64_t mono_ns() {
  return uv_hrtime();
}

inline int64_t wall_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pingmesh
