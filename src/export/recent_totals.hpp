// The latest totals of one peer, for its sparkline on the page: a ring of 60 points
// (microseconds, or kFailed). They are 16-bit while every total is under 65.535 ms (a
// LAN, a region: 136 bytes a peer with the cursor) and widen for good to 32 bits once one
// is not (a 244-byte ring more); either way each point is exact.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

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
  uint32_t at(size_t i) const {
    size_t k = (next_ + kPoints - count_ + i) % kPoints;
    if (wide_) return (*wide_)[k];
    return narrow_[k] == kNarrowFailed ? kFailed : narrow_[k];
  }
  uint32_t latest() const { return at(count_ - 1); }

 private:
  static constexpr uint16_t kNarrowFailed = UINT16_MAX;

  void add(uint32_t v) {
    if (!wide_ && v != kFailed && v >= kNarrowFailed) {
      wide_ = std::make_unique<std::array<uint32_t, kPoints>>();
      for (size_t k = 0; k < kPoints; ++k)
        (*wide_)[k] = narrow_[k] == kNarrowFailed ? kFailed : narrow_[k];
    }
    if (wide_)
      (*wide_)[next_] = v;
    else
      narrow_[next_] = v == kFailed ? kNarrowFailed : uint16_t(v);
    next_ = uint8_t((next_ + 1) % kPoints);
    if (count_ < kPoints) ++count_;
  }

  std::array<uint16_t, kPoints> narrow_{};
  std::unique_ptr<std::array<uint32_t, kPoints>> wide_;
  uint8_t next_ = 0, count_ = 0;
};

}  // namespace pingmesh
