#include "export/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pingmesh {

void Histogram::add(uint64_t ns) {
  // The first bound at or above ns: bounds are inclusive.
  auto at = std::lower_bound(kUpperNs.begin(), kUpperNs.end(), ns);
  size_t i = size_t(at - kUpperNs.begin());
  sum_ns_ += ns;
  if (!wide_ && narrow_[i] < UINT16_MAX) {
    ++narrow_[i];
    return;
  }
  if (!wide_) {
    wide_ = std::make_unique<std::array<uint32_t, kBuckets + 1>>();
    std::copy(narrow_.begin(), narrow_.end(), wide_->begin());
  }
  ++(*wide_)[i];
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= kBuckets; ++i) n += bucket(i);
  return n;
}

double Histogram::quantile(double q) const {
  if (std::isnan(q)) return q;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  uint64_t total = count();
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  double rank = q * double(total);
  uint64_t below = 0;  // observations in the buckets before i
  for (size_t i = 0; i < kBuckets; ++i) {
    uint64_t in = bucket(i);
    uint64_t upto = below + in;
    if (double(upto) >= rank) {
      double start = i == 0 ? 0.0 : double(kUpperNs[i - 1]) / 1e9;
      double end = double(kUpperNs[i]) / 1e9;
      // rank 0 with nothing in the first bucket: the start, where PromQL divides 0 by 0.
      if (in == 0) return start;
      return start + (end - start) * ((rank - double(below)) / double(in));
    }
    below = upto;
  }
  return double(kUpperNs[kBuckets - 1]) / 1e9;
}

}  // namespace pingmesh
