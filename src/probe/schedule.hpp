// When each peer fires: every delay seconds with a little jitter, and peers spread
// over the first period so they never fire together.
#pragma once

#include <cstdint>
#include <random>

namespace pingmesh {

class Schedule {
 public:
  // The original jitters by +-0.5% of the delay.
  static constexpr double kJitter = 0.005;

  explicit Schedule(uint64_t seed) : rng_(seed) {}

  // Next due time after `due`, on a fixed-rate grid (a slow probe does not shift it).
  uint64_t next(uint64_t due_ns, uint64_t delay_ns) {
    std::uniform_real_distribution<double> d(-kJitter, kJitter);
    return due_ns + uint64_t(double(delay_ns) * (1.0 + d(rng_)));
  }

 private:
  std::minstd_rand rng_;
};

// Offset of peer `index` of `count` in the first period: the original waits 1 s
// before the first ping; later peers follow at an even gap within one delay.
inline uint64_t spread_offset_ns(size_t index, size_t count, uint64_t delay_ns) {
  const uint64_t first = 1000000000ull;
  if (count == 0) return first;
  return first + delay_ns / count * index;
}

}  // namespace pingmesh
