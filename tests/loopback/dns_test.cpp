// c-ares on the loop against a small DNS server this test runs on 127.0.0.1:
// names that exist, names that don't, a server that never answers.
#include "harness.hpp"
#include "test_routes.hpp"

#include <malloc.h>

#include <cstring>

#include "dns/resolver.hpp"
#include "http/responder.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

// Answers A queries for names ending in ".test." with 127.0.0.1 and NXDOMAIN for
// the rest; AAAA gets an empty answer. mute = true drops every query. Names starting
// with "big." get an empty answer with TC=1 (too big for UDP) at once; others wait
// delay_ms. Its TCP port accepts and resets: a TCP fallback fails, as a remote server's
// refusal does, after the connect; with tcp_answers, it answers in full over TCP.
class TinyDnsServer {
 public:
  TinyDnsServer(Loop& loop, bool mute = false, uint64_t delay_ms = 0)
      : mute_(mute),
        delay_ms_(delay_ms),
        udp_(new uv_udp_t),
        flush_(loop, [this] { flush(); }),
        tcp_(loop, [this](TcpListener& l) { refuse(l); }),
        loop_(loop) {
    // The TCP port must be the UDP one; another test may hold it for TCP: try others.
    int listened = -1;
    for (int attempt = 0; attempt < 20 && listened != 0; ++attempt) {
      if (attempt > 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(udp_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
        udp_ = new uv_udp_t;
      }
      uv_udp_init(loop.get(), udp_);
      udp_->data = this;
      auto addr = loopback4();
      EXPECT_EQ(uv_udp_bind(udp_, reinterpret_cast<sockaddr*>(&addr), 0), 0);
      sockaddr_storage ss{};
      int len = sizeof ss;
      uv_udp_getsockname(udp_, reinterpret_cast<sockaddr*>(&ss), &len);
      listened = tcp_.listen(reinterpret_cast<sockaddr*>(&ss));
    }
    EXPECT_EQ(listened, 0);
    uv_udp_recv_start(
        udp_,
        [](uv_handle_t*, size_t, uv_buf_t* b) {
          static char buf[1500];
          *b = uv_buf_init(buf, sizeof buf);
        },
        [](uv_udp_t* u, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
          if (n > 0 && from) static_cast<TinyDnsServer*>(u->data)->answer(b->base, size_t(n), from);
        });
  }
  ~TinyDnsServer() {
    uv_close(reinterpret_cast<uv_handle_t*>(udp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
  }
  std::string address() const {
    sockaddr_storage ss{};
    int len = sizeof ss;
    uv_udp_getsockname(udp_, reinterpret_cast<sockaddr*>(&ss), &len);
    return "127.0.0.1:" + std::to_string(ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  }
  int queries = 0;
  int tcp_refused = 0;
  int tcp_answered = 0;
  bool tcp_answers = false;  // answer over TCP instead of resetting

 private:
  struct Nothing : TcpStream::Events {
    void on_read(int, const char*, size_t, uint64_t) noexcept override {}
  };
  // DNS over TCP: each message after its two-byte length.
  struct TcpConn : TcpStream::Events {
    explicit TcpConn(Loop& loop) : stream(loop, *this) {}
    void on_read(int status, const char* data, size_t len, uint64_t) noexcept override {
      if (status != 0) return stream.close();
      in.append(data, len);
      while (in.size() >= 2) {
        size_t n = size_t(uint8_t(in[0])) << 8 | uint8_t(in[1]);
        if (in.size() < 2 + n) break;
        bool truncated = false;
        std::string r = response(in.data() + 2, n, /*over_tcp=*/true, truncated);
        in.erase(0, 2 + n);
        if (r.empty()) continue;
        std::string framed = {char(r.size() >> 8), char(r.size() & 0xff)};
        stream.write(framed + r);
      }
    }
    TcpStream stream;
    std::string in;
  };
  void refuse(TcpListener& l) {
    if (tcp_answers) {
      conns_.push_back(std::make_unique<TcpConn>(loop_));
      if (l.accept(conns_.back()->stream) == 0) ++tcp_answered;
      conns_.back()->stream.start_reading();
      return;
    }
    TcpStream conn(loop_, nothing_);
    if (l.accept(conn) == 0) ++tcp_refused;
    conn.reset();
  }

  void answer(const char* q, size_t n, const sockaddr* from) {
    ++queries;
    if (mute_) return;
    bool truncated = false;
    std::string r = response(q, n, /*over_tcp=*/false, truncated);
    if (r.empty()) return;
    sockaddr_storage to{};
    std::memcpy(&to, from, sizeof(sockaddr_in));
    if (truncated || delay_ms_ == 0) {
      send(r, to);
    } else {
      held_.push_back({std::move(r), to});
      if (!flush_.pending()) flush_.start(delay_ms_);
    }
  }

  // The response to query q, or "" for a query we do not understand.
  static std::string response(const char* q, size_t n, bool over_tcp, bool& truncated) {
    if (n < 17) return {};
    // The question: labels, then type and class.
    size_t at = 12;
    std::string name;
    while (at < n && q[at] != 0) {
      size_t len = size_t(uint8_t(q[at]));
      name.append(q + at + 1, std::min(len, n - at - 1)).append(".");
      at += len + 1;
    }
    size_t qend = at + 5;
    if (qend > n) return {};
    uint16_t qtype = uint16_t(uint8_t(q[at + 1]) << 8 | uint8_t(q[at + 2]));
    bool known = name.size() > 6 && name.ends_with(".test.");
    truncated = name.starts_with("big.") && !over_tcp;
    bool a = known && qtype == 1 && !truncated;

    std::string r(q, qend);
    r[2] = char(truncated ? 0x83 : 0x81);  // response, recursion desired; TC
    r[3] = char(known ? 0x80 : 0x83);      // recursion available; NXDOMAIN if unknown
    r[6] = 0, r[7] = a ? 1 : 0;            // answers
    r[8] = r[9] = r[10] = r[11] = 0;
    if (a) r += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 16);
    return r;
  }

  void flush() {
    for (auto& [r, to] : held_) send(r, to);
    held_.clear();
  }

  void send(const std::string& r, const sockaddr_storage& to) {
    auto* req = new uv_udp_send_t;
    auto* copy = new std::string(r);
    req->data = copy;
    uv_buf_t buf = uv_buf_init(copy->data(), unsigned(copy->size()));
    uv_udp_send(req, udp_, &buf, 1, reinterpret_cast<const sockaddr*>(&to),
                [](uv_udp_send_t* s, int) {
                  delete static_cast<std::string*>(s->data);
                  delete s;
                });
  }

  bool mute_;
  uint64_t delay_ms_;
  uv_udp_t* udp_;
  Timer flush_;
  std::vector<std::pair<std::string, sockaddr_storage>> held_;
  Nothing nothing_;
  std::vector<std::unique_ptr<TcpConn>> conns_;
  TcpListener tcp_;
  Loop& loop_;
};

PeerSettings once() {
  PeerSettings s;
  s.delay_ms = 20;
  s.limit = 1;
  s.max_failures = 1;
  return s;
}

}  // namespace

class DnsTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }
  Loop loop;
};

