// The AWS client (src/aws/http_client) against real sockets on loopback: answers by
// Content-Length, chunked and until close, from servers that keep the connection open;
// TLS with `openssl s_server` and the test CA (as a CA file, and found by subject hash in
// a CA directory); a CONNECT proxy and a forwarding proxy on the loop; a peer that
// stalls, one that sends garbage, one that closes mid-body, a closed port.
#include <unistd.h>

#include <cstdio>

#include "aws/http_client.hpp"
#include "harness.hpp"
#include "tls_harness.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

// Answers each request with fixed bytes, or with the number of body bytes it read, and
// keeps the connection open: the client must know the answer's end by itself.
class KeepOpenServer {
 public:
  // answer empty: "HTTP/1.1 200 OK" with the count of body bytes received as its body.
  KeepOpenServer(Loop& loop, std::string answer)
      : loop_(loop), answer_(std::move(answer)), listener_(loop, [this](TcpListener& l) {
          conns_.push_back(std::make_unique<Conn>(*this));
          l.accept(conns_.back()->stream);
          conns_.back()->stream.start_reading();
        }) {
    auto addr = loopback4();
    EXPECT_EQ(listener_.listen(reinterpret_cast<sockaddr*>(&addr)), 0);
  }
  int port() const { return listener_.port(); }
  std::string first_request;

 private:
  struct Conn : TcpStream::Events {
    explicit Conn(KeepOpenServer& s) : server(s), stream(s.loop_, *this) {}
    void on_read(int status, const char* data, size_t len, uint64_t) noexcept override {
      if (status != 0 || answered) return;
      got.append(data, len);
      size_t head = got.find("\r\n\r\n");
      if (head == std::string::npos) return;
      if (server.first_request.empty()) server.first_request = got.substr(0, head);
      size_t length = 0;
      if (auto at = got.find("Content-Length: "); at != std::string::npos && at < head)
        length = std::stoul(got.substr(at + 16));
      if (got.size() - head - 4 < length) return;
      answered = true;
      std::string count = std::to_string(got.size() - head - 4);
      stream.write(!server.answer_.empty() ? server.answer_
                                           : "HTTP/1.1 200 OK\r\nContent-Length: " +
                                                 std::to_string(count.size()) + "\r\n\r\n" + count);
    }
    KeepOpenServer& server;
    TcpStream stream;
    std::string got;
    bool answered = false;
  };
  Loop& loop_;
  std::string answer_;
  TcpListener listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

// An HTTP proxy on the loop: CONNECT opens a tunnel to 127.0.0.1 (the port asked for),
// or, with a fixed answer, it answers any request itself (as a forwarding proxy would).
class TestProxy {
 public:
  explicit TestProxy(Loop& loop, std::string answer = {})
      : loop_(loop), answer_(std::move(answer)), listener_(loop, [this](TcpListener& l) {
          conns_.push_back(std::make_unique<Conn>(*this));
          l.accept(conns_.back()->client);
          conns_.back()->client.start_reading();
        }) {
    auto addr = loopback4();
    EXPECT_EQ(listener_.listen(reinterpret_cast<sockaddr*>(&addr)), 0);
  }
  int port() const { return listener_.port(); }
  std::vector<std::string> request_lines;
  std::vector<std::string> heads;  // each request's whole head

