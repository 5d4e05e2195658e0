#include "dns/resolver.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "loop/clock.hpp"

namespace pingmesh {

struct Query {
  Resolver* resolver;
  Resolver::Callback cb;
  Resolver::Ticket* ticket;
  uint16_t port;
  std::string host;
  uint64_t started_ns;
  bool over_tcp = false;
  Resolver::TtlCallback ttl_cb;  // instead of cb, for resolve_with_ttl
  Resolver::SrvCallback srv_cb;  // instead of cb, for resolve_srv
  bool wanted() const { return cb || ttl_cb || srv_cb; }
};

namespace {

Query* new_query(Resolver* r, Resolver::Ticket* t, uint16_t port, const std::string& host) {
  auto* q = new Query();
  q->resolver = r;
  q->ticket = t;
  q->port = port;
  q->host = host;
  q->started_ns = mono_ns();
  return q;
}

constexpr int kClassIn = 1, kTypeSrv = 33;  // RFC 1035, RFC 2782

}  // namespace

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
    query_->ttl_cb = nullptr;
    query_->srv_cb = nullptr;
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
    : loop_(loop), options_(options), timer_(loop, [this] {
        uint64_t now = mono_ns();
        if (udp_.channel) process(udp_, ARES_SOCKET_BAD, ARES_SOCKET_BAD, now);
        if (tcp_.channel) process(tcp_, ARES_SOCKET_BAD, ARES_SOCKET_BAD, now);
      }) {
  static const int lib = ares_library_init(ARES_LIB_INIT_ALL);
  if (lib != ARES_SUCCESS) throw std::runtime_error("c-ares: " + std::string(ares_strerror(lib)));
  udp_ = {this, nullptr, ARES_FLAG_IGNTC};
  tcp_ = {this, nullptr, ARES_FLAG_USEVC};
}

bool Resolver::open_lane(Lane& lane) {
  if (lane.channel) return true;
  ares_options opts{};
  opts.sock_state_cb = &Resolver::on_sock_state;
  opts.sock_state_cb_data = &lane;
  opts.timeout = options_.timeout_ms;
  opts.tries = options_.tries;
  opts.flags = lane.flags;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  int rc = ares_init_options(&lane.channel, &opts, mask);
  const char* what = "";
  if (rc != ARES_SUCCESS) {
    lane.channel = nullptr;
    what = ares_strerror(rc);
  } else if (!options_.servers.empty() &&
             ares_set_servers_ports_csv(lane.channel, options_.servers.c_str()) != ARES_SUCCESS) {
    ares_destroy(lane.channel);
    lane.channel = nullptr;
    what = "bad DNS server list";
  }
  if (!lane.channel) {
    if (open_failure_logged_.first())
      PM_LOG(error, "DNS: c-ares cannot start (%s, servers '%s'); lookups fail (logged once)", what,
             options_.servers.c_str());
    return false;
  }
  if (&lane == &udp_) {
    // Plain system calls, but every UDP answer passes here first, so a truncated one is seen.
    static const ares_socket_functions funcs = {
        [](int domain, int type, int protocol, void*) -> ares_socket_t {
          return socket(domain, type, protocol);
        },
        [](ares_socket_t fd, void*) { return close(fd); },
        [](ares_socket_t fd, const sockaddr* to, ares_socklen_t len, void*) {
          return connect(fd, to, len);
        },
        &Resolver::recv_datagram,
        [](ares_socket_t fd, const iovec* iov, int n, void*) -> ares_ssize_t {
          return writev(fd, iov, n);
        },
    };
    ares_set_socket_functions(lane.channel, &funcs, this);
  }
  return true;
}

Resolver::~Resolver() {
  // Pending queries get ARES_EDESTRUCTION and are freed in on_answer.
  if (udp_.channel) ares_destroy(udp_.channel);
  if (tcp_.channel) ares_destroy(tcp_.channel);
  polls_.clear();
}

void Resolver::resolve(const std::string& host, uint16_t port, Ticket& ticket, Callback cb) {
  ticket.cancel();
  auto* q = new_query(this, &ticket, port, host);
  q->cb = std::move(cb);
  ticket.query_ = q;
  lookup(udp_, q);
}

void Resolver::resolve_with_ttl(const std::string& host, uint16_t port, Ticket& ticket,
                                TtlCallback cb) {
  ticket.cancel();
  auto* q = new_query(this, &ticket, port, host);
  q->ttl_cb = std::move(cb);
  ticket.query_ = q;
  lookup(udp_, q);
}

void Resolver::resolve_srv(const std::string& name, Ticket& ticket, SrvCallback cb) {
  ticket.cancel();
  auto* q = new_query(this, &ticket, 0, name);
  q->srv_cb = std::move(cb);
  ticket.query_ = q;
  query_srv(udp_, q);
}

void Resolver::query_srv(Lane& lane, Query* q) {
  bool nested = std::exchange(answering_now_, true);
  if (open_lane(lane))
    ares_query(lane.channel, q->host.c_str(), kClassIn, kTypeSrv, &Resolver::on_srv_answer, q);
  else
    on_srv_answer(q, ARES_ESERVFAIL, 0, nullptr, 0);
  answering_now_ = nested;
  rearm_timer();
}

namespace {

// The smallest TTL among the answer records of a DNS message; 0 if none can be read.
uint32_t min_answer_ttl(const unsigned char* abuf, int alen) {
  if (alen < 12) return 0;
  int questions = (abuf[4] << 8) | abuf[5], answers = (abuf[6] << 8) | abuf[7];
  const unsigned char* p = abuf + 12;
  auto skip_name = [&]() {
    char* name = nullptr;
    long len = 0;
    if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) return false;
    ares_free_string(name);
    p += len;
    return true;
  };
  for (int i = 0; i < questions; ++i)
    if (!skip_name() || (p += 4) > abuf + alen) return 0;
  uint32_t ttl = 0;
  for (int i = 0; i < answers; ++i) {
    if (!skip_name() || p + 10 > abuf + alen) break;
    uint32_t t = (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
    if (t & 0x80000000u) t = 0;  // RFC 2181 8: a TTL with the top bit set is zero
    int rdlen = (p[8] << 8) | p[9];
    ttl = i == 0 ? t : std::min(ttl, t);
    p += 10 + rdlen;
    if (p > abuf + alen) break;
  }
  return ttl;
}

}  // namespace

void Resolver::on_srv_answer(void* arg, int status, int, unsigned char* abuf, int alen) noexcept {
  auto* q = static_cast<Query*>(arg);
  Resolver* self = q->resolver;
  bool gone = status == ARES_ECANCELLED || status == ARES_EDESTRUCTION;
  if (!gone && q->wanted() && !q->over_tcp && self->truncated_since(q->host, q->started_ns)) {
    q->over_tcp = true;  // a truncated list of members is not the list: ask over TCP
    self->query_srv(self->tcp_, q);
    return;
  }
  std::vector<SrvTarget> targets;
  uint32_t ttl = 0;
  if (status == ARES_SUCCESS) {
    ares_srv_reply* reply = nullptr;
    status = ares_parse_srv_reply(abuf, alen, &reply);
    for (auto* r = reply; status == ARES_SUCCESS && r; r = r->next)
      targets.push_back({r->host, r->port, r->priority, r->weight});
    if (reply) ares_free_data(reply);
    ttl = min_answer_ttl(abuf, alen);
  }
  auto cb = std::move(q->srv_cb);
  if (q->ticket) q->ticket->query_ = nullptr;
  delete q;
  if (cb && !gone) cb(reason_of(status), std::move(targets), ttl);
}

void Resolver::lookup(Lane& lane, Query* q) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // c-ares may answer at once, from /etc/hosts say: on_answer then reads the clock itself.
  bool nested = std::exchange(answering_now_, true);
  if (open_lane(lane))
    ares_getaddrinfo(lane.channel, q->host.c_str(), nullptr, &hints, &Resolver::on_answer, q);
  else
    on_answer(q, ARES_ESERVFAIL, 0, nullptr);
  answering_now_ = nested;
  rearm_timer();
}

