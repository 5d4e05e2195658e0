#include "http/responder.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "http/responder_connection.hpp"
#include "loop/clock.hpp"

namespace pingmesh {

namespace {

// Connections the fd limit leaves room for. The table must fill before the process's fd
// table does: past that, libuv's reserve-fd trick accepts and drops every pending
// connection, a newcomer's too, and no eviction can help. The reserve is for the rest of
// the daemon: probes, DNS, listeners, the spool.
size_t connections_fds_allow() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<size_t>::max();
  size_t soft = size_t(rl.rlim_cur);
  size_t reserve = std::max<size_t>(32, soft / 8);
  return soft > reserve + 8 ? soft - reserve : 8;
}

// net.ipv4.tcp_syncookies is 1 (cookies when the SYN queue is full) or 2 (always). Read
// once, at the first start (procfs: memory, not a disk).
bool syn_cookies_on() {
  static const bool on = [] {
    std::FILE* f = std::fopen("/proc/sys/net/ipv4/tcp_syncookies", "re");
    if (!f) return false;
    int v = 0;
    bool yes = std::fscanf(f, "%d", &v) == 1 && v > 0;
    std::fclose(f);
    return yes;
  }();
  return on;
}

}  // namespace

Responder::Responder(Loop& loop, Options options, const Routes& routes)
    : loop_(loop),
      options_(std::move(options)),
      routes_(routes),
      reaper_(loop, [this] { reap(); }),
      resumer_(loop, [this] { resume_deferred(); }) {}

Responder::~Responder() {
  stop();
}

void Responder::start() {
  size_t allowed = connections_fds_allow();
  if (options_.max_connections > allowed) {
    PM_LOG(notice,
           "responder: the file descriptor limit allows %zu connections, not %zu; serving at "
           "most %zu",
           allowed, options_.max_connections, allowed);
    options_.max_connections = allowed;
  }
  if (options_.plain) port_ = listen_all(options_.port, false);
  if (options_.tls) tls_port_ = listen_all(options_.tls_port, true);
}

