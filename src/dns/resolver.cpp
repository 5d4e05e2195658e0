#include "dns/resolver.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "loop/clock.hpp"

namespace pingmesh {

struct Query {
  Resolver* resolver;
  Resolver::Callback cb;
  Resolver::Ticket* ticket;
  uint16_t port;
};

namespace {

bool parse_ip(const std::string& host, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (uv_ip4_addr(host.c_str(), port, v4) == 0) return true;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  return uv_ip6_addr(host.c_str(), port, v6) == 0;
}

bool is_localhost(const std::string& host) {
  const std::string suffix = ".localhost";
  return host == "localhost" || (host.size() > suffix.size() && host.ends_with(suffix));
}

FailureReason reason_of(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return FailureReason::none;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
      return FailureReason::dns_nxdomain;
    case ARES_ETIMEOUT:
      return FailureReason::dns_timeout;
    default:
      return FailureReason::dns_error;
  }
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  sockaddr_storage ss;
  return parse_ip(host, 0, ss);
}

std::optional<Addresses> resolve_locally(const std::string& host, uint16_t port) {
  sockaddr_storage ss;
  if (parse_ip(host, port, ss)) return Addresses{ss};
  if (!is_localhost(host)) return std::nullopt;
  // IPv6 first, as Go and glibc order them; the prober falls back to IPv4.
  Addresses out(2);
  parse_ip("::1", port, out[0]);
  parse_ip("127.0.0.1", port, out[1]);
  return out;
}

void Resolver::Ticket::cancel() {
  if (query_) {
    query_->cb = nullptr;
    query_->ticket = nullptr;
    query_ = nullptr;
  }
}

Resolver::Options Resolver::options_for(std::string servers, uint64_t budget_ms) {
  // Three tries wait t, 2t and 4t (c-ares 1.18: timeout << round), 7t in all.
  constexpr uint64_t kMinTryMs = 100, kMaxFirstTryMs = 2000;
  Options o;
  o.servers = std::move(servers);
  uint64_t first = std::clamp<uint64_t>(budget_ms / 7, kMinTryMs, kMaxFirstTryMs);
  int tries = 3;
  // A long budget: more rounds, not a longer first wait (a lost datagram is retried soon).
  while (first * ((uint64_t(1) << tries) - 1) < budget_ms && tries < 16) ++tries;
  o.timeout_ms = int(first);
  o.tries = tries;
  return o;
}

Resolver::Resolver(Loop& loop, const Options& options)
    : loop_(loop), timer_(loop, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD, mono_ns()); }) {
  static const int lib = ares_library_init(ARES_LIB_INIT_ALL);
  if (lib != ARES_SUCCESS) throw std::runtime_error("c-ares: " + std::string(ares_strerror(lib)));

  ares_options opts{};
  opts.sock_state_cb = &Resolver::on_sock_state;
  opts.sock_state_cb_data = this;
  opts.timeout = options.timeout_ms;
  opts.tries = options.tries;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&channel_, &opts, mask);
  if (rc != ARES_SUCCESS) throw std::runtime_error("c-ares: " + std::string(ares_strerror(rc)));
  if (!options.servers.empty()) {
    rc = ares_set_servers_ports_csv(channel_, options.servers.c_str());
    if (rc != ARES_SUCCESS) {
      ares_destroy(channel_);
      throw std::runtime_error("bad DNS server list '" + options.servers + "'");
    }
  }
}

Resolver::~Resolver() {
  // Pending queries get ARES_EDESTRUCTION and are freed in on_answer.
  ares_destroy(channel_);
  polls_.clear();
}

void Resolver::resolve(const std::string& host, uint16_t port, Ticket& ticket, Callback cb) {
  ticket.cancel();
  auto* q = new Query{this, std::move(cb), &ticket, port};
  ticket.query_ = q;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // c-ares may answer at once, from /etc/hosts say: on_answer then reads the clock itself.
  bool nested = std::exchange(answering_now_, true);
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &Resolver::on_answer, q);
  answering_now_ = nested;
  rearm_timer();
}

void Resolver::on_answer(void* arg, int status, int, ares_addrinfo* result) noexcept {
  auto* q = static_cast<Query*>(arg);
  uint64_t now = q->resolver->answering_now_ ? mono_ns() : q->resolver->woke_ns_;
  Addresses addrs;
  if (status == ARES_SUCCESS && result) {
    for (auto* n = result->nodes; n; n = n->ai_next) {
      sockaddr_storage ss{};
      std::memcpy(&ss, n->ai_addr, std::min<size_t>(n->ai_addrlen, sizeof ss));
      if (ss.ss_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(q->port);
      else if (ss.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(q->port);
      else
        continue;
      addrs.push_back(ss);
    }
    if (addrs.empty()) status = ARES_ENODATA;
  }
  if (result) ares_freeaddrinfo(result);
  auto cb = std::move(q->cb);
  if (q->ticket) q->ticket->query_ = nullptr;
  delete q;
  if (cb && status != ARES_ECANCELLED && status != ARES_EDESTRUCTION)
    cb(reason_of(status), std::move(addrs), now);
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
  auto* self = static_cast<Resolver*>(data);
  if (!readable && !writable) {
    self->polls_.erase(fd);
    return;
  }
  auto& poll = self->polls_[fd];
  if (!poll) {
    poll = std::make_unique<Poll>(self->loop_, fd, [self, fd](int status, int events) {
      uint64_t now = mono_ns();
      bool fail = status < 0;  // let c-ares see the error on its socket
      self->process((fail || (events & UV_READABLE)) ? fd : ARES_SOCKET_BAD,
                    (fail || (events & UV_WRITABLE)) ? fd : ARES_SOCKET_BAD, now);
    });
  }
  if (poll->start((readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0)) != 0 &&
      self->poll_failure_logged_.first())
    PM_LOG(error, "DNS: cannot watch a c-ares socket; its lookups will time out (logged once)");
}

void Resolver::process(ares_socket_t readable, ares_socket_t writable, uint64_t now) {
  woke_ns_ = now;
  ares_process_fd(channel_, readable, writable);
  rearm_timer();
}

void Resolver::rearm_timer() {
  timeval tv;
  if (ares_timeout(channel_, nullptr, &tv)) {
    timer_.start(uint64_t(tv.tv_sec) * 1000 + uint64_t(tv.tv_usec + 999) / 1000);
  } else {
    timer_.stop();
  }
}

}  // namespace pingmesh
