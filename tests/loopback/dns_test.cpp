// c-ares on the loop against a small DNS server this test runs on 127.0.0.1:
// names that exist, names that don't, a server that never answers.
#include "harness.hpp"

#include "dns/resolver.hpp"
#include "http/responder.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

// Answers A queries for names ending in ".test." with 127.0.0.1 and NXDOMAIN for
// the rest; AAAA gets an empty answer. mute = true drops every query.
class TinyDnsServer {
 public:
  TinyDnsServer(Loop& loop, bool mute = false) : mute_(mute), udp_(new uv_udp_t) {
    uv_udp_init(loop.get(), udp_);
    udp_->data = this;
    auto addr = loopback4();
    EXPECT_EQ(uv_udp_bind(udp_, reinterpret_cast<sockaddr*>(&addr), 0), 0);
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

 private:
  void answer(const char* q, size_t n, const sockaddr* from) {
    ++queries;
    if (mute_ || n < 17) return;
    // The question: labels, then type and class.
    size_t at = 12;
    std::string name;
    while (at < n && q[at] != 0) {
      size_t len = size_t(uint8_t(q[at]));
      name.append(q + at + 1, std::min(len, n - at - 1)).append(".");
      at += len + 1;
    }
    size_t qend = at + 5;
    if (qend > n) return;
    uint16_t qtype = uint16_t(uint8_t(q[at + 1]) << 8 | uint8_t(q[at + 2]));
    bool known = name.size() > 6 && name.ends_with(".test.");
    bool a = known && qtype == 1;

    std::string r(q, qend);
    r[2] = char(0x81);                 // response, recursion desired
    r[3] = char(known ? 0x80 : 0x83);  // recursion available; NXDOMAIN if unknown
    r[6] = 0, r[7] = a ? 1 : 0;        // answers
    r[8] = r[9] = r[10] = r[11] = 0;
    if (a) r += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 16);
    auto* req = new uv_udp_send_t;
    auto* copy = new std::string(std::move(r));
    req->data = copy;
    uv_buf_t buf = uv_buf_init(copy->data(), unsigned(copy->size()));
    uv_udp_send(req, udp_, &buf, 1, from, [](uv_udp_send_t* s, int) {
      delete static_cast<std::string*>(s->data);
      delete s;
    });
  }

  bool mute_;
  uv_udp_t* udp_;
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

TEST_F(DnsTest, ResolvesThroughOurServerAndTimesIt) {
  {
    TinyDnsServer dns(loop);
    Responder::Options ro;
    ro.addresses = {"127.0.0.1"};
    ro.location = "Named";
    Responder responder(loop, ro, [] { return "{}"; });
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