void Resolver::on_answer(void* arg, int status, int, ares_addrinfo* result) noexcept {
  auto* q = static_cast<Query*>(arg);
  Resolver* self = q->resolver;
  uint64_t now = self->answering_now_ ? mono_ns() : self->woke_ns_;
  bool gone = status == ARES_ECANCELLED || status == ARES_EDESTRUCTION;
  if (!gone && q->wanted() && !q->over_tcp && self->truncated_since(q->host, q->started_ns)) {
    // Whatever fitted in the datagram is not the answer: ask again over TCP.
    if (result) ares_freeaddrinfo(result);
    q->over_tcp = true;
    self->lookup(self->tcp_, q);
    return;
  }
  Addresses addrs;
  uint32_t ttl = 0;
  if (status == ARES_SUCCESS && result) {
    for (auto* n = result->nodes; n; n = n->ai_next) {
      ttl = addrs.empty() ? uint32_t(std::max(0, n->ai_ttl))
                          : std::min(ttl, uint32_t(std::max(0, n->ai_ttl)));
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
  auto ttl_cb = std::move(q->ttl_cb);
  if (q->ticket) q->ticket->query_ = nullptr;
  delete q;
  if (gone) return;
  if (cb) cb(reason_of(status), std::move(addrs), now);
  if (ttl_cb) ttl_cb(reason_of(status), std::move(addrs), ttl);
}

ares_ssize_t Resolver::recv_datagram(ares_socket_t fd, void* buf, size_t len, int flags,
                                     sockaddr* from, ares_socklen_t* from_len, void* data) {
  ares_ssize_t n = recvfrom(fd, buf, len, flags, from, from_len);
  // c-ares reads UDP with an address to check the sender; TCP without one.
  if (n > 0 && from)
    static_cast<Resolver*>(data)->note_truncated(static_cast<const unsigned char*>(buf), size_t(n));
  return n;
}

// Remembers the question's name when a response has TC set.
void Resolver::note_truncated(const unsigned char* answer, size_t len) {
  constexpr size_t kHeader = 12;
  if (len <= kHeader || !(answer[2] & 0x80) || !(answer[2] & 0x02)) return;
  std::string name;
  for (size_t at = kHeader; at < len && answer[at] != 0;) {
    size_t label = answer[at];
    if (label > 63 || at + 1 + label > len || name.size() + label > 254) return;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < label; ++i) name += char(std::tolower(answer[at + 1 + i]));
    at += 1 + label;
  }
  if (name.empty()) return;
  if (truncated_.size() >= kMaxTruncatedNames && !truncated_.count(name)) {
    auto oldest =
        std::min_element(truncated_.begin(), truncated_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    truncated_.erase(oldest);
    ++truncated_dropped_;
    if (truncated_dropped_logged_.first())
      PM_LOG(warning,
             "DNS: more than %zu names with truncated answers at once; the oldest "
             "are forgotten and may fail as empty (logged once)",
             kMaxTruncatedNames);
  }
  truncated_[name] = mono_ns();
}

// Whether a truncated answer for host (or host with a search domain) came since since_ns.
bool Resolver::truncated_since(const std::string& host, uint64_t since_ns) const {
  if (truncated_.empty()) return false;
  std::string key;
  for (char c : host) key += char(std::tolower(static_cast<unsigned char>(c)));
  while (key.ends_with('.')) key.pop_back();
  for (auto it = truncated_.lower_bound(key); it != truncated_.end(); ++it) {
    const std::string& name = it->first;
    if (!name.starts_with(key)) break;
    if ((name.size() == key.size() || name[key.size()] == '.') && it->second >= since_ns)
      return true;
  }
  return false;
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
  auto* lane = static_cast<Lane*>(data);
  Resolver* self = lane->self;
  if (!readable && !writable) {
    self->polls_.erase(fd);
    return;
  }
  auto& poll = self->polls_[fd];
  if (!poll) {
    poll = std::make_unique<Poll>(self->loop_, fd, [self, lane, fd](int status, int events) {
      uint64_t now = mono_ns();
      bool fail = status < 0;  // let c-ares see the error on its socket
      self->process(*lane, (fail || (events & UV_READABLE)) ? fd : ARES_SOCKET_BAD,
                    (fail || (events & UV_WRITABLE)) ? fd : ARES_SOCKET_BAD, now);
    });
  }
  if (poll->start((readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0)) != 0 &&
      self->poll_failure_logged_.first())
    PM_LOG(error, "DNS: cannot watch a c-ares socket; its lookups will time out (logged once)");
}

void Resolver::process(Lane& lane, ares_socket_t readable, ares_socket_t writable, uint64_t now) {
  woke_ns_ = now;
  ares_process_fd(lane.channel, readable, writable);
  rearm_timer();
}

void Resolver::rearm_timer() {
  // The sooner of the two channels' next timeouts (ares_timeout returns maxtv or tv).
  timeval udp_tv, tv;
  timeval* next = udp_.channel ? ares_timeout(udp_.channel, nullptr, &udp_tv) : nullptr;
  if (tcp_.channel) next = ares_timeout(tcp_.channel, next, &tv);
  if (next) {
    timer_.start(uint64_t(next->tv_sec) * 1000 + uint64_t(next->tv_usec + 999) / 1000);
  } else {
    timer_.stop();
  }
}

}  // namespace pingmesh
