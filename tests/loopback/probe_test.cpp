// The prober against real sockets on loopback: our responder, a closed port, a
// server that stalls, one that closes mid-body, several peers at once.
#include "harness.hpp"
#include "test_routes.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dns/resolver.hpp"
#include "http/responder.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

Responder::Options local_responder() {
  Responder::Options o;
  o.addresses = {"127.0.0.1", "::1"};
  return o;
}

PeerSettings every(uint64_t delay_ms, int limit = 0, int max_failures = 100) {
  PeerSettings s;
  s.delay_ms = delay_ms;
  s.limit = limit;
  s.max_failures = max_failures;
  return s;
}

uint64_t start_now = 0;  // peers in these tests start at once, not after the usual 1 s

}  // namespace

class ProbeTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }

  Loop loop;
};

TEST_F(ProbeTest, ProbesOurResponder) {
  {
    TestRoutes responder_routes("Chicago,US", [] { return "{}"; });
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver,
              url("http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping"),
              every(20, 3), {}, rec, 1);
    uint64_t previous_ns = mono_ns();
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));

    ASSERT_EQ(rec.samples.size(), 3u);
    for (const auto& e : rec.samples) {
      const Sample& s = e.sample;
      EXPECT_TRUE(s.ok()) << to_string(s.reason);
      EXPECT_EQ(s.http_code, 200);
      EXPECT_EQ(s.size, 116u);
      EXPECT_EQ(s.location, "Chicago,US");
      EXPECT_EQ(s.remote_addr, "127.0.0.1");
      EXPECT_EQ(s.t.dns, 0u) << "an IP literal takes no DNS time";
      EXPECT_GT(s.t.tcp, 0u);
      EXPECT_EQ(s.t.tls, 0u);
      EXPECT_GT(s.t.first, 0u);
      // By the test's own clock: each probe ran after the previous sample, before its own.
      EXPECT_LE(s.t.dns + s.t.total, e.at_ns - previous_ns);
      previous_ns = e.at_ns;
      EXPECT_LT(s.t.total, 1000000000u);
      EXPECT_TRUE(s.kernel_phases & kKernelTcp);
    }
    EXPECT_EQ(peer.totals().successes, 3);
    EXPECT_EQ(peer.location(), "Chicago,US");
    EXPECT_EQ(responder.counters().requests, 3u);
  }
}

// Between probes a peer holds no probe (timers, parser, sample): its PeerTimers frees an
// ended one on a later turn, never inside its callback, and the next tick makes a new
// one. Peers sharing one PeerTimers share its one uv timer.
TEST_F(ProbeTest, AnIdlePeerHoldsNoProbe) {
  {
    TestRoutes responder_routes("Here");
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    PeerTimers timers(loop);
    Recorder rec;
    std::string u = "http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping";
    Peer peer(loop, resolver, url(u), every(100), {}, rec, 1, &timers);
    peer.start(start_now);
    EXPECT_EQ(timers.armed(), 1u);
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.samples.size() == 1 && !peer.holds_probe(); }, 3000))
        << "the ended probe is freed before the next tick (100 ms later)";
    EXPECT_EQ(timers.probes_to_free(), 0u);
    EXPECT_EQ(timers.armed(), 1u) << "the next tick";
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.samples.size() >= 3; }, 3000));
    for (const auto& e : rec.samples) EXPECT_TRUE(e.sample.ok()) << to_string(e.sample.reason);
    EXPECT_EQ(peer.location(), "Here") << "learned from the first reply, kept without it";
    EXPECT_EQ(peer.peer_ip(), "127.0.0.1");
    peer.stop();
    EXPECT_EQ(timers.armed(), 0u);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 3000));
    EXPECT_EQ(size_t(peer.totals().successes), rec.samples.size());
    EXPECT_FALSE(peer.busy());
    PeerTotals sum = peer.summary();  // the strings a running peer holds once, filled in
    EXPECT_EQ(sum.peer, u);
    EXPECT_EQ(sum.url, u);
    EXPECT_EQ(sum.location, "Here");
    EXPECT_EQ(size_t(sum.successes), rec.samples.size());

    // A peer freed before its tick or the freeing of its probe is forgotten, not called.
    auto other =
        std::make_unique<Peer>(loop, resolver, url(u), every(100), ProbeLimits{}, rec, 2, &timers);
    other->start(1'000'000);
    timers.free_probe_later(*other);
    EXPECT_EQ(timers.armed(), 1u);
    other.reset();
    EXPECT_EQ(timers.armed(), 0u);
    EXPECT_EQ(timers.probes_to_free(), 0u);
    run_for(loop, 20);
  }
}