// Listens on every address at one port; returns the port (chosen by the first bind when 0).
uint16_t Responder::listen_all(uint16_t port, bool tls) {
  for (size_t i = 0; i < options_.addresses.size(); ++i) {
    const auto& a = options_.addresses[i];
    sockaddr_storage ss{};
    if (uv_ip4_addr(a.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
        uv_ip6_addr(a.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0)
      throw std::runtime_error("listen address '" + a + "' is not an IP address");
    auto l = std::make_unique<TcpListener>(
        loop_, [this, tls](TcpListener& self) { on_connection(self, tls); });
    // Small answers leave at once (TCP_NODELAY). And the kernel would grow the send buffer
    // of a client that never reads up to tcp_wmem's maximum (4 MB) with a copy of the page
    // each; fixed, the rest waits in the shared page. Accepted sockets inherit both, and
    // the deferred accept, when set before listen().
    int rc = l->bind(reinterpret_cast<sockaddr*>(&ss));
    if (rc == 0) {
      if (l->set_accepted_options(true, int(options_.send_buffer_bytes)) != 0)
        options_per_connection_ = true;
      if (options_.defer_accept && syn_cookies_on() && l->defer_accept(1) != 0)
        PM_LOG(notice, "responder: TCP_DEFER_ACCEPT refused; accepting at once");
      rc = l->listen();
    }
    if (rc != 0) {
      std::string why =
          "cannot listen on " + a + " port " + std::to_string(port) + ": " + uv_strerror(rc);
      if (i == 0) throw std::runtime_error(why);
      PM_LOG(notice, "%s (serving without it)", why.c_str());
      continue;
    }
    if (port == 0) port = uint16_t(l->port());
    listeners_.push_back(std::move(l));
  }
  return port;
}

void Responder::stop() {
  listeners_.clear();
  for (auto& c : connections_) c->close();
  deferred_.clear();
  connections_.clear();
  retired_.clear();
  clients_ = ClientTable();  // its members are gone
  handshakes_ = 0;
}

void Responder::on_connection(TcpListener& listener, bool tls) {
  auto c = std::make_unique<Connection>(*this, tls);
  if (listener.accept(c->stream()) != 0) return;
  ++counters_.connections;
  sockaddr_storage ss{};
  int len = sizeof ss;
  ClientKey key;
  if (uv_tcp_getpeername(c->stream().get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    key = client_key(reinterpret_cast<sockaddr*>(&ss));
  if (!make_room(key, tls)) {
    c->close();
    return;
  }
  c->start(key);
  connections_.push_front(std::move(c));
  Connection* added = connections_.front().get();
  added->self_ = connections_.begin();
  clients_.add(*added, key, tls);
  if (tls) ++handshakes_;
}

// Makes room for one more connection from key (a TLS one within the address's handshake
// rate): over a bound, the oldest idle connection
// (or unfinished handshake) goes, of this client when it is over its own bound, else of the
// client holding the most. False when nothing can go: the newcomer is refused.
bool Responder::make_room(const ClientKey& key, bool tls) {
  if (tls && !clients_.take_handshake_token(key, mono_ns(), options_.handshake_rate_per_client,
                                            options_.handshake_burst_per_client)) {
    ++counters_.rejected_handshakes;
    if (rate_logged_.first())
      PM_LOG(warning,
             "responder: one address starts TLS handshakes faster than %.0f a second; refusing "
             "the excess (logged once)",
             options_.handshake_rate_per_client);
    return false;
  }
  if (tls && clients_.handshakes(key) >= options_.max_handshakes_per_client)
    evict_handshake(clients_.oldest_handshake(key));
  else if (tls && handshakes_ >= options_.max_handshakes)
    evict_handshake(clients_.oldest_handshake_of_heaviest());
  bool room = true;
  if (clients_.connections(key) >= options_.max_connections_per_client)
    room = evict(clients_.oldest_idle(key));
  else if (connections_.size() >= options_.max_connections)
    room = evict(clients_.oldest_idle_of_heaviest());
  if (room) return true;
  ++counters_.rejected_connections;
  if (full_logged_.first())
    PM_LOG(warning,
           "responder: %zu connections open, all busy answering; refusing more (logged once)",
           connections_.size());
  return false;
}

bool Responder::evict(ClientTable::Member* m) {
  if (!m) return false;
  ++counters_.evicted_connections;
  if (evicted_logged_.first())
    PM_LOG(notice,
           "responder: %zu connections open (%zu clients); closing the oldest idle one of the "
           "client holding the most (logged once)",
           connections_.size(), clients_.clients());
  retire(static_cast<Connection*>(m));
  return true;
}

void Responder::evict_handshake(ClientTable::Member* m) {
  if (!m) return;
  ++counters_.evicted_handshakes;
  if (handshakes_logged_.first())
    PM_LOG(warning,
           "responder: %zu TLS handshakes in progress; closing the oldest of the client with "
           "the most (logged once)",
           handshakes_);
  retire(static_cast<Connection*>(m));
}

void Responder::retire(Connection* c) {
  if (c->retired) return;
  c->retired = true;
  if (c->deferred) {  // not in deferred_ while resume_deferred() goes through its copy
    c->deferred = false;
    auto at = std::find(deferred_.begin(), deferred_.end(), c);
    if (at != deferred_.end()) deferred_.erase(at);
  }
  c->leave();
  c->close();
  retired_.push_back(std::move(*c->self_));
  connections_.erase(c->self_);
  reaper_.start(0);
}

void Responder::reap() {
  retired_.clear();
}

void Responder::defer(Connection* c) {
  c->deferred = true;
  deferred_.push_back(c);
  resumer_.start();  // the next turn, before its I/O
}

// Each goes on with its next share; one that spends it again defers itself anew.
void Responder::resume_deferred() {
  std::vector<Connection*> now;
  now.swap(deferred_);
  for (Connection* c : now) {
    if (!c->deferred) continue;  // retired meanwhile
    c->deferred = false;
    c->resume();
  }
  if (deferred_.empty()) resumer_.stop();
}

}  // namespace pingmesh