// c-ares 1.18 allocates 74 KB of tables per channel: a node probing IP addresses only
// (most) should not pay them. (Under ASan, mallinfo2 does not see the heap: a no-op there.)
TEST_F(DnsTest, NoChannelBeforeTheFirstLookup) {
  size_t before = mallinfo2().uordblks;
  Resolver resolver(loop, {"127.0.0.1:1", 500, 1});
  EXPECT_LT(mallinfo2().uordblks - before, 16u * 1024) << "a channel opened at construction";
}

// A channel that cannot open fails its lookups (dns_error), at the time of the lookup.
TEST_F(DnsTest, ChannelThatCannotOpenFailsTheLookup) {
  Resolver resolver(loop, {"not an address", 500, 1});
  Resolver::Ticket ticket;
  std::optional<FailureReason> reason;
  resolver.resolve("peer.test", 80, ticket,
                   [&](FailureReason r, Addresses, uint64_t) { reason = r; });
  ASSERT_TRUE(reason.has_value()) << "answered at once";
  EXPECT_EQ(*reason, FailureReason::dns_error);
  EXPECT_FALSE(ticket.pending());
}

TEST_F(DnsTest, ResolvesThroughOurServerAndTimesIt) {
  {
    TinyDnsServer dns(loop);
    Responder::Options ro;
    ro.addresses = {"127.0.0.1"};
    TestRoutes responder_routes("Named", [] { return "{}"; });
    Responder responder(loop, ro, responder_routes.table);
    responder.start();
    Resolver resolver(loop, {dns.address(), 500, 1});
    Recorder rec;
    Peer peer(loop, resolver,
              url("http://peer.test:" + std::to_string(responder.port()) + "/v1/ping"), once(), {},
              rec, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), 1u);
    const Sample& s = rec.samples[0].sample;
    EXPECT_TRUE(s.ok()) << to_string(s.reason);
    EXPECT_GT(s.t.dns, 0u) << "a real lookup takes time";
    EXPECT_EQ(s.remote_addr, "127.0.0.1");
    EXPECT_EQ(s.location, "Named");
    EXPECT_GE(dns.queries, 1);
  }
}

