// The types every layer shares: one probe's result and the interface of its consumers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <iterator>
#include <string>
#include <string_view>

namespace pingmesh {

// Why a probe failed: a small fixed set of stable strings, usable as metric labels.
enum class FailureReason : uint8_t {
  none,
  dns_nxdomain,
  dns_timeout,
  dns_error,
  connect_refused,
  connect_timeout,
  connect_error,
  reset,
  http_parse,
  http_status,
  read_timeout,
  closed_early,
  tls_handshake,
  tls_verify,
  tls_timeout,
};

// The labels, in the enum's order.
inline constexpr std::string_view kFailureReasonNames[] = {
    "none",          "dns_nxdomain",    "dns_timeout",
    "dns_error",     "connect_refused", "connect_timeout",
    "connect_error", "reset",           "http_parse",
    "http_status",   "read_timeout",    "closed_early",
    "tls_handshake", "tls_verify",      "tls_timeout",
};

constexpr std::string_view to_string(FailureReason r) {
  return kFailureReasonNames[static_cast<size_t>(r)];
}
static_assert(std::size(kFailureReasonNames) == size_t(FailureReason::tls_timeout) + 1);

// Phase durations in nanoseconds, with the original pingmesh's definitions:
// dns = resolved - start; tcp = connected - resolved; tls = handshake alone;
// first = first response byte - connection ready; lastb = end of body - first byte;
// total = end of body - resolved (DNS excluded). A phase never reached stays 0.
struct Timings {
  uint64_t dns = 0;
  uint64_t tcp = 0;
  uint64_t tls = 0;
  uint64_t first = 0;
  uint64_t lastb = 0;
  uint64_t total = 0;
};

// The phases the kernel can time (bits of Sample::kernel_phases).
enum KernelPhase : uint8_t {
  kKernelTcp = 1,
  kKernelTls = 2,
  kKernelFirst = 4,
  kKernelLastb = 8,
  kKernelTotal = 16,
};

// The kernel-timed phases: their bit, their field in Timings, their name in json,
// /v1/peers and /metrics.
struct KernelTimedPhase {
  KernelPhase bit;
  uint64_t Timings::*value;
  std::string_view name;
};
inline constexpr KernelTimedPhase kKernelTimedPhases[] = {{kKernelTcp, &Timings::tcp, "tcp"},
                                                          {kKernelTls, &Timings::tls, "tls"},
                                                          {kKernelFirst, &Timings::first, "first"},
                                                          {kKernelLastb, &Timings::lastb, "lastb"},
                                                          {kKernelTotal, &Timings::total, "total"}};

// What else happened while a probe was in flight, so a reader can tell the network's
// time from the daemon's own.
struct SampleQuality {
  // How late the loop ran a probe's callback after its event (the kernel's stamp of it),
  // the most over the probe's boundaries.
  uint64_t loop_lag_ns = 0;
  // The loop's busy time on other work (other probes, TLS for clients, output...)
  // between the probe's start and its end.
  uint64_t other_work_ns = 0;
  uint8_t missing_stamps = 0;  // kernel stamps asked for and not given
  bool coalesced = false;      // the first byte's stamp is a later segment's: an upper bound
  bool retransmitted = false;  // the SYN was sent again: tcpi_rtt does not measure it
  // The user-space time of tcp or first exceeds the kernel's by more than the margin,
  // or the other work by more than its bound.
  bool disturbed = false;
};

struct Sample {
  int64_t start_unix_ns = 0;  // wall clock at probe start, for timestamps only
  // What is reported: each phase as the kernel timed it when kernel_timing and the kernel
  // did (kernel_phases), else as the loop saw it (user).
  Timings t;
  Timings user;    // the loop's own clock: the original's definitions
  Timings kernel;  // the phases in kernel_phases, from kernel timestamps
  uint8_t kernel_phases = 0;
  bool kernel_timing = true;  // the `timing` setting: kernel or user
  int64_t peer_hold_ns = -1;  // the peer's own hold (its Server-Timing), -1 if it sent none
  SampleQuality quality;
  int http_code = 0;        // 502 for any transport failure, as the original
  uint64_t size = 0;        // decoded body bytes
  std::string peer;         // whose sample: the peer's identity (PeerSpec::identity)
  std::string location;     // what the peer's reply said of itself, "unknown" if nothing
  std::string remote_addr;  // "192.0.2.1" or "[2001:db8::1]", the original's form
  std::string url;          // scheme://host[:port]/path
  FailureReason reason = FailureReason::none;
  const char* tls_version = nullptr;  // "TLSv1.2"; null for plain http
  const char* tls_cipher = nullptr;
  // The peer certificate's notAfter in unix seconds, when tls_version is set.
  int64_t cert_not_after_unix = 0;
  int cert_days_left = 0;  // days until the peer certificate expires, when tls_version is set
  std::string detail;      // a failure in words, when there is more to say than the reason

  bool ok() const { return reason == FailureReason::none; }
  // Whether t's phase p is the kernel's.
  bool reported_by_kernel(KernelPhase p) const { return kernel_timing && (kernel_phases & p); }
  // Whether its times go into averages and statistics: not when it was disturbed and
  // tcp or first is reported from the disturbed user-space clock.
  bool counts_in_statistics() const {
    return !quality.disturbed ||
           (reported_by_kernel(kKernelTcp) && reported_by_kernel(kKernelFirst));
  }
};

// One peer's record over its life, for the summary printed when it ends.
struct PeerTotals {
  int successes = 0;
  int failures = 0;
  int max_failures = 0;
  Timings sum;            // over the successes that count in statistics (averaged of them)
  int averaged = 0;       // successes in sum: all but those disturbed without kernel times
  int disturbed = 0;      // successes marked disturbed
  uint64_t size_sum = 0;  // over all successes
  int64_t first_start_unix_ns = 0;  // start of the first successful probe
  std::string peer;                 // the peer's identity
  std::string location;             // shown in the summary
  std::string url;                  // scheme://host[:port]/path

  // Each phase's average over the samples in sum (0 with none).
  Timings mean() const {
    if (averaged == 0) return {};
    uint64_t n = uint64_t(averaged);
    return {sum.dns / n, sum.tcp / n, sum.tls / n, sum.first / n, sum.lastb / n, sum.total / n};
  }
  // A phase's sum over every success, the left-out ones taken at the average: what
  // readers that divide by successes (the original's /v1/peers) expect.
  uint64_t sum_over_successes(uint64_t Timings::*phase) const {
    return averaged == successes ? sum.*phase : mean().*phase * uint64_t(successes);
  }
};

// A consumer of samples (text, json, prometheus, cloudwatch). Sinks never call back
// into probes.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  virtual void on_sample(const Sample& s, int successes_so_far) noexcept = 0;
  // A peer has ended (its limits, or shutdown): its totals.
  virtual void on_peer_summary(const PeerTotals& totals) noexcept = 0;
};

}  // namespace pingmesh
