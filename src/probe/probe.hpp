// One probe of one peer: DNS -> TCP connect -> channel (TLS handshake, or nothing for
// http) -> request -> first byte -> last byte, each stamped with the time read first
// in its callback. It ends with exactly one Sample, unless cancelled.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"
#include "loop/timed_stream.hpp"
#include "loop/timer.hpp"
#include "pingmesh/sample.hpp"
#include "tls/channel.hpp"
#include "tls/session_slot.hpp"
#include "tls/tls_channel.hpp"

namespace pingmesh {

struct ProbeLimits {
  uint64_t connect_timeout_ms = 3000;
  uint64_t tls_timeout_ms = 5000;  // the handshake alone
  uint64_t timeout_ms = 10000;     // the whole probe, DNS included
  // Report the kernel's times where it gave them (else the loop's); see Sample.
  bool kernel_timing = true;
  // A sample is disturbed when the loop's time of tcp or first exceeds the kernel's by
  // more than this, or when the loop did more than disturbed_work_ns of other work
  // while it was in flight.
  uint64_t disturbed_margin_ns = 1'000'000;
  uint64_t disturbed_work_ns = 5'000'000;
  bool operator==(const ProbeLimits&) const = default;
};

// How an https peer is checked; conf is null for http.
struct TlsTarget {
  const mbedtls_ssl_config* conf = nullptr;
  std::shared_ptr<const void> owner;  // keeps conf alive while any probe uses it
  bool verify = true;
  std::string pin_sha256;
  bool resume = false;
};

// What stays the same from one probe of a peer to the next, computed once.
struct ProbeTarget {
  Url url;
  std::string address_override;  // -I: connect here instead of resolving url.host
  std::string request;           // the GET request, ready to write
  std::string display_url;
  std::string identity;  // whose samples: PeerSpec::identity
  TlsTarget tls;
  std::unique_ptr<TlsSessionSlot> session;                  // when resumption is allowed
  size_t keep_body_bytes = ResponseParser::kKeptBodyBytes;  // what Probe::body() keeps

  ProbeTarget(Url u, std::string override_ip, TlsTarget tls_target = {});
};

class Probe final : public Channel::Wire, public Channel::Reader {
 public:
  using Done = std::function<void(const Sample&)>;

  Probe(Loop& loop, Resolver& resolver, ProbeTarget& target, const ProbeLimits& limits, Done done);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // May call done before returning (a refused connect to a literal address, say).
  void start();
  // Ends the probe with no sample.
  void cancel();
  // An ended probe made ready for another round, maybe of another peer: its uv timers
  // are kept, so a probe used again costs no allocation for them (PeerTimers' spares).
  void rebind(Resolver& resolver, ProbeTarget& target, const ProbeLimits& limits, Done done);
  // Frees what the last round held (connection, channel, parser, sample, TLS target).
  void release();
  bool running() const { return phase_ != Phase::idle && phase_ != Phase::done; }
  // The start of the body (target.keep_body_bytes of it), valid in done and after.
  std::string_view body() const;

 private:
  enum class Phase { idle, dns, connect, handshake, request, done };
  class Attempt;  // one TCP connect to one address

  void clear_round();
  void on_resolved(FailureReason reason, Addresses addrs, uint64_t now);
  void start_attempts(uint64_t now);
  void on_attempt_delay();
  void on_connect(Attempt& attempt, int status, const TimedStream::Connected& c) noexcept;
  void on_read(int status, const char* data, size_t len, const TimedStream::Received& r) noexcept;
  void drop_attempts();
  int send_raw(std::string_view bytes) override;
  void on_plain(const char* data, size_t len) override;
  void on_ready(uint64_t now);
  void on_timeout();
  void finish(FailureReason reason, uint64_t now);
  void arm_timer(uint64_t now, uint64_t phase_limit_ms);
  void note_lag(uint64_t now, uint64_t event_ns);
  void close_round();
  void time_by_kernel(bool completed);
  void judge_quality(uint64_t now);

  Loop& loop_;
  Resolver* resolver_;
  ProbeTarget* target_;
  TlsTarget tls_target_;  // as it was when the probe began, whatever a reload does
  ProbeLimits limits_;
  Done done_;
  Phase phase_ = Phase::idle;
  Resolver::Ticket ticket_;
  Timer timer_;
  Timer attempt_timer_;                             // RFC 8305's connection attempt delay
  std::vector<std::unique_ptr<Attempt>> attempts_;  // connects in flight
  std::unique_ptr<Attempt> conn_;                   // the first to complete
  TimedStream* stream_ = nullptr;                   // conn_'s stream
  std::unique_ptr<Channel> channel_;
  TlsChannel* tls_ = nullptr;             // channel_, when it is TLS
  std::optional<ResponseParser> parser_;  // in place: one allocation fewer a probe
  ResponseParser::State parse_state_ = ResponseParser::State::incomplete;
  Addresses addrs_;
  size_t next_addr_ = 0;
  FailureReason connect_failure_ = FailureReason::connect_error;

  uint64_t read_now_ = 0;  // the time of the read being handled
  uint64_t t_start_ = 0, t_dns_ = 0, t_tcp_ = 0, t_ready_ = 0, t_first_ = 0;

  // The kernel's side (TimedStream's stamps, mono ns; 0 = not given).
  struct KernelTimes {
    uint64_t rtt = 0;
    bool retransmitted = false;
    bool single_attempt = true;  // tcp's user-space time is one connect's, comparable
    // The handshake, as round trips: each of our flights, from the kernel's send to the
    // arrival of the last of the answer read before our next flight (or readiness).
    uint64_t tls = 0;
    bool tls_missing = false;
    bool round_open = false, round_answered = false;
    uint32_t round_write = 0;
    uint64_t round_arrived = 0;
    uint32_t request_write = 0;
    bool request_sent = false;
    bool response_read = false;
    uint64_t first = 0, last = 0;  // the response's first and last arrivals
    bool coalesced = false;
    uint64_t lag = 0;
  } k_;
  uint64_t idle_at_start_ = 0;  // the loop's idle time then (uv_metrics_idle_time)
  uint64_t own_work_ns_ = 0;    // time in this probe's own callbacks
  Sample sample_;
};

}  // namespace pingmesh