 private:
  struct Conn {
    struct Side : TcpStream::Events {
      Side(Conn& c, bool up) : conn(c), upstream(up) {}
      void on_connect(int status, uint64_t) noexcept override { conn.connected(status); }
      void on_read(int status, const char* data, size_t len, uint64_t) noexcept override {
        conn.read(upstream, status, data, len);
      }
      Conn& conn;
      bool upstream;
    };
    explicit Conn(TestProxy& p)
        : proxy(p),
          from_client(*this, false),
          from_server(*this, true),
          client(p.loop_, from_client),
          server(p.loop_, from_server) {}
    void read(bool upstream, int status, const char* data, size_t len) {
      if (status != 0) {
        client.close();
        server.close();
        return;
      }
      if (upstream) {
        client.write({data, len});
        return;
      }
      if (tunnel) {
        server.write({data, len});
        return;
      }
      head.append(data, len);
      size_t end = head.find("\r\n");
      if (head.find("\r\n\r\n") == std::string::npos) return;
      proxy.request_lines.push_back(head.substr(0, end));
      proxy.heads.push_back(head.substr(0, head.find("\r\n\r\n") + 2));
      if (!proxy.answer_.empty()) {
        client.write(proxy.answer_);
        return;
      }
      int port = std::stoi(head.substr(head.find(':') + 1));
      auto addr = loopback4(uint16_t(port));
      server.connect(reinterpret_cast<sockaddr*>(&addr));
    }
    void connected(int status) {
      if (status != 0) return client.close();
      tunnel = true;
      server.start_reading();
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
    }
    TestProxy& proxy;
    Side from_client, from_server;
    TcpStream client, server;
    std::string head;
    bool tunnel = false;
  };
  Loop& loop_;
  std::string answer_;
  TcpListener listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

EnvLookup env_with(std::string name, std::string value) {
  return
      [name, value](const char* n) -> const char* { return name == n ? value.c_str() : nullptr; };
}

HttpClient::Options options(uint64_t timeout_ms = 5000) {
  HttpClient::Options o;
  o.connect_timeout_ms = timeout_ms;
  o.timeout_ms = timeout_ms;
  o.env = [](const char*) -> const char* { return nullptr; };  // not this machine's proxies
  return o;
}

std::string local(int port, const std::string& path = "/", const char* scheme = "http") {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + path;
}

// The subject hash of the test CA, as OpenSSL's c_rehash names it.
std::string openssl_hash(const std::string& pem) {
  std::string cmd = "openssl x509 -hash -noout -in " + pem;
  FILE* f = popen(cmd.c_str(), "r");
  char line[64] = "";
  if (!f || !fgets(line, sizeof line, f)) return "";
  pclose(f);
  std::string h = line;
  while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
  return h;
}

}  // namespace

class HttpClientTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }

  // Sends one request and runs the loop until its answer (at most max_ms).
  HttpClient::Response exchange(HttpClient& client, const std::string& target,
                                std::string method = "GET", std::string_view body = {},
                                uint64_t max_ms = 8000) {
    std::optional<HttpClient::Response> got;
    EXPECT_TRUE(client.send(method, url(target), {{"X-Test", "1"}}, body,
                            [&](HttpClient::Response r) { got = std::move(r); }));
    EXPECT_TRUE(client.busy());
    EXPECT_TRUE(run_until(
        loop, [&] { return got.has_value(); }, max_ms))
        << target;
    EXPECT_FALSE(client.busy());
    return got.value_or(HttpClient::Response{"no answer in time", 0, ""});
  }

  Loop loop;
};