// An ended probe is kept as a spare for the next tick of any peer on the same PeerTimers
// (no probe and uv timers made again each round): used again by another peer, it says
// only what that peer's own round did, and the spares stay few.
TEST_F(ProbeTest, ASpareProbeServesAnotherPeerCleanly) {
  {
    TestRoutes responder_routes("Here");
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    uint16_t closed = 0;
    {
      TcpListener l(loop, [](TcpListener&) {});
      auto a = loopback4();
      ASSERT_EQ(l.listen(reinterpret_cast<sockaddr*>(&a)), 0);
      closed = uint16_t(l.port());
    }
    Resolver resolver(loop, {});
    PeerTimers timers(loop);
    Recorder rec;
    std::string good = "http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping";
    std::string bad = "http://127.0.0.1:" + std::to_string(closed) + "/v1/ping";
    Peer a(loop, resolver, url(good), every(30), {}, rec, 1, &timers);
    Peer b(loop, resolver, url(bad), every(30), {}, rec, 2, &timers);
    a.start(start_now);
    b.start(15'000'000);
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.of(a).size() >= 4 && rec.of(b).size() >= 4; }, 5000));
    EXPECT_GE(timers.spares_taken(), 4u) << "no probe was used again";
    EXPECT_LE(timers.spares(), 4u);
    for (const auto& e : rec.of(a)) {
      EXPECT_EQ(e.sample.url, good);
      EXPECT_TRUE(e.sample.ok()) << to_string(e.sample.reason);
      EXPECT_EQ(e.sample.http_code, 200);
      EXPECT_EQ(e.sample.location, "Here");
    }
    for (const auto& e : rec.of(b)) {
      EXPECT_EQ(e.sample.url, bad);
      EXPECT_EQ(e.sample.reason, FailureReason::connect_refused);
      EXPECT_EQ(e.sample.http_code, 502);
      EXPECT_EQ(e.sample.location, "unknown");
      EXPECT_EQ(e.sample.size, 0u);
      EXPECT_EQ(e.sample.t.first, 0u) << "a first byte from the round before";
    }
    a.stop();
    b.stop();
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.ended.size() == 2; }, 3000));
    run_for(loop, 60);
    EXPECT_FALSE(a.holds_probe() || b.holds_probe());
    EXPECT_GE(timers.spares(), 1u) << "the ended probes are kept, up to the bound";
  }
}

// Many peers on one PeerTimers tick in due order, each on its own grid, stopped ones not.
TEST_F(ProbeTest, PeersSharingTimersEachKeepTheirSchedule) {
  {
    TestRoutes responder_routes("Here");
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    PeerTimers timers(loop);
    Recorder rec;
    std::string u = "http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping?n=";
    std::vector<std::unique_ptr<Peer>> peers;
    const uint64_t delays[] = {40, 70, 110, 1000};
    for (size_t i = 0; i < std::size(delays); ++i) {
      peers.push_back(std::make_unique<Peer>(loop, resolver, url(u + std::to_string(i)),
                                             every(delays[i]), ProbeLimits{}, rec, i + 1, &timers));
      peers.back()->start(delays[i] * 1'000'000 / 2);
    }
    peers[3]->stop();  // never ticks: no sample, ended at once
    run_for(loop, 600);
    for (auto& p : peers) p->stop();
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.ended.size() == peers.size(); }, 3000));
    for (size_t i = 0; i < 3; ++i) {
      auto mine = rec.of(*peers[i]);
      // About 600 / delay probes after a first at half a delay; a loaded machine may skip.
      size_t want = size_t((600 - delays[i] / 2) / delays[i]) + 1;
      EXPECT_GE(mine.size() + 2, want) << "peer " << i;
      EXPECT_LE(mine.size(), want + 1) << "peer " << i;
      for (size_t k = 1; k < mine.size(); ++k)  // never two ticks close together
        EXPECT_GT(mine[k].at_ns - mine[k - 1].at_ns, delays[i] * 1'000'000 / 2) << "peer " << i;
    }
    EXPECT_TRUE(rec.of(*peers[3]).empty());
    EXPECT_EQ(timers.armed(), 0u);
  }
}

