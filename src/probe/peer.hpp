// One peer: its schedule, its probes one at a time, and its running totals.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pingmesh/shared_string.hpp"
#include "probe/peer_timers.hpp"
#include "probe/probe.hpp"
#include "probe/schedule.hpp"

namespace pingmesh {

struct PeerSettings {
  std::string identity;  // whose samples: labels, dimensions, summaries
  std::string location;  // preset with URL#Location; empty = learn it from the replies
  std::string address_override;
  uint64_t delay_ms = 10000;
  int limit = 0;  // successful pings before the peer ends; 0 = forever
  int max_failures = 100;
  TlsTarget tls;  // for https peers
  // The URL as text (display and query), when its holder shares it: held once, not again.
  SharedString url_text;
};

class Peer;

class PeerEvents {
 public:
  virtual void on_sample(Peer& peer, const Sample& s) noexcept = 0;
  // The peer has stopped for good (limit or failures reached) or, after stop(),
  // has no probe in flight any more.
  virtual void on_peer_ended(Peer& peer) noexcept = 0;

 protected:
  ~PeerEvents() = default;
};

// What a peer is run with, apart from its URL: most peers of a mesh have the same, and
// share one copy (PeerTimers::share).
struct PeerShape {
  Loop* loop = nullptr;
  Resolver* resolver = nullptr;
  PeerEvents* events = nullptr;
  uint64_t delay_ms = 10000;
  int limit = 0, max_failures = 100;
  ProbeLimits limits;
  bool operator==(const PeerShape&) const = default;
};

class Peer {
 public:
  using Events = PeerEvents;

  // timers runs its ticks and frees its ended probes; with none the peer has its own
  // (tests, a lone peer).
  Peer(Loop& loop, Resolver& resolver, Url url, PeerSettings settings, ProbeLimits limits,
       Events& events, uint64_t seed, PeerTimers* timers = nullptr);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  void start(uint64_t first_offset_ns);
  // No new probes; one in flight may finish: if it succeeds it is a sample, if it
  // fails it counts as cancelled. on_peer_ended follows once idle.
  void stop();
  // Drops a probe in flight, with no sample.
  void cancel();
  // A renewed CA file, say: from the next probe on, with no saved session (it was
  // verified against the old CA). A probe in flight keeps what it began with.
  void use_tls_config(const mbedtls_ssl_config* conf, std::shared_ptr<const void> owner);

  bool ended() const { return ended_; }
  bool busy() const { return flight_ && flight_->probe->running(); }
  // True while a probe object exists: in flight, or ended and not yet freed.
  bool holds_probe() const { return flight_ != nullptr; }
  // Its counts and sums, with peer, url and location left empty (they are identity(),
  // url() and location(), held once); summary() has them all.
  PeerTotals totals() const;
  int successes() const { return counts_.successes; }
  int failures() const { return counts_.failures; }
  PeerTotals summary() const;
  uint64_t delay_ms() const { return shape_->delay_ms; }
  int limit() const { return shape_->limit; }
  int max_failures() const { return shape_->max_failures; }
  const std::string& location() const { return location_; }
  const std::string& url() const { return display_url_.str(); }
  // Parsed again from the URL on each call (a peer keeps its text, not a Url).
  Url target_url() const;
  const std::string& identity() const { return identity_text().str(); }
  // The same, for holders that keep it (the metrics): one copy for them all.
  const SharedString& identity_text() const { return identity_.empty() ? display_url_ : identity_; }
  const std::string& peer_ip() const { return peer_ip_; }
  int64_t latest_unix_ns() const { return latest_unix_ns_; }
  uint64_t due_ns() const { return due_ns_; }  // its next tick
  uint64_t skipped_ticks() const { return skipped_ticks_; }
  // The latest failure: its reason (and details), and when; empty if none yet.
  const std::string& last_error() const;
  int64_t last_error_unix_ns() const { return errors_ ? errors_->last_error_unix_ns : 0; }

 private:
  // A probe and what it reads, built at its tick from the peer's text and freed once it
  // ended: an idle peer holds neither the request nor the parsed URL.
  struct Flight {
    ProbeTarget target;
    std::unique_ptr<Probe> probe;  // never null; given back to timers_ as a spare once ended
    Flight(Peer& peer, ProbeTarget t);
  };
  // What only some peers have: a query, an address, TLS, a URL its text does not give back.
  struct Extra {
    std::string query;             // without '?'
    std::string address_override;  // connect here instead of resolving
    std::optional<Url> url;        // when parsing display_url_ again would not give it
    TlsTarget tls;
    std::unique_ptr<TlsSessionSlot> session;  // kept from one probe to the next
    std::unique_ptr<TlsTarget> next_tls;      // use_tls_config's, from the next probe on
    std::unique_ptr<PeerTimers> own_timers;   // a lone peer's (tests), when none was given
  };
  // Failures: the latest, and what log_failure needs to log a repeat once a minute;
  // allocated at the first failure.
  struct Errors {
    std::string last_error;
    int64_t last_error_unix_ns = 0;
    FailureReason last_failure = FailureReason::none;
    uint64_t last_failure_log_ns = 0;
    int unlogged_failures = 0;
  };

  void on_tick();
  void on_probe_done(const Sample& s);
  void end();
  void log_failure(const Sample& s);
  friend class PeerTimers;
  void free_ended_probe();
  ProbeTarget make_target();
  Extra& extra();

  std::shared_ptr<const PeerShape> shape_;  // shared with the peers of the same numbers
  SharedString display_url_;                // scheme://authority/path
  SharedString identity_;                   // when it is not display_url_
  std::unique_ptr<Extra> extra_;
  Schedule schedule_;
  PeerTimers* timers_;
  std::unique_ptr<Flight> flight_;  // while in flight; freed by timers_ once it ends
  uint64_t due_ns_ = 0;
  uint32_t timer_slot_ = UINT32_MAX;  // its place in timers_' heap, if armed
  bool stopping_ = false;
  bool ended_ = false;
  uint64_t skipped_ticks_ = 0;
  std::string location_;  // learned or preset; "unknown" until known
  std::string peer_ip_;
  int64_t latest_unix_ns_ = 0;
  std::unique_ptr<Errors> errors_;
  static constexpr uint64_t kRepeatLogNs = 60'000'000'000;
  // PeerTotals without its three strings.
  struct Counts {
    int successes = 0, failures = 0;
    int averaged = 0, disturbed = 0;  // as in PeerTotals
    Timings sum;                      // over the successes that count in statistics
    uint64_t size_sum = 0;
    int64_t first_start_unix_ns = 0;
  } counts_;
};

}  // namespace pingmesh
