// Samples kept as Prometheus metrics, per peer identity, and rendered for GET /metrics;
// with them each peer's recent totals, for the sparklines of the page at /.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "export/histogram.hpp"
#include "export/recent_totals.hpp"
#include "log/log.hpp"
#include "pingmesh/sample.hpp"
#include "pingmesh/shared_string.hpp"

namespace pingmesh {

enum class PhaseIndex : uint8_t { dns, tcp, tls, first, lastb, total };
// What PeerSeries::flags counts: samples disturbed, stamps missing, first bytes coalesced,
// SYNs retransmitted.
inline constexpr std::array<std::string_view, 4> kSampleFlagNames = {"disturbed", "missing_stamps",
                                                                     "coalesced", "retransmitted"};

inline constexpr std::array<std::string_view, 6> kPhaseNames = {"dns",   "tcp",   "tls",
                                                                "first", "lastb", "total"};

// What the daemon knows of itself at scrape time. A negative figure is unknown and left out.
struct ProcessFigures {
  int64_t resident_memory_bytes = -1;
  int64_t open_fds = -1;
  int64_t max_fds = -1;
  double cpu_seconds = -1;
  double loop_lag_seconds = -1;  // the loop's latest measured lag
  uint64_t stdout_dropped_lines = 0;
  uint64_t stderr_dropped_lines = 0;
  bool cloudwatch = false;  // the CloudWatch families only when it is on
  uint64_t cloudwatch_spool_bytes = 0;
  uint64_t cloudwatch_requests_ok = 0;        // accepted
  uint64_t cloudwatch_requests_retried = 0;   // failed and tried again
  uint64_t cloudwatch_requests_rejected = 0;  // refused (4xx), never retried
  uint64_t cloudwatch_requests_dropped = 0;   // over the queue bound, never sent
  uint64_t peers = 0;
  uint64_t max_peers = 0;
};

// RSS (/proc/self/statm), open fds (entries of /proc/self/fd), the fd limit and CPU time
// (getrusage). procfs answers from kernel memory, never from a disk: cheap enough on the
// loop once per scrape (tens of microseconds at a few hundred fds).
ProcessFigures read_process_figures();

// A peer's six phase histograms, read as an array. dns and tls are allocated when first
// observed: an IP literal never has a lookup, an http peer never a handshake, and at
// 10,000 peers and more their 176 bytes a peer are a good part of the budget. An absent
// one reads as empty.
class PhaseHistograms {
 public:
  static constexpr size_t size() { return kPhaseNames.size(); }
  const Histogram& operator[](size_t i) const {
    static const Histogram empty;
    if (i == size_t(PhaseIndex::dns)) return dns_ ? *dns_ : empty;
    if (i == size_t(PhaseIndex::tls)) return tls_ ? *tls_ : empty;
    return kept_[kept_slot(i)];
  }
  void add(PhaseIndex p, uint64_t ns) {
    if (p == PhaseIndex::dns || p == PhaseIndex::tls) {
      auto& h = p == PhaseIndex::dns ? dns_ : tls_;
      if (!h) h = std::make_unique<Histogram>();
      h->add(ns);
    } else {
      kept_[kept_slot(size_t(p))].add(ns);
    }
  }

 private:
  // tcp, first, lastb, total: in kept_ in that order.
  static constexpr size_t kept_slot(size_t i) { return i == size_t(PhaseIndex::tcp) ? 0 : i - 2; }
  std::array<Histogram, 4> kept_;
  std::unique_ptr<Histogram> dns_, tls_;
};

// Failures of one peer by reason ([reason - 1]), allocated at the first failure: a peer
// that always answers holds a pointer, not 14 counters.
class FailureCounts {
  static constexpr size_t kReasons = std::size(kFailureReasonNames) - 1;

 public:
  static constexpr size_t size() { return kReasons; }
  uint32_t operator[](size_t i) const { return counts_ ? (*counts_)[i] : 0; }
  void add(size_t i) {
    if (!counts_) counts_ = std::make_unique<std::array<uint32_t, kReasons>>();
    ++(*counts_)[i];
  }

 private:
  std::unique_ptr<std::array<uint32_t, kReasons>> counts_;
};

// One peer's series. Phases are observed for successful samples only, where the
// original's definitions hold; dns only when a lookup happened (an IP literal's dns is
// exactly 0), tls only for https.
struct PeerSeries {
  PhaseHistograms phases;
  uint64_t ok = 0;
  uint64_t failed = 0;
  FailureCounts failures;  // [reason - 1]
  int64_t last_sample_unix_ns = 0;
  int64_t cert_not_after_unix = 0;  // 0: never seen a certificate
  int32_t last_http_code = 0;
  // How far the samples can be trusted (see SampleQuality): counts, by SampleFlag, and
  // the latest sample's figures.
  std::array<uint32_t, 4> flags{};
  // Successes whose phase is the kernel's, by KernelPhase bit.
  std::array<uint32_t, std::size(kKernelTimedPhases)> kernel_timed{};
  uint32_t last_loop_lag_us = 0;
  uint32_t last_other_work_us = 0;
  // Every sample's total (or failure), for the page's sparkline: kept here, where the
  // series and its key already are.
  RecentTotals recent;

  const Histogram& phase(PhaseIndex p) const { return phases[size_t(p)]; }
};

// Where a scrape rendered in parts stands. Resuming by identity survives what happens
// between parts: a forgotten peer is skipped, a new one shows in the families not yet
// written. Each peer's series in a family are written in one go, so a histogram's buckets,
// sum and count always agree.
struct MetricsCursor {
  size_t stage = 0;
  bool family_open = false;  // its HELP and TYPE are written
  std::string next_peer;     // the first identity not yet written in this family
};

class Metrics final : public SampleSink {
 public:
  // At most max_peers identities are kept; samples of any further peer are only counted
  // (pingmesh_metrics_untracked_samples_total) and logged once. Series that exist stay
  // stable rather than being evicted by a newcomer.
  explicit Metrics(size_t max_peers) : max_peers_(max_peers) {}
  void set_max_peers(size_t n) { max_peers_ = n; }  // a reload; series over it stay

  void on_sample(const Sample& s, int successes_so_far) noexcept override;
  // The same, with the peer's identity as its Peer holds it (s.peer): the series keeps
  // that copy as its key rather than one of its own.
  void on_sample(const Sample& s, const SharedString& identity) noexcept;
  // A peer that ends keeps its series until forget(): the last values stay scrapeable.
  void on_peer_summary(const PeerTotals&) noexcept override {}

  // Drops a removed peer's series, so they stop being exported.
  void forget(std::string_view peer);
  size_t size() const { return peers_.size(); }
  uint64_t untracked_samples() const { return untracked_; }
  // For /v1/peers (percentiles): null if the peer has no series.
  const PeerSeries* find(std::string_view peer) const;

  // Appends the whole exposition: our families, then the process figures.
  void render(std::string& out, const ProcessFigures& p) const;
  // Appends the next part of a scrape, stopping once a part holds max_bytes or more;
  // false when the scrape is complete. At 1,000 peers a scrape is about 14 MB of text:
  // a responder that sends it in parts as the socket drains never holds all of it.
  bool render_part(std::string& out, const ProcessFigures& p, MetricsCursor& c,
                   size_t max_bytes) const;

 private:
  void render_tail(std::string& out, const ProcessFigures& p) const;

  size_t max_peers_;
  // Ordered by identity, so a scrape's order is stable without sorting.
  std::map<SharedString, PeerSeries, SharedStringLess> peers_;
  uint64_t untracked_ = 0;
  log::Once untracked_logged_;
};

}  // namespace pingmesh
