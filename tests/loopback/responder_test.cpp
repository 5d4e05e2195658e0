// Our responder, spoken to over real sockets by a small raw client: routes, keep-alive,
// and every bound (connections, header bytes, header timeout).
#include "harness.hpp"

#include "http/ping_page.hpp"
#include "http/responder.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

// Sends bytes and collects everything the server says until it closes.
class RawClient : public TcpStream::Events {
 public:
  RawClient(Loop& loop, int port, std::string send, bool ipv6 = false, bool read = true)
      : stream_(loop, *this), send_(std::move(send)), read_(read) {
    sockaddr_storage ss{};
    if (ipv6)
      uv_ip6_addr("::1", port, reinterpret_cast<sockaddr_in6*>(&ss));
    else
      uv_ip4_addr("127.0.0.1", port, reinterpret_cast<sockaddr_in*>(&ss));
    stream_.connect(reinterpret_cast<sockaddr*>(&ss));
  }
  void on_connect(int status, uint64_t) noexcept override {
    connected = status == 0;
    if (!connected) {
      closed = true;
      return;
    }
    if (read_) stream_.start_reading();
    if (!send_.empty()) stream_.write(send_);
  }
  void start_reading() { stream_.start_reading(); }
  void on_read(int status, const char* d, size_t n, uint64_t) noexcept override {
    if (status == 0)
      received.append(d, n);
    else
      closed = true;
  }
  void send(const std::string& more) { stream_.write(more); }

  std::string received;
  bool connected = false;
  bool closed = false;

 private:
  TcpStream stream_;
  std::string send_;
  bool read_;
};

Responder::Options options() {
  Responder::Options o;
  o.addresses = {"127.0.0.1", "::1"};
  o.location = "Chicago,US";
  return o;
}

}  // namespace

class ResponderTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }
  Loop loop;
};