// Answers the request after hold_ms, the body's end hold_ms later: the server's own
// schedule, which the probe's First and LastB must show.
class SlowServer {
 public:
  SlowServer(Loop& loop, uint64_t hold_ms)
      : loop_(loop), hold_ms_(hold_ms), listener_(loop, [this](TcpListener& l) { accept(l); }) {
    auto addr = loopback4();
    EXPECT_EQ(listener_.listen(reinterpret_cast<sockaddr*>(&addr)), 0);
  }
  int port() const { return listener_.port(); }

 private:
  struct Conn : TcpStream::Events {
    Conn(SlowServer& s) : server(s), stream(s.loop_, *this), later(s.loop_, [this] { step(); }) {}
    void on_read(int status, const char*, size_t, uint64_t) noexcept override {
      if (status != 0 || step_ != 0) return;
      step_ = 1;
      later.start(server.hold_ms_);
    }
    void step() {
      if (step_ == 1) {
        stream.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
        step_ = 2;
        later.start(server.hold_ms_);
      } else {
        stream.write("56789");
        stream.shutdown();
      }
    }
    SlowServer& server;
    TcpStream stream;
    Timer later;
    int step_ = 0;
  };
  void accept(TcpListener& l) {
    conns_.push_back(std::make_unique<Conn>(*this));
    l.accept(conns_.back()->stream);
    conns_.back()->stream.start_reading();
  }

  Loop& loop_;
  uint64_t hold_ms_;
  TcpListener listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

TEST_F(ProbeTest, PhasesShowTheServersOwnSchedule) {
  {
    const uint64_t hold_ms = 60;
    SlowServer server(loop, hold_ms);
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
              every(20, 1), {}, rec, 1);
    uint64_t began = mono_ns();
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), 1u);
    const Sample& s = rec.samples[0].sample;
    ASSERT_TRUE(s.ok()) << to_string(s.reason);
    EXPECT_EQ(s.size, 10u);
    // The server's timers count in libuv's cached milliseconds: up to 2 ms early by ours.
    const uint64_t hold = hold_ms * 1000000, early = 2000000, slack = 40000000;
    EXPECT_GE(s.t.first, hold - early) << "the server held the answer";
    EXPECT_LT(s.t.first, hold + slack);
    EXPECT_GE(s.t.lastb, hold - early) << "and then the body's end";
    EXPECT_LT(s.t.lastb, hold + slack);
    EXPECT_GE(s.t.total, 2 * (hold - early));
    EXPECT_LE(s.t.total, rec.samples[0].at_ns - began) << "within the test's own clock";
  }
}

TEST_F(ProbeTest, LocalhostTriesIPv6ThenIPv4) {
  {
    // Listen on 127.0.0.1 only: ::1 is refused and the probe moves on to IPv4.
    Responder::Options o = local_responder();
    o.addresses = {"127.0.0.1"};
    TestRoutes responder_routes("Here", [] { return "{}"; });
    Responder responder(loop, o, responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver,
              url("http://localhost:" + std::to_string(responder.port()) + "/v1/ping"),
              every(20, 1), {}, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), 1u);
    EXPECT_TRUE(rec.samples[0].sample.ok()) << to_string(rec.samples[0].sample.reason);
    EXPECT_EQ(rec.samples[0].sample.remote_addr, "127.0.0.1");
  }
}

TEST_F(ProbeTest, ClosedPortIsConnectRefused) {
  {
    uint16_t port;
    {
      // Find a port nobody listens on: bind, read the port, close.
      TcpListener l(loop, [](TcpListener&) {});
      auto a = loopback4();
      ASSERT_EQ(l.listen(reinterpret_cast<sockaddr*>(&a)), 0);
      port = uint16_t(l.port());
    }
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(port) + "/v1/ping"),
              every(20, 0, 2), {}, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), 2u) << "the peer ends at its failure limit";
    const Sample& s = rec.samples[0].sample;
    EXPECT_EQ(s.reason, FailureReason::connect_refused);
    EXPECT_EQ(s.http_code, 502);
    EXPECT_EQ(s.location, "unknown");
    EXPECT_EQ(s.t.first, 0u);
    EXPECT_EQ(s.t.lastb, 0u);
    EXPECT_EQ(s.t.total, 0u);
    EXPECT_GT(s.t.tcp, 0u) << "the refused connect's own time";
    EXPECT_LT(s.t.tcp, 100000000u);
    EXPECT_EQ(peer.totals().failures, 2);
  }
}

