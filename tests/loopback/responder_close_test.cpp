// How the responder ends a connection after its last answer: at once when the client
// asked to close and sent nothing more, after the client's FIN otherwise; the whole answer
// arrives either way, and never as a reset.
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

const std::string kPing = "GET /v1/ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

// The body of an answer: what follows the head.
std::string body_of(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : answer.substr(at + 4);
}

}  // namespace

class ResponderCloseTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }
  Loop loop;
};

// The client says Connection: close and keeps its side open: the connection is gone as
// soon as the answer is out, not after a linger for the client's FIN.
TEST_F(ResponderCloseTest, ClosedOnceAnsweredWhenTheClientAskedToClose) {
  {
    TestRoutes routes("Chicago,US");
    Responder r(loop, options(), routes.table);
    r.start();
    RawClient c(loop, r.port(), kPing);
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    EXPECT_EQ(c.end, UV_EOF) << "a FIN, not a reset";
    EXPECT_EQ(body_of(c.received), ping_page("Chicago,US"));
    EXPECT_TRUE(run_until(
        loop, [&] { return r.open_connections() == 0; }, 300))
        << "closed at once (the linger for the client's FIN is 1 s)";
    // HTTP/1.0 without keep-alive says the same.
    RawClient old(loop, r.port(), "GET /v1/ping HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return old.closed; }, 3000));
    EXPECT_EQ(old.end, UV_EOF);
    EXPECT_TRUE(run_until(
        loop, [&] { return r.open_connections() == 0; }, 300));
  }
}

// An answer far larger than the socket buffers, to a client that reads it late: the
// close waits until every byte is in the kernel, and the client gets them all.
TEST_F(ResponderCloseTest, ALargeAnswerArrivesWholeBeforeTheClose) {
  {
    const std::string big(4 << 20, 'p');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder r(loop, options(), routes.table);
    r.start();
    RawClient c(loop, r.port(), "GET /v1/peers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                false, /*read=*/false);
    run_for(loop, 200);
    EXPECT_EQ(r.open_connections(), 1u) << "the answer is still being written";
    c.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 10000));
    EXPECT_EQ(c.end, UV_EOF);
    EXPECT_EQ(body_of(c.received).size(), big.size());
    EXPECT_EQ(body_of(c.received), big);
  }
}

// Bytes after the last request (which a client that asked to close must not send, and a
// broken one does) say that more may come: closing while more arrives would send a reset
// that destroys the answer before the client reads it. So the responder half-closes and
// reads until the client's FIN.
TEST_F(ResponderCloseTest, BytesAfterTheLastRequestMakeItLinger) {
  {
    TestRoutes routes("Chicago,US");
    Responder r(loop, options(), routes.table);
    r.start();
    RawClient c(loop, r.port(), kPing + "GET /v1/", false, /*read=*/false);
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 1; }, 3000));
    run_for(loop, 50);
    c.send("ping HTTP/1.1\r\nHost: a\r\n\r\n");  // to a closed socket, a reset
    run_for(loop, 100);                          // which would be here before the client reads
    EXPECT_EQ(r.open_connections(), 1u) << "lingering for the client's FIN";
    c.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    EXPECT_EQ(c.end, UV_EOF) << "a FIN, not a reset";
    EXPECT_EQ(body_of(c.received), ping_page("Chicago,US"));
    EXPECT_EQ(r.counters().requests, 1u) << "nothing after Connection: close is answered";
  }
}

// A refused request is answered and lingered on too: the rest of what the client sends
// is read and dropped.
TEST_F(ResponderCloseTest, ARefusalLingers) {
  {
    TestRoutes routes("Chicago,US");
    Responder r(loop, options(), routes.table);
    r.start();
    RawClient c(loop, r.port(), "GET /v1/ping HTTP/2.0\r\nHost: a\r\n\r\n", false,
                /*read=*/false);
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().bad_requests == 1; }, 3000));
    run_for(loop, 50);
    c.send("more bytes");
    run_for(loop, 100);
    EXPECT_EQ(r.open_connections(), 1u) << "lingering for the client's FIN";
    c.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    EXPECT_EQ(c.end, UV_EOF) << "a FIN, not a reset";
    EXPECT_EQ(c.received.substr(0, 12), "HTTP/1.1 505");
  }
}

namespace {

// A client with a small receive buffer that stops reading when told, so that the end of
// an answer waits in the server's kernel.
struct SlowReader : TcpStream::Events {
  SlowReader(Loop& loop, int port, const std::string& request) : stream(loop, *this) {
    sockaddr_storage from = loopback4();
    uv_tcp_bind(stream.get(), reinterpret_cast<sockaddr*>(&from), 0);
    int rcvbuf = 8192;
    uv_recv_buffer_size(stream.handle(), &rcvbuf);
    sockaddr_storage to = loopback4(uint16_t(port));
    stream.connect(reinterpret_cast<sockaddr*>(&to));
    request_ = request;
  }
  void on_connect(int status, uint64_t) noexcept override {
    if (status != 0) return;
    stream.write(request_);
    stream.start_reading();
  }
  void on_read(int status, const char* d, size_t n, uint64_t) noexcept override {
    if (status != 0) {
      end = status;
      return;
    }
    received.append(d, n);
    if (received.size() >= pause_at) stream.stop_reading();
  }
  // Reads on until `bytes` have come (then stops again), or to the connection's end.
  bool read_until(Loop& loop, size_t bytes) {
    pause_at = bytes;
    stream.start_reading();
    bool got = run_until(
        loop, [&] { return received.size() >= pause_at; }, 10000);
    run_for(loop, 50);
    return got;
  }
  bool read_to_end(Loop& loop) {
    pause_at = SIZE_MAX;
    stream.start_reading();
    return run_until(
        loop, [&] { return end != 0; }, 5000);
  }
  TcpStream stream;
  std::string received;
  size_t pause_at = SIZE_MAX;
  int end = 0;

