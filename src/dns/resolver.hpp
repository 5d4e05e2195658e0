// DNS through c-ares, driven by the loop: one Poll per c-ares socket, one Timer
// following ares_timeout(). IP literals and "localhost" never reach c-ares
// (c-ares 1.18 fails "localhost" on a host without /etc/hosts).
//
// Two c-ares channels: lookups go over UDP on the first, which ignores truncation; a
// name whose UDP answer came back truncated (TC) is asked again on the second, over
// TCP only. c-ares 1.18 retries a truncated answer over TCP on the same server, and
// when that TCP connection fails (handle_error) it closes the server's UDP socket too
// and moves every query pending on that server on to its next try: one name with a
// big answer and a server refusing TCP failed every lookup alongside it. Apart, a
// failing TCP fallback can only fail other truncated names.
//
// Each channel is opened at its first lookup: c-ares 1.18 allocates and fills 74 KB of
// query tables per channel, and most nodes probe IP addresses only. Opening reads
// /etc/resolv.conf then, as each lookup reads /etc/hosts: small local files.
#pragma once

#include <ares.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "log/log.hpp"
#include "loop/poll.hpp"
#include "loop/timer.hpp"
#include "pingmesh/sample.hpp"

namespace pingmesh {

using Addresses = std::vector<sockaddr_storage>;

bool is_ip_literal(const std::string& host);

// Addresses for an IP literal or a localhost name, without any lookup.
std::optional<Addresses> resolve_locally(const std::string& host, uint16_t port);

class Resolver {
 public:
  struct Options {
    std::string servers;    // "127.0.0.1:5353,[::1]:53"; empty = the system's
    int timeout_ms = 2000;  // the first try; c-ares doubles it for each round of servers
    int tries = 2;          // sends to each server
  };
  // c-ares' schedule for lookups that may take up to budget_ms (the probe timeout):
  // a first try of at most 2 s, and enough tries that one server is asked until the
  // budget is spent. The probe's own deadline ends the lookup in any case.
  static Options options_for(std::string servers, uint64_t budget_ms);
  // reason is FailureReason::none on success; now is the monotonic time of the answer.
  using Callback = std::function<void(FailureReason reason, Addresses addrs, uint64_t now)>;

  // A pending lookup; destroying it cancels the callback.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { cancel(); }
    void cancel();
    bool pending() const { return query_ != nullptr; }

   private:
    friend class Resolver;
    struct Query* query_ = nullptr;
  };

  Resolver(Loop& loop, const Options& options);  // throws std::runtime_error (c-ares' init)
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  void resolve(const std::string& host, uint16_t port, Ticket& ticket, Callback cb);

  // For discovery, where the answer's lifetime matters: the addresses and the smallest
  // TTL among them (seconds).
  using TtlCallback = std::function<void(FailureReason reason, Addresses addrs, uint32_t ttl)>;
  void resolve_with_ttl(const std::string& host, uint16_t port, Ticket& ticket, TtlCallback cb);

  // SRV records (RFC 2782), with the smallest TTL of the answer.
  struct SrvTarget {
    std::string host;
    uint16_t port = 0;
    uint16_t priority = 0, weight = 0;
  };
  using SrvCallback =
      std::function<void(FailureReason reason, std::vector<SrvTarget> targets, uint32_t ttl)>;
  void resolve_srv(const std::string& name, Ticket& ticket, SrvCallback cb);

 private:
  // One c-ares channel, and the resolver its callbacks reach.
  struct Lane {
    Resolver* self = nullptr;
    ares_channel channel = nullptr;  // null until the first lookup on this lane
    int flags = 0;
  };

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept;
  static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* result) noexcept;
  static void on_srv_answer(void* arg, int status, int timeouts, unsigned char* abuf,
                            int alen) noexcept;
  void query_srv(Lane& lane, Query* q);
  static ares_ssize_t recv_datagram(ares_socket_t fd, void* buf, size_t len, int flags,
                                    sockaddr* from, ares_socklen_t* from_len, void* data);
  bool open_lane(Lane& lane);  // false (logged once) if c-ares cannot open it
  void lookup(Lane& lane, Query* q);
  void process(Lane& lane, ares_socket_t readable, ares_socket_t writable, uint64_t now);
  void rearm_timer();
  void note_truncated(const unsigned char* answer, size_t len);
  bool truncated_since(const std::string& host, uint64_t since_ns) const;

  Loop& loop_;
  Options options_;
  Lane udp_, tcp_;
  log::Once open_failure_logged_;
  Timer timer_;
  std::map<ares_socket_t, std::unique_ptr<Poll>> polls_;
  // Names whose UDP answer had TC set, and when; bounded, the oldest dropped.
  static constexpr size_t kMaxTruncatedNames = 256;
  std::map<std::string, uint64_t> truncated_;
  uint64_t truncated_dropped_ = 0;
  log::Once truncated_dropped_logged_;
  uint64_t woke_ns_ = 0;
  bool answering_now_ = false;     // inside resolve(): an answer now is a synchronous one
  log::Once poll_failure_logged_;  // when the loop woke us: the answer's arrival time
};

}  // namespace pingmesh
