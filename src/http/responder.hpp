// The server side: answers other nodes' probes on the loop. Bounded everywhere:
// connections, header bytes, body bytes, header and idle time.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "log/log.hpp"
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
    std::string location;  // shown in the ping page
    size_t max_connections = 256;
    size_t max_header_bytes = 8192;
    size_t max_body_bytes = 16384;
    uint64_t header_timeout_ms = 10000;
    uint64_t idle_timeout_ms = 30000;
    uint64_t handshake_timeout_ms = 5000;
    size_t max_handshakes = 32;  // a handshake flood must not starve the probes
  };
  struct Counters {
    uint64_t requests = 0;
    uint64_t connections = 0;
    uint64_t rejected_connections = 0;  // over max_connections
    uint64_t oversized_requests = 0;    // header or body over its bound
    uint64_t timeouts = 0;              // header or idle timeout
    uint64_t bad_requests = 0;
    uint64_t tls_failures = 0;         // handshakes that failed
    uint64_t rejected_handshakes = 0;  // over max_handshakes
  };
  using JsonSource = std::function<std::string()>;

  Responder(Loop& loop, Options options, JsonSource peers_json);
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
  void retire(Connection* c);
  void reap();

  Loop& loop_;
  Options options_;
  JsonSource peers_json_;
  std::string ping_page_;
  std::vector<std::unique_ptr<TcpListener>> listeners_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> retired_;  // freed on the next loop turn
  Timer reaper_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  size_t handshakes_ = 0;  // TLS handshakes in progress
  Counters counters_;
  log::Once full_logged_, oversize_logged_, timeout_logged_, handshakes_logged_, tls_logged_;
};

}  // namespace pingmesh