TEST_F(ResponderTest, PingPageOverIPv4AndIPv6) {
  {
    Responder r(loop, options(), [] { return "{\"SrvLoc\": \"Chicago,US\"}\n"; });
    r.start();
    RawClient v4(loop, r.port(), "GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    RawClient v6(loop, r.port(), "GET /v1/peers HTTP/1.0\r\n\r\n", true);
    ASSERT_TRUE(run_until(
        loop, [&] { return v4.closed && v6.closed; }, 3000));
    std::string page = ping_page("Chicago,US");
    EXPECT_EQ(v4.received.substr(0, 17), "HTTP/1.1 200 OK\r\n");
    EXPECT_NE(v4.received.find("Content-Length: 116\r\n"), std::string::npos);
    EXPECT_EQ(v4.received.substr(v4.received.size() - page.size()), page);
    EXPECT_NE(v6.received.find("\"SrvLoc\": \"Chicago,US\""), std::string::npos);
    EXPECT_EQ(r.counters().requests, 2u);
  }
}

TEST_F(ResponderTest, RoutesAndMethods) {
  {
    Responder r(loop, options(), [] { return "{}"; });
    r.start();
    RawClient missing(loop, r.port(), "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
    RawClient post(loop, r.port(),
                   "POST /v1/ping HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    RawClient quit(loop, r.port(), "GET /v1/quit HTTP/1.1\r\nConnection: close\r\n\r\n");
    RawClient env(loop, r.port(), "GET /v1/env HTTP/1.1\r\nConnection: close\r\n\r\n");
    RawClient head(loop, r.port(), "HEAD /v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    RawClient junk(loop, r.port(), "\x01\x02 nonsense\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop,
        [&] {
          return missing.closed && post.closed && quit.closed && env.closed && head.closed &&
                 junk.closed;
        },
        3000));
    EXPECT_EQ(missing.received.substr(0, 12), "HTTP/1.1 404");
    EXPECT_EQ(post.received.substr(0, 12), "HTTP/1.1 405");
    EXPECT_NE(post.received.find("Allow: GET, HEAD"), std::string::npos);
    EXPECT_EQ(quit.received.substr(0, 12), "HTTP/1.1 404") << "no unauthenticated shutdown";
    EXPECT_EQ(env.received.substr(0, 12), "HTTP/1.1 404") << "no environment dump";
    EXPECT_EQ(head.received.substr(0, 12), "HTTP/1.1 200");
    EXPECT_EQ(head.received.find("<html>"), std::string::npos) << "HEAD has no body";
    EXPECT_EQ(junk.received.substr(0, 12), "HTTP/1.1 400");
  }
}

TEST_F(ResponderTest, KeepAliveAndPipelining) {
  {
    Responder r(loop, options(), [] { return "{}"; });
    r.start();
    RawClient c(loop, r.port(),
                "GET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\nGET /v1/ping HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 2; }, 3000));
    run_for(loop, 20);
    EXPECT_FALSE(c.closed) << "keep-alive keeps the connection open";
    c.send("GET /v1/ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    size_t count = 0;
    for (size_t at = 0; (at = c.received.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at)
      ++count;
    EXPECT_EQ(count, 3u);
    EXPECT_EQ(r.counters().connections, 1u);
  }
}

TEST_F(ResponderTest, PipeliningWithoutReadingIsBounded) {
  {
    const std::string big(20000, 'x');  // a large /v1/peers answer
    Responder r(loop, options(), [&] { return big; });
    r.start();
    std::string many;
    for (int i = 0; i < 2000; ++i) many += "GET /v1/peers HTTP/1.1\r\nHost: a\r\n\r\n";
    RawClient c(loop, r.port(), many, false, /*read=*/false);
    run_for(loop, 300);
    // 2000 answers would be 40 MB; only what the socket buffers hold may be answered.
    EXPECT_LT(r.counters().requests, 1000u) << "answers queued while the client does not read";
    EXPECT_GT(r.counters().requests, 0u);
    c.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().requests == 2000; }, 10000));
    run_until(
        loop, [&] { return c.received.size() >= 2000 * big.size(); }, 10000);
    EXPECT_GE(c.received.size(), 2000 * big.size()) << "every answer arrives in the end";
  }
}

TEST_F(ResponderTest, HeaderBoundGives431) {
  {
    Responder::Options o = options();
    o.max_header_bytes = 1024;
    Responder r(loop, o, [] { return "{}"; });
    r.start();
    RawClient c(loop, r.port(),
                "GET /v1/ping HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    EXPECT_EQ(c.received.substr(0, 12), "HTTP/1.1 431");
    EXPECT_EQ(r.counters().oversized_requests, 1u);
  }
}

TEST_F(ResponderTest, HeaderTimeoutClosesSlowClients) {
  {
    Responder::Options o = options();
    o.header_timeout_ms = 100;
    Responder r(loop, o, [] { return "{}"; });
    r.start();
    RawClient c(loop, r.port(), "GET /v1/ping HTTP/1.1\r\nHost:");  // never finishes
    ASSERT_TRUE(run_until(
        loop, [&] { return c.closed; }, 3000));
    EXPECT_EQ(r.counters().timeouts, 1u);
    EXPECT_EQ(r.open_connections(), 0u);
  }
}

TEST_F(ResponderTest, ConnectionBoundRefusesTheExcess) {
  {
    Responder::Options o = options();
    o.max_connections = 3;
    Responder r(loop, o, [] { return "{}"; });
    r.start();
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<RawClient>(loop, r.port(), ""));
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().connections == 5; }, 3000));
    run_for(loop, 20);
    EXPECT_EQ(r.open_connections(), 3u);
    EXPECT_EQ(r.counters().rejected_connections, 2u);
    int closed = 0;
    for (auto& c : idle) closed += c->closed;
    EXPECT_EQ(closed, 2);
    // Still serving the ones it kept.
    RawClient later(loop, r.port(), "GET /v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    run_until(
        loop, [&] { return later.closed; }, 1000);
    EXPECT_EQ(later.received, "") << "over the bound, even a good request is refused";
  }
}

TEST_F(ResponderTest, PortInUseFailsStartUp) {
  {
    Responder a(loop, options(), [] { return "{}"; });
    a.start();
    Responder::Options o = options();
    o.port = a.port();
    Responder b(loop, o, [] { return "{}"; });
    EXPECT_THROW(b.start(), std::runtime_error);
  }
}
