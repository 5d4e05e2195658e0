// The responder's fairness bounds, over real sockets from several loopback addresses:
// per-client connection slots, eviction of idle connections only, the first-byte timeout,
// and the bytes that answers not yet read may hold.
#include <fstream>

#include "harness.hpp"
#include "http/responder.hpp"
#include "raw_client.hpp"
#include "test_routes.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

Responder::Options options() {
  Responder::Options o;
  o.addresses = {"127.0.0.1"};
  return o;
}

const char kPing[] = "GET /v1/ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
const char kPeers[] = "GET /v1/peers HTTP/1.1\r\nHost: a\r\n\r\n";

}  // namespace

class ResponderBoundsTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }

  // Opens n connections from one address, one at a time so their age is known.
  void open(Responder& r, std::vector<std::unique_ptr<RawClient>>& into, size_t n, const char* from,
            const std::string& send = "", bool read = true) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t before = r.counters().connections;
      into.push_back(std::make_unique<RawClient>(loop, r.port(), send, false, read, from));
      ASSERT_TRUE(run_until(
          loop, [&] { return r.counters().connections == before + 1; }, 3000));
    }
  }

  Loop loop;
};

// One address past its own bound loses its oldest idle connection, not the newcomer.
TEST_F(ResponderBoundsTest, PerClientBoundEvictsTheOldestIdle) {
  {
    Responder::Options o = options();
    o.max_connections_per_client = 3;
    TestRoutes r_routes("", [] { return "{}"; });
    Responder r(loop, o, r_routes.table);
    r.start();
    std::vector<std::unique_ptr<RawClient>> idle;
    open(r, idle, 5, "127.0.0.3");
    run_for(loop, 20);
    EXPECT_EQ(r.open_connections(), 3u);
    EXPECT_EQ(r.counters().evicted_connections, 2u);
    EXPECT_TRUE(idle[0]->closed && idle[1]->closed) << "the oldest went first";
    EXPECT_FALSE(idle[2]->closed || idle[3]->closed || idle[4]->closed);
    RawClient other(loop, r.port(), kPing, false, true, "127.0.0.2");
    ASSERT_TRUE(run_until(
        loop, [&] { return other.closed; }, 3000));
    EXPECT_EQ(other.received.substr(0, 15), "HTTP/1.1 200 OK");
    EXPECT_EQ(r.counters().evicted_connections, 2u) << "another address has its own slots";
  }
}

// A connection that has never completed a request goes before an idle keep-alive one,
// however old that one is.
TEST_F(ResponderBoundsTest, NeverAnsweredGoesBeforeKeepAlive) {
  {
    Responder::Options o = options();
    o.max_connections_per_client = 3;
    TestRoutes r_routes("", [] { return "{}"; });
    Responder r(loop, o, r_routes.table);
    r.start();
    std::vector<std::unique_ptr<RawClient>> c;
    open(r, c, 1, "127.0.0.3", "GET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 1; }, 3000));
    open(r, c, 3, "127.0.0.3");
    run_for(loop, 20);
    EXPECT_FALSE(c[0]->closed) << "the answered keep-alive connection stays";
    EXPECT_TRUE(c[1]->closed) << "the oldest that never sent a request went";
    EXPECT_FALSE(c[2]->closed || c[3]->closed);
  }
}

// Connections being answered are never evicted: with nothing idle, the newcomer is refused.
TEST_F(ResponderBoundsTest, BusyConnectionsAreNotEvicted) {
  {
    Responder::Options o = options();
    o.max_connections = 2;
    const std::string big(32 << 20, 'x');  // more than loopback socket buffers take
    TestRoutes r_routes("", [&] { return big; });
    Responder r(loop, o, r_routes.table);
    r.start();
    std::vector<std::unique_ptr<RawClient>> busy;
    open(r, busy, 2, "127.0.0.3", kPeers, /*read=*/false);
    run_for(loop, 50);
    RawClient later(loop, r.port(), kPing, false, true, "127.0.0.2");
    ASSERT_TRUE(run_until(
        loop, [&] { return later.closed; }, 3000));
    EXPECT_EQ(later.received, "");
    EXPECT_EQ(r.counters().rejected_connections, 1u);
    EXPECT_EQ(r.counters().evicted_connections, 0u);
    EXPECT_FALSE(busy[0]->closed || busy[1]->closed);
  }
}

// A connection that says nothing is closed after the short first-byte timeout; one that
// has begun a request gets the longer header timeout.
TEST_F(ResponderBoundsTest, FirstByteTimeoutClosesSilentConnections) {
  {
    Responder::Options o = options();
    o.first_byte_timeout_ms = 100;
    o.header_timeout_ms = 5000;
    TestRoutes r_routes("", [] { return "{}"; });
    Responder r(loop, o, r_routes.table);
    r.start();
    RawClient silent(loop, r.port(), "");
    RawClient started(loop, r.port(), "GET /v1/ping HTTP/1.1\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return silent.closed; }, 1000))
        << "a silent connection outlived the first-byte timeout";
    run_for(loop, 200);
    EXPECT_FALSE(started.closed) << "a request in progress has the header timeout";
    EXPECT_EQ(r.counters().timeouts, 1u);
  }
}

// Each request of a keep-alive connection has its own header timeout from its start,
// whether it came with the last one's bytes or later, and dribbling bytes do not extend it.
TEST_F(ResponderBoundsTest, HeaderTimeoutRunsForEveryKeepAliveRequest) {
  {
    Responder::Options o = options();
    o.header_timeout_ms = 200;
    o.idle_timeout_ms = 30000;
    TestRoutes r_routes("", [] { return "{}"; });
    Responder r(loop, o, r_routes.table);
    r.start();
    // The second request's start comes with the first request.
    RawClient along(loop, r.port(), std::string(kPeers) + "GET /v1/ping HTTP/1.1\r\n");
    // The second request's bytes come later, one every 50 ms.
    RawClient later(loop, r.port(), kPeers);
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 2; }, 3000));
    uint64_t start = mono_ns();
    const std::string dribble = "GET /v1/ping HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaa";
    for (size_t i = 0; i < dribble.size() && !later.closed; ++i) {
      later.send(dribble.substr(i, 1));
      run_for(loop, 50);
    }
    ASSERT_TRUE(run_until(
        loop, [&] { return along.closed && later.closed; }, 3000));
    EXPECT_LT(mono_ns() - start, 2500ull * 1000000) << "closed by the header timeout, not idle";
    EXPECT_EQ(r.counters().timeouts, 2u);
    EXPECT_EQ(r.counters().requests, 2u);
  }
}