TEST_F(ProbeTest, StallIsReadTimeoutAndOtherPeersKeepTheirSchedule) {
  {
    ScriptedServer stall(loop, ScriptedServer::Mode::stall);
    TestRoutes responder_routes("Fast", [] { return "{}"; });
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    Recorder rec;
    ProbeLimits limits;
    limits.timeout_ms = 400;
    Peer slow(loop, resolver, url("http://127.0.0.1:" + std::to_string(stall.port()) + "/x"),
              every(100), limits, rec, 1);
    Peer fast(loop, resolver,
              url("http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping"), every(50),
              limits, rec, 2);
    slow.start(start_now);
    fast.start(start_now);
    run_for(loop, 1000);

    auto slow_samples = rec.of(slow);
    ASSERT_GE(slow_samples.size(), 1u);
    for (const auto& e : slow_samples) {
      EXPECT_EQ(e.sample.reason, FailureReason::read_timeout);
      EXPECT_GE(e.sample.t.first, 390000000u) << "the failing phase shows the time spent";
      EXPECT_LT(e.sample.t.first, 600000000u) << "the timeout bounds the probe";
      EXPECT_EQ(e.sample.t.lastb, 0u);
      EXPECT_EQ(e.sample.t.total, 0u) << "no response, no Total";
    }
    EXPECT_GT(slow.skipped_ticks(), 0u) << "ticks due while a probe runs are skipped, not queued";

    auto fast_samples = rec.of(fast);
    ASSERT_GE(fast_samples.size(), 15u);
    for (size_t i = 1; i < fast_samples.size(); ++i) {
      uint64_t gap = fast_samples[i].at_ns - fast_samples[i - 1].at_ns;
      EXPECT_LT(gap, 100000000u) << "a stalled peer must not delay another";
      EXPECT_TRUE(fast_samples[i].sample.ok());
    }
    slow.cancel();
  }
}

TEST_F(ProbeTest, CloseMidBody) {
  {
    ScriptedServer server(loop, ScriptedServer::Mode::close_mid_body);
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
              every(20, 0, 1), {}, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), 1u);
    const Sample& s = rec.samples[0].sample;
    EXPECT_EQ(s.reason, FailureReason::closed_early);
    EXPECT_EQ(s.http_code, 502);
    EXPECT_GT(s.t.first, 0u) << "the first byte did arrive";
    EXPECT_EQ(s.t.total, 0u);
  }
}

TEST_F(ProbeTest, GarbageIsHttpParseAndErrorStatusIsHttpStatus) {
  {
    ScriptedServer garbage(loop, ScriptedServer::Mode::answer_raw, "SSH-2.0-OpenSSH\r\n");
    ScriptedServer missing(loop, ScriptedServer::Mode::answer_raw,
                           "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n");
    ScriptedServer eof_body(loop, ScriptedServer::Mode::answer_raw,
                            "HTTP/1.0 200 OK\r\n\r\nbody until close");
    Resolver resolver(loop, {});
    Recorder rec;
    Peer a(loop, resolver, url("http://127.0.0.1:" + std::to_string(garbage.port()) + "/"),
           every(20, 0, 1), {}, rec, 1);
    Peer b(loop, resolver, url("http://127.0.0.1:" + std::to_string(missing.port()) + "/"),
           every(20, 0, 1), {}, rec, 2);
    Peer c(loop, resolver, url("http://127.0.0.1:" + std::to_string(eof_body.port()) + "/"),
           every(20, 1), {}, rec, 3);
    a.start(start_now);
    b.start(start_now);
    c.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.ended.size() == 3; }, 5000));
    EXPECT_EQ(rec.of(a).at(0).sample.reason, FailureReason::http_parse);
    EXPECT_EQ(rec.of(b).at(0).sample.reason, FailureReason::http_status);
    EXPECT_EQ(rec.of(b).at(0).sample.http_code, 404);
    EXPECT_EQ(rec.of(b).at(0).sample.size, 3u);
    EXPECT_TRUE(rec.of(c).at(0).sample.ok());
    EXPECT_EQ(rec.of(c).at(0).sample.size, 16u) << "a body delimited by close is complete";
  }
}

