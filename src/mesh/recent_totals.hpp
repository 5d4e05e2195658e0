// The latest totals of one peer, for its sparkline on the page: a ring of 60 points of
// 4 bytes (microseconds, or kFailed), 244 bytes a peer with its cursor, allocated once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pingmesh {

class RecentTotals {
 public:
  static constexpr size_t kPoints = 60;
  static constexpr uint32_t kFailed = UINT32_MAX;

  void add_ok(uint64_t total_ns) {
    uint64_t us = total_ns / 1000;
    add(us >= kFailed ? kFailed - 1 : uint32_t(us));
  }
  void add_failed() { add(kFailed); }

  size_t size() const { return count_; }
  // Point i, 0 the oldest.
  uint32_t at(size_t i) const { return us_[(next_ + kPoints - count_ + i) % kPoints]; }
  uint32_t latest() const { return at(count_ - 1); }

 private:
  void add(uint32_t v) {
    us_[next_] = v;
    next_ = uint8_t((next_ + 1) % kPoints);
    if (count_ < kPoints) ++count_;
  }

  std::array<uint32_t, kPoints> us_{};
  uint8_t next_ = 0, count_ = 0;
};

}  // namespace pingmesh