 private:
  std::string request_;
};

}  // namespace

// Where the reset really hurts: the end of a large answer still in the server's kernel
// when more bytes come. A socket closed at once answers them with a reset and drops what
// it had not sent; a lingering one reads them and sends the rest.
TEST_F(ResponderCloseTest, MoreBytesDuringTheAnswersEndLoseNothing) {
  {
    const std::string big(1 << 20, 'p');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder::Options o = options();
    o.send_buffer_bytes = 32 * 1024;  // the kernel doubles it: 64 KB in the server's kernel
    Responder r(loop, o, routes.table);
    r.start();
    SlowReader c(loop, r.port(),
                 "GET /v1/peers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /");
    c.pause_at = big.size() - 40 * 1024;  // less than the kernels hold: all written by us
    ASSERT_TRUE(run_until(
        loop, [&] { return c.received.size() >= c.pause_at; }, 10000));
    run_for(loop, 50);
    c.stream.write("v1/ping HTTP/1.1\r\nHost: a\r\n\r\n");
    run_for(loop, 100);
    ASSERT_TRUE(c.read_to_end(loop));
    EXPECT_EQ(c.end, UV_EOF) << "a FIN, not a reset";
    EXPECT_EQ(body_of(c.received).size(), big.size()) << "the whole answer";
  }
}

// The same on the close-at-once path: the request said Connection: close with nothing
// after it, but bytes come while its answer is still being written. Closing at once
// would reset later bytes and lose the end; they make the connection linger instead.
TEST_F(ResponderCloseTest, MoreBytesAfterAQuietLastRequestLoseNothing) {
  {
    const std::string big(1 << 20, 'p');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder::Options o = options();
    o.send_buffer_bytes = 32 * 1024;
    Responder r(loop, o, routes.table);
    r.start();
    SlowReader c(loop, r.port(), "GET /v1/peers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    c.pause_at = 256 * 1024;  // most of the answer is still ours to write
    ASSERT_TRUE(run_until(
        loop, [&] { return c.received.size() >= c.pause_at; }, 10000));
    run_for(loop, 50);
    c.stream.write("GET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n");
    run_for(loop, 50);
    // The rest waits in the kernels: all of it written by us.
    ASSERT_TRUE(c.read_until(loop, big.size() - 40 * 1024));
    c.stream.write("more");  // to a closed socket, a reset
    run_for(loop, 100);
    ASSERT_TRUE(c.read_to_end(loop));
    EXPECT_EQ(c.end, UV_EOF) << "a FIN, not a reset";
    EXPECT_EQ(body_of(c.received).size(), big.size()) << "the whole answer";
  }
}

// A client that sends its request and half-closes (shutdown(SHUT_WR)), then reads: its
// FIN comes while most of a 4 MB answer is still queued, and must not cut it short.
TEST_F(ResponderCloseTest, AHalfClosedClientGetsTheWholeAnswer) {
  {
    const std::string big(4 << 20, 'h');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder r(loop, options(), routes.table);
    r.start();
    for (const char* request :
         {"GET /v1/peers HTTP/1.0\r\n\r\n", "GET /v1/peers HTTP/1.1\r\nHost: a\r\n\r\n"}) {
      RawClient c(loop, r.port(), request, false, /*read=*/false);
      ASSERT_TRUE(run_until(
          loop, [&] { return c.connected; }, 3000));
      c.shutdown();
      run_for(loop, 100);
      c.start_reading();
      ASSERT_TRUE(run_until(
          loop, [&] { return c.closed; }, 10000));
      EXPECT_EQ(c.end, UV_EOF) << request;
      EXPECT_EQ(body_of(c.received).size(), big.size()) << request;
      EXPECT_TRUE(run_until(
          loop, [&] { return r.open_connections() == 0; }, 300))
          << "closed once all of it was in the kernel";
    }
  }
}

// A queued large answer, then a small one: the small one waits its turn.
TEST_F(ResponderCloseTest, ASmallAnswerAfterAQueuedLargeOneKeepsItsPlace) {
  {
    const std::string big(4 << 20, 'q');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder r(loop, options(), routes.table);
    r.start();
    RawClient c(loop, r.port(), "GET /v1/peers HTTP/1.1\r\nHost: a\r\n\r\n" + kPing, false,
                /*read=*/false);
    run_for(loop, 200);
    c.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 10000));
    std::string page = ping_page("Chicago,US");
    size_t big_at = c.received.find(big);
    ASSERT_NE(big_at, std::string::npos) << "the large answer whole";
    EXPECT_EQ(body_of(c.received.substr(big_at + big.size())), page) << "then the small one";
  }
}

// The last request of a keep-alive connection (Connection: close, arriving whole) whose
// answer waits on a client that does not read: bounded by the header timeout, not by
// the idle timeout the previous answer started.
TEST_F(ResponderCloseTest, TheLastAnswerWaitsNoLongerThanTheHeaderTimeout) {
  {
    const std::string big(4 << 20, 'w');
    TestRoutes routes("Chicago,US", [&] { return big; });
    Responder::Options o = options();
    o.header_timeout_ms = 200;
    o.idle_timeout_ms = 20000;
    Responder r(loop, o, routes.table);
    r.start();
    RawClient c(loop, r.port(),
                "GET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n"
                "GET /v1/peers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                false, /*read=*/false);
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 2; }, 3000));
    EXPECT_TRUE(run_until(
        loop, [&] { return r.open_connections() == 0; }, 3000))
        << "closed by the header timeout (200 ms), not the idle one (20 s)";
    EXPECT_EQ(r.counters().timeouts, 1u);
  }
}