TEST_F(ProbeTest, ManyPeersAtOnce) {
  {
    const int n = 50;
    TestRoutes responder_routes("Mesh", [] { return "{}"; });
    // All n probes come from 127.0.0.1 at once: over the default bound of connections per
    // client, the responder would rightly reset the oldest idle ones (a loaded machine
    // leaves accepted connections idle longer). This test is about the prober.
    Responder::Options options = local_responder();
    options.max_connections_per_client = n + 8;
    Responder responder(loop, options, responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    Recorder rec;
    std::vector<std::unique_ptr<Peer>> peers;
    for (int i = 0; i < n; ++i) {
      peers.push_back(std::make_unique<Peer>(
          loop, resolver, url("http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping"),
          every(30, 4), ProbeLimits{}, rec, uint64_t(i)));
      peers.back()->start(uint64_t(i) * 100000);  // spread by 0.1 ms
    }
    ASSERT_TRUE(run_until(
        loop, [&] { return rec.ended.size() == size_t(n); }, 10000));
    EXPECT_EQ(rec.samples.size(), size_t(4 * n));
    for (const auto& e : rec.samples) EXPECT_TRUE(e.sample.ok()) << to_string(e.sample.reason);
  }
}

// A listener whose accept queue is full drops new SYNs: a black hole on loopback,
// made with plain sockets outside the loop.
class BlackHole {
 public:
  // Binds family's loopback address at port (0: any port).
  BlackHole(int family, uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len;
    if (family == AF_INET6) {
      uv_ip6_addr("::1", port, reinterpret_cast<sockaddr_in6*>(&ss));
      len = sizeof(sockaddr_in6);
    } else {
      uv_ip4_addr("127.0.0.1", port, reinterpret_cast<sockaddr_in*>(&ss));
      len = sizeof(sockaddr_in);
    }
    auto* sa = reinterpret_cast<sockaddr*>(&ss);
    listener_ = socket(family, SOCK_STREAM, 0);
    EXPECT_GE(listener_, 0);
    EXPECT_EQ(bind(listener_, sa, len), 0) << strerror(errno);
    EXPECT_EQ(listen(listener_, 0), 0);
    getsockname(listener_, sa, &len);
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    for (int i = 0; i < 4; ++i) {
      int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect(s, sa, len);
      fillers_.push_back(s);
    }
  }
  ~BlackHole() {
    for (int s : fillers_) close(s);
    close(listener_);
  }
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

TEST_F(ProbeTest, BlackHoleIsConnectTimeoutInBoundedTime) {
  BlackHole hole(AF_INET, 0);
  {
    Resolver resolver(loop, {});
    Recorder rec;
    ProbeLimits limits;
    limits.connect_timeout_ms = 300;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(hole.port()) + "/"),
              every(50, 0, 1), limits, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    const Sample& s = rec.samples.at(0).sample;
    EXPECT_EQ(s.reason, FailureReason::connect_timeout);
    EXPECT_GE(s.t.tcp, 290000000u);
    EXPECT_LT(s.t.tcp, 600000000u);
    EXPECT_EQ(s.t.first, 0u);
  }
}

// localhost is ::1 then 127.0.0.1. With ::1 black-holed, the probe starts 127.0.0.1
// after the connection attempt delay (250 ms) and keeps it, long before the connect
// timeout; TCP counts from DNS done, the wait on ::1 included, as the original's.
TEST_F(ProbeTest, BlackHoledFirstAddressFallsBackToTheNext) {
  {
    Responder::Options o = local_responder();
    o.addresses = {"127.0.0.1"};
    TestRoutes responder_routes("Second", [] { return "{}"; });
    Responder responder(loop, o, responder_routes.table);
    responder.start();
    BlackHole hole(AF_INET6, uint16_t(responder.port()));
    Resolver resolver(loop, {});
    Recorder rec;
    ProbeLimits limits;
    limits.connect_timeout_ms = 2000;
    Peer peer(loop, resolver,
              url("http://localhost:" + std::to_string(responder.port()) + "/v1/ping"),
              every(20, 2), limits, rec, 1);
    uint64_t began = mono_ns();
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 10000));
    uint64_t took = mono_ns() - began;
    ASSERT_EQ(rec.samples.size(), 2u);
    for (const auto& e : rec.samples) {
      const Sample& s = e.sample;
      EXPECT_TRUE(s.ok()) << to_string(s.reason);
      EXPECT_EQ(s.remote_addr, "127.0.0.1");
      EXPECT_EQ(s.location, "Second");
      EXPECT_GE(s.t.tcp, 240000000u) << "the second address starts after the attempt delay";
      EXPECT_LT(s.t.tcp, 600000000u) << "and not at the connect timeout";
    }
    EXPECT_LT(took, 1500000000u) << "two probes, each about 250 ms";
    EXPECT_EQ(responder.counters().requests, 2u);
  }
}