TEST_F(DnsTest, UnknownNameIsNxdomain) {
  {
    TinyDnsServer dns(loop);
    Resolver resolver(loop, {dns.address(), 500, 1});
    Recorder rec;
    Peer peer(loop, resolver, url("http://nosuch.example:80/"), once(), {}, rec, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    const Sample& s = rec.samples.at(0).sample;
    EXPECT_EQ(s.reason, FailureReason::dns_nxdomain);
    EXPECT_EQ(s.http_code, 502);
    EXPECT_EQ(s.t.tcp, 0u);
    EXPECT_EQ(s.t.total, 0u);
  }
}

TEST_F(DnsTest, SilentServerIsDnsTimeout) {
  {
    TinyDnsServer dns(loop, /*mute=*/true);
    Resolver resolver(loop, {dns.address(), 200, 1});
    Recorder rec;
    ProbeLimits limits;
    limits.timeout_ms = 2000;
    Peer peer(loop, resolver, url("http://peer.test:80/"), once(), limits, rec, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    const Sample& s = rec.samples.at(0).sample;
    EXPECT_EQ(s.reason, FailureReason::dns_timeout);
    EXPECT_GE(s.t.dns, 150000000u);
    EXPECT_LT(s.t.dns, 1500000000u);
  }
}

TEST_F(DnsTest, ProbeTimeoutCutsASlowLookup) {
  {
    TinyDnsServer dns(loop, /*mute=*/true);
    Resolver resolver(loop, {dns.address(), 5000, 2});
    Recorder rec;
    ProbeLimits limits;
    limits.timeout_ms = 300;
    Peer peer(loop, resolver, url("http://peer.test:80/"), once(), limits, rec, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    const Sample& s = rec.samples.at(0).sample;
    EXPECT_EQ(s.reason, FailureReason::dns_timeout);
    EXPECT_LT(s.t.dns, 500000000u);
  }
}

// c-ares alone (no probe deadline): against a server that never answers, it keeps
// asking until the budget it was given is spent, then says timeout. Before, it gave up
// after 2 s + 4 s whatever the probe timeout.
TEST_F(DnsTest, LookupLastsTheBudgetItWasGiven) {
  for (uint64_t budget_ms : {1400u, 2800u}) {
    TinyDnsServer dns(loop, /*mute=*/true);
    Resolver resolver(loop, Resolver::options_for(dns.address(), budget_ms));
    Resolver::Ticket ticket;
    FailureReason reason = FailureReason::none;
    uint64_t began = mono_ns(), ended = 0;
    resolver.resolve("peer.test", 80, ticket, [&](FailureReason r, Addresses, uint64_t now) {
      reason = r;
      ended = now;
    });
    ASSERT_TRUE(run_until(
        loop, [&] { return ended != 0; }, budget_ms + 3000));
    uint64_t took_ms = (ended - began) / 1000000;
    EXPECT_EQ(reason, FailureReason::dns_timeout);
    EXPECT_GE(took_ms, budget_ms - 50) << "c-ares gave up before the budget";
    EXPECT_LT(took_ms, budget_ms + 600) << "c-ares went on past the budget";
    EXPECT_GE(dns.queries, 6) << "three tries each for A and AAAA";
  }
}

// The schedule for a long probe timeout: the first try stays short (a lost datagram is
// retried soon), and one server's tries, each twice the last (c-ares 1.18), cover it.
TEST_F(DnsTest, LongBudgetsGetMoreTriesNotALongerFirstWait) {
  for (uint64_t budget_ms : {1000u, 2000u, 10000u, 12000u, 60000u, 300000u}) {
    Resolver::Options o = Resolver::options_for("", budget_ms);
    uint64_t total = 0;
    for (int round = 0; round < o.tries; ++round) total += uint64_t(o.timeout_ms) << round;
    EXPECT_GE(total, budget_ms) << budget_ms;
    EXPECT_LT(total, budget_ms * 3) << budget_ms;
    EXPECT_LE(o.timeout_ms, 2000) << budget_ms;
    EXPECT_GE(o.tries, 3) << budget_ms;
  }
}

// --timeout 2 with the daemon's resolver settings: dns_timeout at the probe's 2 s.
TEST_F(DnsTest, ProbeTimeoutEndsTheLookup) {
  {
    TinyDnsServer dns(loop, /*mute=*/true);
    Resolver resolver(loop, Resolver::options_for(dns.address(), 2000));
    Recorder rec;
    ProbeLimits limits;
    limits.timeout_ms = 2000;
    Peer peer(loop, resolver, url("http://peer.test:80/"), once(), limits, rec, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    const Sample& s = rec.samples.at(0).sample;
    EXPECT_EQ(s.reason, FailureReason::dns_timeout);
    EXPECT_GE(s.t.dns, 1950000000u);
    EXPECT_LT(s.t.dns, 2300000000u);
  }
}

// One name's truncated answer, whose TCP retry is refused, fails that name alone: the
// lookups pending on the same server alongside it all succeed.
TEST_F(DnsTest, OneTruncatedAnswerFailsOnlyItsOwnName) {
  {
    TinyDnsServer dns(loop, false, /*delay_ms=*/100);
    Resolver resolver(loop, {dns.address(), 1000, 2});
    const int n = 15;
    std::vector<std::unique_ptr<Resolver::Ticket>> tickets;
    std::vector<FailureReason> reasons(n + 1, FailureReason::none);
    int pending = n + 1;
    for (int i = 0; i <= n; ++i) {
      tickets.push_back(std::make_unique<Resolver::Ticket>());
      std::string name = i == 0 ? "big.test" : "p" + std::to_string(i) + ".test";
      resolver.resolve(name, 80, *tickets.back(), [&, i](FailureReason r, Addresses, uint64_t) {
        reasons[size_t(i)] = r;
        --pending;
      });
    }
    ASSERT_TRUE(run_until(
        loop, [&] { return pending == 0; }, 8000));
    EXPECT_EQ(to_string(reasons[0]), "dns_error") << "the truncated name fails on its own";
    for (int i = 1; i <= n; ++i) EXPECT_EQ(to_string(reasons[size_t(i)]), "none") << "p" << i;
    EXPECT_GE(dns.tcp_refused, 1) << "the truncated name was retried over TCP";
  }
}

// The TCP fallback still works: a truncated name gets its full answer over TCP.
TEST_F(DnsTest, TruncatedAnswerIsAskedAgainOverTcp) {
  {
    TinyDnsServer dns(loop);
    dns.tcp_answers = true;
    Resolver resolver(loop, {dns.address(), 1000, 2});
    Resolver::Ticket ticket;
    FailureReason reason = FailureReason::dns_error;
    Addresses got;
    bool done = false;
    resolver.resolve("big.test", 80, ticket, [&](FailureReason r, Addresses a, uint64_t) {
      reason = r;
      got = std::move(a);
      done = true;
    });
    ASSERT_TRUE(run_until(
        loop, [&] { return done; }, 5000));
    EXPECT_EQ(to_string(reason), "none");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(format_addr(reinterpret_cast<sockaddr*>(&got[0])), "127.0.0.1");
    EXPECT_GE(dns.tcp_answered, 1);
  }
}

TEST_F(DnsTest, LocalhostNeedsNoServer) {
  auto a = resolve_locally("localhost", 80);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].ss_family, AF_INET6);
  EXPECT_EQ((*a)[1].ss_family, AF_INET);
  EXPECT_TRUE(resolve_locally("db.localhost", 80));
  EXPECT_TRUE(resolve_locally("192.0.2.1", 80));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_FALSE(resolve_locally("example.com", 80));
}