// With TCP_DEFER_ACCEPT, a connection that says nothing stays in the kernel for about a
// second (it takes no slot of ours), then is accepted and closed by the first-byte
// timeout; one that sends its request is accepted and answered at once.
TEST_F(ResponderBoundsTest, DeferredAcceptLeavesSilentConnectionsToTheKernel) {
  {
    // The responder asks for deferred accepts only with SYN cookies on (see Options).
    std::ifstream cookies("/proc/sys/net/ipv4/tcp_syncookies");
    int on = 0;
    if (!(cookies >> on) || on == 0) GTEST_SKIP() << "tcp_syncookies is 0: no deferred accepts";
    Responder::Options o = options();
    o.defer_accept = true;
    o.first_byte_timeout_ms = 100;
    TestRoutes r_routes("", [] { return "{}"; });
    Responder r(loop, o, r_routes.table);
    r.start();
    RawClient silent(loop, r.port(), "");
    RawClient asking(loop, r.port(), kPing);
    ASSERT_TRUE(run_until(
        loop, [&] { return asking.closed; }, 3000));
    EXPECT_EQ(asking.received.substr(0, 15), "HTTP/1.1 200 OK");
    EXPECT_EQ(r.counters().connections, 1u) << "the silent one is not ours yet";
    EXPECT_TRUE(silent.connected) << "its handshake is done: the kernel holds it";
    ASSERT_TRUE(run_until(
        loop, [&] { return silent.closed; }, 8000))
        << "accepted when the kernel stops waiting, then closed by the first-byte timeout";
    EXPECT_EQ(r.counters().connections, 2u);
    EXPECT_EQ(r.counters().timeouts, 1u);
  }
}

// Clients that ask for /v1/peers and never read hold old versions of it; past the bound
// the newest held version is served again instead of building (and holding) another.
TEST_F(ResponderBoundsTest, UnreadAnswersHoldABoundedNumberOfBytes) {
  {
    Responder::Options o = options();
    const size_t max_held = 3 * (32 << 20);
    int builds = 0;
    TestRoutes r_routes(
        "",
        [&] {
          ++builds;
          return std::string(32 << 20, char('a' + builds % 26));
        },
        /*peers_max_age_ms=*/0, max_held);  // a new version for every request, unless held back
    Responder r(loop, o, r_routes.table);
    r.start();
    std::vector<std::unique_ptr<RawClient>> unread;
    open(r, unread, 8, "127.0.0.3", kPeers, /*read=*/false);
    run_for(loop, 100);
    EXPECT_LE(r_routes.peers.held_bytes(), max_held);
    EXPECT_LE(builds, 3);
    EXPECT_GE(r_routes.peers.held_back(), 5u);
    for (auto& c : unread) c->start_reading();
    ASSERT_TRUE(run_until(
        loop,
        [&] {
          for (auto& c : unread)
            if (c->received.size() < (32u << 20)) return false;
          return true;
        },
        20000))
        << "every client gets its whole answer in the end";
  }
}
