// A fixed-bucket histogram of durations, kept incrementally: one add per probe phase,
// nothing sorted or stored per observation. Rendered as a Prometheus histogram in seconds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace pingmesh {

class Histogram {
 public:
  // Upper bounds, inclusive ("le"), in a 1-2.5-5 series from 50 us to 10 s, then 30 s.
  // Three buckets a decade keep the error of an interpolated quantile within a factor
  // of 2.5 everywhere, from a loopback TCP connect (~50 us) to a slow transatlantic TLS
  // handshake, and the series holds every Prometheus client's default bucket (5 ms ..
  // 10 s), so dashboards built for those line up. 30 s is three default timeouts; a
  // slower phase (timeouts go to 300 s) is counted in +Inf and in the sum.
  static constexpr size_t kBuckets = 18;  // finite ones; +Inf comes after them
  static constexpr std::array<uint64_t, kBuckets> kUpperNs = {
      50'000,      100'000,       250'000,       500'000,       1'000'000,      2'500'000,
      5'000'000,   10'000'000,    25'000'000,    50'000'000,    100'000'000,    250'000'000,
      500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000};
  // The same bounds as "le" label values, as Prometheus' own clients print them.
  static constexpr std::array<std::string_view, kBuckets> kUpperLabels = {
      "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
      "0.05",  "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "30"};

  void add(uint64_t ns);

  // Observations in bucket i alone (i == kBuckets: above the last bound).
  uint32_t bucket(size_t i) const { return wide_ ? (*wide_)[i] : narrow_[i]; }
  uint64_t count() const;
  uint64_t sum_ns() const { return sum_ns_; }
  double sum_seconds() const { return double(sum_ns_) / 1e9; }

  // The q-quantile in seconds, estimated as PromQL's histogram_quantile does: linear
  // interpolation inside the bucket that holds rank q*count, the first bucket starting
  // at 0, and the last finite bound for anything in +Inf. NaN when empty; -Inf for
  // q < 0, +Inf for q > 1.
  double quantile(double q) const;

 private:
  // 32-bit counts: a bucket wraps after 4.3e9 observations (13 years at 10 probes a
  // second); Prometheus reads that as a counter reset, and the count (their sum) resets
  // with it, so the series stays whole. They start as 16-bit ones, which hold a year of
  // one probe a minute in 48 bytes (4 phases a peer, at 100,000 peers: 13 MB less), and
  // widen for good when a bucket would pass 65,535.
  std::array<uint16_t, kBuckets + 1> narrow_{};
  std::unique_ptr<std::array<uint32_t, kBuckets + 1>> wide_;
  uint64_t sum_ns_ = 0;
};

}  // namespace pingmesh
