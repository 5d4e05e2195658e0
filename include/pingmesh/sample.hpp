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

struct Sample {
  int64_t start_unix_ns = 0;  // wall clock at probe start, for timestamps only
  Timings t;
  int http_code = 0;        // 502 for any transport failure, as the original
  uint64_t size = 0;        // decoded body bytes
  std::string peer;         // whose sample: the peer's identity (PeerSpec::identity)
  std::string location;     // what the peer's reply said of itself, "unknown" if nothing
  std::string remote_addr;  // "192.0.2.1" or "[2001:db8::1]", the original's form
  std::string url;          // scheme://host[:port]/path
  FailureReason reason = FailureReason::none;
  uint32_t kernel_rtt_us = 0;         // tcpi_rtt right after connect: a cross-check of tcp
  const char* tls_version = nullptr;  // "TLSv1.2"; null for plain http
  const char* tls_cipher = nullptr;
  // The peer certificate's notAfter in unix seconds, when tls_version is set.
  int64_t cert_not_after_unix = 0;
  int cert_days_left = 0;  // days until the peer certificate expires, when tls_version is set
  std::string detail;      // a failure in words, when there is more to say than the reason

  bool ok() const { return reason == FailureReason::none; }
};

// One peer's record over its life, for the summary printed when it ends.
struct PeerTotals {
  int successes = 0;
  int failures = 0;
  int max_failures = 0;
  Timings sum;  // over successes only
  uint64_t size_sum = 0;
  int64_t first_start_unix_ns = 0;  // start of the first successful probe
  std::string peer;                 // the peer's identity
  std::string location;             // shown in the summary
  std::string url;                  // scheme://host[:port]/path
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
