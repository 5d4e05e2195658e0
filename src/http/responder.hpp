// The server side: answers other nodes' probes on the loop. Bounded everywhere:
// connections (in all and per client address), TLS handshakes, header bytes, body bytes,
// first-byte, header and idle time, and the bytes held by answers not yet sent.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "http/client_table.hpp"
#include "http/routes.hpp"
#include "log/log.hpp"
#include "loop/idle.hpp"
#include "loop/tcp.hpp"
#include "loop/timer.hpp"
#include "tls/channel.hpp"

struct mbedtls_ssl_config;

namespace pingmesh {

class Responder {
 public:
  struct Options {
    bool plain = true;                        // serve http on port
    uint16_t port = 0;                        // 0 picks a free port (tests)
    const mbedtls_ssl_config* tls = nullptr;  // serve https on tls_port when set
    uint16_t tls_port = 0;
    std::vector<std::string> addresses = {"0.0.0.0", "::"};
    // When a bound is full, the oldest idle connection (no answer being written) of the
    // client holding the most goes first, so a newcomer from another address gets in.
    size_t max_connections = 256;
    size_t max_connections_per_client = 32;  // one address (IPv6 too: not its /64)
    size_t max_header_bytes = 8192;          // the whole request head, every byte
    size_t max_body_bytes = 16384;
    uint64_t first_byte_timeout_ms = 2000;  // a new connection that says nothing
    // Accept connections once their first bytes came (TCP_DEFER_ACCEPT): one wake-up a
    // request, not two, and a connection that says nothing waits in the kernel (no fd, no
    // slot) for about a second, then is accepted and has first_byte_timeout_ms. Only with
    // SYN cookies on (Linux's default): silent connections wait in the SYN queue, and when
    // a flood fills it, cookies still let newcomers in. The daemon's responder asks for
    // it; off here so that tests see silent connections at once.
    bool defer_accept = false;
    uint64_t header_timeout_ms = 10000;
    uint64_t idle_timeout_ms = 30000;
    uint64_t handshake_timeout_ms = 5000;
    size_t max_handshakes = 32;  // a handshake flood must not starve the probes
    size_t max_handshakes_per_client = 8;
    // New TLS handshakes one address may start per second, and at once: each costs a
    // signature and a key exchange (about 2 ms of loop time with mbedTLS 2.28 here, ECDSA P-256 and
    // x25519; more on a small core), so this bounds what a reconnecting flood from one host can
    // take from everyone else. A mesh peer starts one per probe.
    double handshake_rate_per_client = 4;
    double handshake_burst_per_client = 2;
    size_t send_buffer_bytes = 64 * 1024;  // per connection, in the kernel (which doubles it)
  };
  struct Counters {
    uint64_t requests = 0;
    uint64_t connections = 0;
    uint64_t rejected_connections = 0;  // over a connection bound with nothing to evict
    uint64_t evicted_connections = 0;   // idle ones closed to make room
    uint64_t oversized_requests = 0;    // header or body over its bound
    uint64_t timeouts = 0;              // header or idle timeout
    uint64_t bad_requests = 0;
    uint64_t tls_failures = 0;         // handshakes that failed
    uint64_t evicted_handshakes = 0;   // unfinished ones closed to make room
    uint64_t rejected_handshakes = 0;  // over one address's handshake rate
  };

  // Answers what routes has; routes must outlive the responder.
  Responder(Loop& loop, Options options, const Routes& routes);
  ~Responder();

  // Binds every address (http, https); throws std::runtime_error when none can be bound, or the
  // first cannot (a port in use must stop start-up, not go unnoticed).
  void start();
  // Stops accepting; open connections are still answered.
  void stop_listening() { listeners_.clear(); }
  // Stops listening and closes every connection.
  void stop();

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }
  const Counters& counters() const { return counters_; }
  size_t open_connections() const { return connections_.size(); }

 private:
  class Connection;
  friend class Connection;

  uint16_t listen_all(uint16_t port, bool tls);
  void on_connection(TcpListener& listener, bool tls);
  bool make_room(const ClientKey& key, bool tls);
  bool evict(ClientTable::Member* m);
  void evict_handshake(ClientTable::Member* m);
  void retire(Connection* c);
  void reap();
  // A connection that spent its share of answers this loop turn goes on next turn.
  void defer(Connection* c);
  void resume_deferred();

  Loop& loop_;
  Options options_;
  const Routes& routes_;
  std::vector<std::unique_ptr<TcpListener>> listeners_;
  std::list<std::unique_ptr<Connection>> connections_;
  ClientTable clients_;
  std::vector<std::unique_ptr<Connection>> retired_;  // freed on the next loop turn
  Timer reaper_;
  std::vector<Connection*> deferred_;  // to go on next turn (none retired: retire() drops them)
  Idle resumer_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  size_t handshakes_ = 0;  // TLS handshakes in progress
  // Set when a listener could not take TCP_NODELAY and the send buffer for the sockets
  // it accepts: each connection then sets them itself.
  bool options_per_connection_ = false;
  Counters counters_;
  std::string scratch_;  // where an answer's head is built (one loop: one at a time)
  log::Once full_logged_, evicted_logged_, oversize_logged_, timeout_logged_, handshakes_logged_,
      tls_logged_, rate_logged_;
};

}  // namespace pingmesh