TEST_F(HttpClientTest, ContentLengthAndChunkedAnswersEndWithoutAClose) {
  {
    Resolver resolver(loop, {});
    HttpClient client(loop, resolver, options(10000));
    KeepOpenServer sized(loop, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    uint64_t t0 = mono_ns();
    auto r = exchange(client, local(sized.port(), "/a?b=1"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
    EXPECT_LT(mono_ns() - t0, 5000000000ull) << "ended by its length, not by the timeout";
    EXPECT_EQ(sized.first_request.substr(0, sized.first_request.find("\r\n")),
              "GET /a?b=1 HTTP/1.1");
    EXPECT_NE(sized.first_request.find("\r\nHost: 127.0.0.1:" + std::to_string(sized.port())),
              std::string::npos);
    EXPECT_NE(sized.first_request.find("\r\nX-Test: 1"), std::string::npos);

    KeepOpenServer chunked(loop,
                           "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    r = exchange(client, local(chunked.port()));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, "hello world");
  }
}

TEST_F(HttpClientTest, AnswerUntilCloseAndItsBound) {
  {
    Resolver resolver(loop, {});
    auto o = options();
    o.max_body = 4;
    HttpClient client(loop, resolver, o);
    ScriptedServer server(loop, ScriptedServer::Mode::answer_raw,
                          "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789");
    auto r = exchange(client, local(server.port()));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.body, "0123") << "kept to max_body";
    EXPECT_EQ(client.answers_cut(), 1u);
  }
}

TEST_F(HttpClientTest, ABigBodyLeavesWhole) {
  {
    Resolver resolver(loop, {});
    HttpClient client(loop, resolver, options());
    KeepOpenServer counter(loop, "");
    std::string body(1 << 20, 'x');
    auto r = exchange(client, local(counter.port()), "POST", body);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.body, std::to_string(body.size()));
  }
}

TEST_F(HttpClientTest, StallGarbageEarlyCloseAndRefusal) {
  {
    Resolver resolver(loop, {});
    HttpClient client(loop, resolver, options(300));
    ScriptedServer stall(loop, ScriptedServer::Mode::stall);
    uint64_t t0 = mono_ns();
    auto r = exchange(client, local(stall.port()));
    EXPECT_NE(r.error.find("within 300 ms"), std::string::npos) << r.error;
    EXPECT_GE(mono_ns() - t0, 290000000ull);

    ScriptedServer garbage(loop, ScriptedServer::Mode::answer_raw,
                           "SSH-2.0-OpenSSH_9.2\r\n\r\n\x01\x02 not http");
    r = exchange(client, local(garbage.port()));
    EXPECT_NE(r.error.find("is not HTTP"), std::string::npos) << r.error;

    ScriptedServer early(loop, ScriptedServer::Mode::close_mid_body);
    r = exchange(client, local(early.port()));
    EXPECT_NE(r.error.find("before the answer was complete"), std::string::npos) << r.error;

    int closed;
    {
      TcpListener l(loop, [](TcpListener&) {});
      auto a = loopback4();
      l.listen(reinterpret_cast<sockaddr*>(&a));
      closed = l.port();
    }
    run_for(loop, 5);
    r = exchange(client, local(closed));
    EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  }
}

TEST_F(HttpClientTest, TlsWithACaFileAndWithTheCaDirectory) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  OpensslServer wrong_name(cert("wrongname.pem"), cert("server.key"));
  char dir[] = "/tmp/pingmesh-cadir-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string hash = openssl_hash(cert("ca.pem"));
  ASSERT_EQ(hash.size(), 8u);
  {
    Resolver resolver(loop, {});
    auto o = options();
    o.ca_file = cert("ca.pem");
    HttpClient with_file(loop, resolver, o);
    auto r = exchange(with_file, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    r = exchange(with_file, "https://localhost:" + std::to_string(wrong_name.port()) + "/");
    EXPECT_NE(r.error.find("SSL peer certificate"), std::string::npos) << r.error;

    o.ca_file.clear();
    o.ca_dir = dir;  // empty: nothing trusted
    HttpClient by_hash(loop, resolver, o);
    r = exchange(by_hash, local(server.port(), "/", "https"));
    EXPECT_NE(r.error.find("SSL peer certificate"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("no CA in"), std::string::npos) << r.error;

    std::string link = std::string(dir) + "/" + hash + ".0";
    ASSERT_EQ(symlink(cert("ca.pem").c_str(), link.c_str()), 0);
    r = exchange(by_hash, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    r = exchange(by_hash, "https://localhost:" + std::to_string(wrong_name.port()) + "/");
    EXPECT_NE(r.error.find("SSL peer certificate"), std::string::npos) << r.error;
    unlink(link.c_str());
  }
  rmdir(dir);
}

TEST_F(HttpClientTest, HttpsThroughAConnectTunnel) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  {
    Resolver resolver(loop, {});
    TestProxy proxy(loop);
    auto o = options();
    o.ca_file = cert("ca.pem");
    o.env = env_with("https_proxy", local(proxy.port()));
    HttpClient client(loop, resolver, o);
    auto r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    ASSERT_EQ(proxy.request_lines.size(), 1u);
    EXPECT_EQ(proxy.request_lines[0],
              "CONNECT 127.0.0.1:" + std::to_string(server.port()) + " HTTP/1.1");
    EXPECT_EQ(proxy.heads[0].find("Proxy-Authorization"), std::string::npos) << "none given";

    o.env = env_with("https_proxy", "http://u%3A:p/w@127.0.0.1:" + std::to_string(proxy.port()));
    HttpClient with_password(loop, resolver, o);
    r = exchange(with_password, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    ASSERT_EQ(proxy.heads.size(), 2u);
    EXPECT_NE(proxy.heads[1].find("\r\nProxy-Authorization: Basic dTo6cC93\r\n"),
              std::string::npos)
        << proxy.heads[1];  // "u::p/w": the password holds a '/'

    o.use_proxy = false;  // the metadata service's way: the variable is ignored
    HttpClient direct(loop, resolver, o);
    r = exchange(direct, local(server.port(), "/", "https"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(proxy.request_lines.size(), 2u);
  }
}

TEST_F(HttpClientTest, HttpThroughAProxyAndAProxyThatRefuses) {
  {
    Resolver resolver(loop, {});
    TestProxy forwarding(loop, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    auto o = options();
    o.env = env_with("http_proxy", "http://u:pw@127.0.0.1:" + std::to_string(forwarding.port()));
    HttpClient client(loop, resolver, o);
    auto r = exchange(client, "http://127.0.0.9:8080/x?y");  // never reached: the proxy answers
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.body, "ok");
    ASSERT_EQ(forwarding.request_lines.size(), 1u);
    EXPECT_EQ(forwarding.request_lines[0], "GET http://127.0.0.9:8080/x?y HTTP/1.1");
    EXPECT_NE(forwarding.heads[0].find("\r\nProxy-Authorization: Basic dTpwdw==\r\n"),
              std::string::npos)
        << forwarding.heads[0];  // u:pw

    TestProxy refusing(loop, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
    o.env = env_with("https_proxy", local(refusing.port()));
    HttpClient tunnel(loop, resolver, o);
    r = exchange(tunnel, "https://127.0.0.9/");
    EXPECT_NE(r.error.find("refused the tunnel"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("407"), std::string::npos) << r.error;
  }
}

// Cancelled mid-request: no answer, no leak; the client takes the next one.
TEST_F(HttpClientTest, CancelThenReuse) {
  {
    Resolver resolver(loop, {});
    HttpClient client(loop, resolver, options(2000));
    ScriptedServer stall(loop, ScriptedServer::Mode::stall);
    bool called = false;
    ASSERT_TRUE(client.send("GET", url(local(stall.port())), {}, {},
                            [&](HttpClient::Response) { called = true; }));
    EXPECT_FALSE(client.send("GET", url(local(stall.port())), {}, {}, [](HttpClient::Response) {}))
        << "one at a time";
    run_for(loop, 50);
    client.cancel();
    EXPECT_FALSE(client.busy());
    KeepOpenServer sized(loop, "HTTP/1.1 204 No Content\r\n\r\n");
    auto r = exchange(client, local(sized.port()));
    EXPECT_EQ(r.status, 204);
    EXPECT_FALSE(called);
  }
}

// The system-CA path checks what the handshake (VERIFY_NONE) does not, the same way on
// every mbedTLS: the leaf's IP names for an IP host, and its key usage.
TEST_F(HttpClientTest, TheCaDirectoryPathChecksIpNamesAndKeyUsage) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  OpensslServer other_ip(cert("otherip.pem"), cert("server.key"));
  OpensslServer name_only(cert("wrongname.pem"), cert("server.key"));
  OpensslServer no_signing(cert("nodigsig.pem"), cert("nodigsig.key"));
  char dir[] = "/tmp/pingmesh-cadir-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string link = std::string(dir) + "/" + openssl_hash(cert("ca.pem")) + ".0";
  ASSERT_EQ(symlink(cert("ca.pem").c_str(), link.c_str()), 0);
  {
    Resolver resolver(loop, {});
    auto o = options();
    o.ca_dir = dir;
    HttpClient client(loop, resolver, o);
    auto r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    r = exchange(client, local(other_ip.port(), "/", "https"));
    EXPECT_NE(r.error.find("not trusted: name mismatch"), std::string::npos) << r.error;
    r = exchange(client, local(name_only.port(), "/", "https"));
    EXPECT_NE(r.error.find("not trusted: name mismatch"), std::string::npos) << r.error;
    r = exchange(client, local(no_signing.port(), "/", "https"));
    EXPECT_NE(r.error.find("not trusted: not for signing (key usage)"), std::string::npos)
        << r.error;
    r = exchange(client, "https://localhost:" + std::to_string(no_signing.port()) + "/");
    EXPECT_NE(r.error.find("(key usage)"), std::string::npos) << r.error;
  }
  unlink(link.c_str());
  rmdir(dir);
}

namespace {

std::string file_text(const std::string& path) {
  std::string out;
  if (FILE* f = fopen(path.c_str(), "rb")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    fclose(f);
  }
  return out;
}

// Written whole under another name, then renamed over: a new inode, as package updates do.
void replace_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".new";
  FILE* f = fopen(tmp.c_str(), "wb");
  ASSERT_TRUE(f);
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
  ASSERT_EQ(rename(tmp.c_str(), path.c_str()), 0);
}

}  // namespace

// The CA file is read again only once it changes; one past the bound is refused.
TEST_F(HttpClientTest, TheCaFileIsReadOnceUntilItChangesAndIsBounded) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  char dir[] = "/tmp/pingmesh-cafile-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string ca = std::string(dir) + "/ca.pem";
  replace_file(ca, file_text(cert("ca.pem")));
  {
    Resolver resolver(loop, {});
    auto o = options();
    o.ca_file = ca;
    HttpClient client(loop, resolver, o);
    auto r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(client.ca_file_loads(), 1u) << "parsed once for two connections";

    replace_file(ca, file_text(cert("selfsigned.pem")));  // another CA: the server's is not
    r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_NE(r.error.find("not trusted"), std::string::npos) << "the new file used: " << r.error;

    replace_file(ca, file_text(cert("ca.pem")));
    r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(client.ca_file_loads(), 3u);

    // The CA and 1 MB of comment: more than a CA file needs.
    std::string big = file_text(cert("ca.pem"));
    while (big.size() <= (1u << 20)) big += "# padding padding padding padding padding\n";
    replace_file(ca, big);
    r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_NE(r.error.find("larger than 1048576 bytes"), std::string::npos) << r.error;
    EXPECT_EQ(r.status, 0);
    r = exchange(client, local(server.port(), "/", "https"));
    EXPECT_NE(r.error.find("larger than"), std::string::npos) << "not the old one: " << r.error;
  }
  unlink(ca.c_str());
  rmdir(dir);
}

// A header value is sent as given only when it is one line of bounded length.
TEST_F(HttpClientTest, HeaderValuesWithControlBytesOrTooLongAreRefused) {
  {
    Resolver resolver(loop, {});
    HttpClient client(loop, resolver, options());
    KeepOpenServer server(loop, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    for (std::string bad : {std::string("t\r\nX-Injected: 1"), std::string("t\n"),
                            std::string("t\x7f"), std::string(8193, 'a')}) {
      std::optional<HttpClient::Response> got;
      ASSERT_TRUE(client.send("GET", url(local(server.port())), {{"X-Token", bad}}, {},
                              [&](HttpClient::Response r) { got = std::move(r); }));
      ASSERT_TRUE(run_until(
          loop, [&] { return got.has_value(); }, 5000));
      EXPECT_NE(got->error.find("header X-Token"), std::string::npos) << got->error;
      EXPECT_EQ(got->status, 0);
    }
    EXPECT_EQ(server.first_request, "") << "nothing was sent";
    std::optional<HttpClient::Response> got;
    ASSERT_TRUE(client.send("GET", url(local(server.port())), {{"X-Token", "a\tb c"}}, {},
                            [&](HttpClient::Response r) { got = std::move(r); }));
    ASSERT_TRUE(run_until(
        loop, [&] { return got.has_value(); }, 5000));
    EXPECT_EQ(got->error, "");
    EXPECT_EQ(got->status, 200);
  }
}

// A tunnel opens on "HTTP/1.x 200 " alone: other 2xx, and lines that only look alike, fail.
TEST_F(HttpClientTest, OnlyAStrict200OpensTheTunnel) {
  {
    Resolver resolver(loop, {});
    struct Case {
      const char* answer;
      const char* error;
    };
    for (auto c : {Case{"HTTP/1.1 201 Created\r\n\r\n", "refused the tunnel"},
                   Case{"HTTP/1.1 204 No Content\r\n\r\n", "refused the tunnel"},
                   Case{"HTTP/1.1 2000 OK\r\n\r\n", "did not answer CONNECT in HTTP"},
                   Case{"HTTP/1.1  200 OK\r\n\r\n", "did not answer CONNECT in HTTP"},
                   Case{"HTTP/1.1 200OK\r\n\r\n", "did not answer CONNECT in HTTP"},
                   Case{"HTTP/1.x 200 OK\r\n\r\n", "did not answer CONNECT in HTTP"}}) {
      TestProxy proxy(loop, c.answer);
      auto o = options(2000);
      o.env = env_with("https_proxy", local(proxy.port()));
      HttpClient client(loop, resolver, o);
      auto r = exchange(client, "https://127.0.0.9/");
      EXPECT_NE(r.error.find(c.error), std::string::npos) << c.answer << ": " << r.error;
    }
  }
}

// Cancelled, or destroyed, at every step (the name, TCP, the tunnel, TLS): done is never
// called after, and nothing leaks (TearDown's loop.close()).
TEST_F(HttpClientTest, CancelOrDestroyAtEveryStage) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  int late = 0;  // answers after a cancel or a destruction
  {
    Resolver resolver(loop, {});
    TestProxy proxy(loop);
    auto o = options(3000);
    o.ca_file = cert("ca.pem");
    o.env = env_with("https_proxy", local(proxy.port()));
    std::string target = "https://localhost:" + std::to_string(server.port()) + "/";
    bool reached_the_end = false;
    for (int turns = 0; turns < 60 && !reached_the_end; ++turns) {
      for (bool destroy : {false, true}) {
        auto client = std::make_unique<HttpClient>(loop, resolver, o);
        auto answered = std::make_shared<bool>(false), cut = std::make_shared<bool>(false);
        ASSERT_TRUE(
            client->send("GET", url(target), {}, {}, [answered, cut, &late](HttpClient::Response) {
              *answered = true;
              if (*cut) ++late;
            }));
        for (int i = 0; i < turns && !*answered; ++i) uv_run(loop.get(), UV_RUN_ONCE);
        if (*answered) {
          reached_the_end = true;  // every stage before the answer was cut once
          continue;
        }
        *cut = true;
        if (destroy)
          client.reset();
        else
          client->cancel();
        run_for(loop, 20);
      }
    }
    EXPECT_TRUE(reached_the_end) << "the request never completed in 60 turns";
    EXPECT_GE(proxy.request_lines.size(), 2u) << "some were cut in the tunnel or after";
    run_for(loop, 50);
  }
  EXPECT_EQ(late, 0);
}
