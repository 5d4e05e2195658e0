// One peer: its schedule, its probes one at a time, and its running totals.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
};

class Peer {
 public:
  class Events {
   public:
    virtual void on_sample(Peer& peer, const Sample& s) noexcept = 0;
    // The peer has stopped for good (limit or failures reached) or, after stop(),
    // has no probe in flight any more.
    virtual void on_peer_ended(Peer& peer) noexcept = 0;

   protected:
    ~Events() = default;
  };

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
  bool busy() const { return probe_ && probe_->running(); }
  // True while a probe object exists: in flight, or ended and not yet freed.
  bool holds_probe() const { return probe_ != nullptr; }
  // Its counts and sums, with peer, url and location left empty (they are identity(),
  // url() and location(), held once); summary() has them all.
  PeerTotals totals() const;
  int successes() const { return counts_.successes; }
  int failures() const { return counts_.failures; }
  PeerTotals summary() const;
  uint64_t delay_ms() const { return delay_ms_; }
  int limit() const { return limit_; }
  int max_failures() const { return max_failures_; }
  const std::string& location() const { return location_; }
  const std::string& url() const { return target_.display_url; }
  const Url& target_url() const { return target_.url; }
  const std::string& identity() const { return target_.identity; }
  const std::string& peer_ip() const { return peer_ip_; }
  int64_t latest_unix_ns() const { return latest_unix_ns_; }
  uint64_t due_ns() const { return due_ns_; }  // its next tick
  uint64_t skipped_ticks() const { return skipped_ticks_; }
  // The latest failure: its reason (and details), and when; empty if none yet.
  const std::string& last_error() const { return last_error_; }
  int64_t last_error_unix_ns() const { return last_error_unix_ns_; }

 private:
  void on_tick();
  void on_probe_done(const Sample& s);
  void end();
  void log_failure(const Sample& s);
  friend class PeerTimers;
  void free_ended_probe();

  Loop& loop_;
  Resolver& resolver_;
  // What the settings were made into: the target holds the strings, the peer the numbers.
  ProbeTarget target_;
  uint64_t delay_ms_;
  int limit_;
  int max_failures_;
  ProbeLimits limits_;
  Events& events_;
  Schedule schedule_;
  std::unique_ptr<PeerTimers> own_timers_;  // only when none was given
  PeerTimers* timers_;
  uint32_t timer_slot_ = UINT32_MAX;     // its place in timers_' heap, if armed
  std::unique_ptr<Probe> probe_;         // while in flight; freed by timers_ once it ends
  std::unique_ptr<TlsTarget> next_tls_;  // use_tls_config's, from the next probe on
  uint64_t due_ns_ = 0;
  bool stopping_ = false;
  bool ended_ = false;
  uint64_t skipped_ticks_ = 0;
  std::string location_;  // learned or preset; "unknown" until known
  std::string peer_ip_;
  int64_t latest_unix_ns_ = 0;
  std::string last_error_;
  int64_t last_error_unix_ns_ = 0;
  static constexpr uint64_t kRepeatLogNs = 60'000'000'000;
  FailureReason last_failure_ = FailureReason::none;
  uint64_t last_failure_log_ns_ = 0;
  int unlogged_failures_ = 0;
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