// Accepts, then closes with RST (SO_LINGER 0): the connection was made, so the probe
// reports `reset`, whether the RST beats the connect callback or the first read.
class ResettingServer {
 public:
  explicit ResettingServer(Loop& loop)
      : loop_(loop), listener_(loop, [this](TcpListener& l) { accept(l); }) {
    auto addr = loopback4();
    EXPECT_EQ(listener_.listen(reinterpret_cast<sockaddr*>(&addr)), 0);
  }
  int port() const { return listener_.port(); }
  int accepted = 0;

 private:
  struct Nothing : TcpStream::Events {
    void on_read(int, const char*, size_t, uint64_t) noexcept override {}
  };
  void accept(TcpListener& l) {
    TcpStream conn(loop_, nothing_);
    if (l.accept(conn) == 0) ++accepted;
    conn.reset();
  }
  Loop& loop_;
  Nothing nothing_;
  TcpListener listener_;
};

TEST_F(ProbeTest, AcceptThenResetIsReset) {
  {
    ResettingServer server(loop);
    Resolver resolver(loop, {});
    Recorder rec;
    const int n = 13;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
              every(10, 0, n), {}, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    ASSERT_EQ(rec.samples.size(), size_t(n));
    for (const auto& e : rec.samples) {
      EXPECT_EQ(to_string(e.sample.reason), "reset");
      EXPECT_EQ(e.sample.remote_addr, "127.0.0.1") << "the server was reached";
    }
    EXPECT_EQ(server.accepted, n);
  }
}

// Shutdown closes our listener while a probe of ourselves is in flight: the reset that
// follows is our own doing, so the probe counts as cancelled, not as a failure.
TEST_F(ProbeTest, ProbeBrokenByOurOwnStopIsNoFailure) {
  {
    TestRoutes responder_routes("Self", [] { return "{}"; });
    Responder responder(loop, local_responder(), responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver,
              url("http://127.0.0.1:" + std::to_string(responder.port()) + "/v1/ping"), every(20),
              {}, rec, 1);
    peer.start(start_now);
    // Due in the same loop turn as the peer's first tick, so it runs just after the probe
    // has sent its SYN and before the connection is accepted. The daemon's stop order:
    // peers first, listeners once they are idle (stop_listening here would reset it).
    Timer shutdown(loop, [&] {
      ASSERT_TRUE(peer.busy());
      peer.stop();
    });
    shutdown.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    for (const auto& e : rec.samples)
      EXPECT_TRUE(e.sample.ok()) << "recorded " << to_string(e.sample.reason);
    EXPECT_EQ(peer.totals().failures, 0);
  }
}

// The grace timer cancels a probe still stalled at shutdown: no sample, no failure.
TEST_F(ProbeTest, ProbeCancelledAtShutdownIsNoFailure) {
  {
    ScriptedServer stall(loop, ScriptedServer::Mode::stall);
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(stall.port()) + "/"),
              every(20), {}, rec, 1);
    peer.start(start_now);
    ASSERT_TRUE(run_until(
        loop, [&] { return stall.accepted() == 1; }, 5000));
    run_for(loop, 20);  // the request is out; the probe waits for an answer
    peer.stop();
    ASSERT_TRUE(peer.busy());
    EXPECT_TRUE(rec.ended.empty()) << "a probe in flight may still finish";
    peer.cancel();
    EXPECT_EQ(rec.ended.size(), 1u);
    run_for(loop, 50);
    EXPECT_TRUE(rec.samples.empty());
    EXPECT_EQ(peer.totals().failures, 0);
  }
}
