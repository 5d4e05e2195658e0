// https probes over real sockets: against `openssl s_server` and our own TLS responder,
// every TLS failure reason, the handshake timed on its own, and resumption.
#include <algorithm>
#include <functional>
#include <vector>

#include "harness.hpp"
#include "test_routes.hpp"
#include "tls_harness.hpp"

#include "dns/resolver.hpp"
#include "http/responder.hpp"
#include "tls/mbedtls_compat.hpp"
#include "tls/tls_channel.hpp"
#include "tls/tls_config.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

struct Client {
  explicit Client(TlsClientOptions o = trusting_test_ca()) : config(random, o) {}
  static TlsClientOptions trusting_test_ca() {
    TlsClientOptions o;
    o.ca_file = cert("ca.pem");
    return o;
  }
  TlsRandom random;
  TlsClientConfig config;
};

PeerSettings https_peer(const Client& c, int limit = 1, std::string pin = {}) {
  PeerSettings s;
  s.delay_ms = 20;
  s.limit = limit;
  s.max_failures = 1;
  s.tls.conf = c.config.get();
  s.tls.verify = c.config.options().verify;
  s.tls.pin_sha256 = std::move(pin);
  s.tls.resume = c.config.options().allow_resumption;
  return s;
}

// Our responder serving https only, on 127.0.0.1.
Responder::Options tls_only(const TlsServerConfig& server_config) {
  Responder::Options o;
  o.addresses = {"127.0.0.1"};
  o.plain = false;
  o.tls = server_config.get();
  return o;
}

std::string at(int port, const std::string& host = "localhost", const std::string& path = "/") {
  return "https://" + host + ":" + std::to_string(port) + path;
}

}  // namespace

class TlsTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }

  // Probes url once with settings s; returns the sample.
  Sample probe_once(const std::string& url_text, PeerSettings s, ProbeLimits limits = {}) {
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url(url_text), std::move(s), limits, rec, 1);
    peer.start(0);
    EXPECT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 10000));
    return rec.samples.empty() ? Sample{} : rec.samples.back().sample;
  }

  Loop loop;
};

TEST_F(TlsTest, ProbesOpensslServerAndTimesTheHandshakeApart) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  Client client;
  Sample s = probe_once(at(server.port()), https_peer(client));
  ASSERT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;
  EXPECT_EQ(s.http_code, 200);
  EXPECT_GT(s.size, 0u);
  EXPECT_GT(s.t.tls, 0u);
  EXPECT_GT(s.t.tcp, 0u);
  EXPECT_LT(s.t.tcp, s.t.tls) << "TCP is the connect alone; the handshake is not in it";
  EXPECT_LE(s.t.dns + s.t.total, uint64_t(wall_unix_ns() - s.start_unix_ns)) << "clock";
  EXPECT_STREQ(s.tls_version, "TLSv1.2");
  ASSERT_NE(s.tls_cipher, nullptr);
  EXPECT_NE(std::string(s.tls_cipher).find("ECDHE"), std::string::npos) << s.tls_cipher;
  EXPECT_GE(s.cert_days_left, 820);
  EXPECT_LE(s.cert_days_left, 825);
  EXPECT_NEAR(double(s.cert_not_after_unix - time(nullptr)) / 86400.0, s.cert_days_left, 1.0);
}

TEST_F(TlsTest, ProbesOurTlsResponderByNameAndByIp) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  Responder::Options o;
  o.addresses = {"127.0.0.1", "::1"};
  o.plain = false;
  o.tls = server_config.get();
  TestRoutes responder_routes("Secure,XX", [] { return "{}"; });
  Responder responder(loop, o, responder_routes.table);
  responder.start();
  for (const std::string host : {"localhost", "127.0.0.1", "[::1]"}) {
    Sample s = probe_once(at(responder.tls_port(), host, "/v1/ping"), https_peer(client));
    EXPECT_TRUE(s.ok()) << host << ": " << to_string(s.reason) << ": " << s.detail;
    EXPECT_EQ(s.location, "Secure,XX") << host;
    EXPECT_EQ(s.size, 96u + 2 * 9) << host;
    EXPECT_GT(s.t.tls, 0u);
  }
  EXPECT_EQ(responder.counters().requests, 3u);
}

// A shared page larger than one TLS record goes out a record at a time, the next one at
// once when the kernel took the last at once (no write callback comes for it).
TEST_F(TlsTest, ResponderSendsALargePageRecordByRecord) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  const std::string big(100000, 'b');
  TestRoutes responder_routes("Secure,XX", [&] { return big; });
  Responder responder(loop, tls_only(server_config), responder_routes.table);
  responder.start();
  PeerSettings s = https_peer(client);
  Sample first = probe_once(at(responder.tls_port(), "localhost", "/v1/peers"), s);
  EXPECT_TRUE(first.ok()) << to_string(first.reason) << ": " << first.detail;
  EXPECT_EQ(first.size, big.size());
}

namespace {

// A TLS client of the responder that sends one request once the handshake is done and
// can pause its reading, half-close, or end its session with close_notify.
struct TlsRawClient : TcpStream::Events, Channel::Wire, Channel::Reader {
  TlsRawClient(Loop& loop, const mbedtls_ssl_config* conf, int port, std::string request)
      : stream(loop, *this), channel(conf, *this, localhost()), request_(std::move(request)) {
    auto a = loopback4(uint16_t(port));
    stream.connect(reinterpret_cast<sockaddr*>(&a));
  }
  static TlsPeerCheck localhost() {
    TlsPeerCheck c;
    c.server_name = "localhost";
    return c;
  }
  void on_connect(int status, uint64_t) noexcept override {
    if (status != 0) {
      end = status;
      return;
    }
    stream.start_reading();
    channel.start();
  }
  void on_read(int status, const char* d, size_t n, uint64_t) noexcept override {
    if (status != 0) {
      end = status;
      return;
    }
    Channel::Progress p = channel.receive(d, n, *this);
    if (p.error != FailureReason::none) end = -1;
    if (p.became_ready) {
      channel.send(request_);
      ready = true;
      if (then) then();
    }
  }
  int send_raw(std::string_view bytes) override { return stream.write(bytes); }
  void on_plain(const char* d, size_t n) override { received.append(d, n); }

  TcpStream stream;
  TlsChannel channel;
  std::function<void()> then;  // once the request is sent
  std::string received;
  bool ready = false;
  int end = 0;

 private:
  std::string request_;
};

std::string body_of(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : answer.substr(at + 4);
}

}  // namespace

// A 4 MB page to a client that reads it late: its records wait in the queue, and each
// next one is sent from on_written as the last goes out. Then the same to clients that
// end their side at once after the request, with a FIN or a close_notify: the whole
// page still arrives, then the server's FIN.
TEST_F(TlsTest, ResponderSendsALargePageToLateAndHalfClosedReaders) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  const std::string big(4 << 20, 'L');
  TestRoutes responder_routes("Secure,XX", [&] { return big; });
  Responder responder(loop, tls_only(server_config), responder_routes.table);
  responder.start();
  enum class End { late_reader, fin, close_notify };
  for (End how : {End::late_reader, End::fin, End::close_notify}) {
    std::string request = how == End::fin ? "GET /v1/peers HTTP/1.0\r\n\r\n"
                                          : "GET /v1/peers HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (how == End::late_reader) request.insert(request.size() - 2, "Connection: close\r\n");
    TlsRawClient c(loop, client.config.get(), responder.tls_port(), request);
    c.then = [&] {
      c.stream.stop_reading();
      if (how == End::fin) c.stream.shutdown();
      if (how == End::close_notify) c.channel.close_notify();
    };
    ASSERT_TRUE(run_until(
        loop, [&] { return c.ready || c.end != 0; }, 5000));
    run_for(loop, 200);
    EXPECT_EQ(responder.open_connections(), 1u) << "the page is still being sent";
    c.stream.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return c.end != 0; }, 20000));
    EXPECT_EQ(c.end, UV_EOF) << int(how);
    EXPECT_EQ(body_of(c.received).size(), big.size()) << int(how);
    EXPECT_TRUE(run_until(
        loop, [&] { return responder.open_connections() == 0; }, 3000));
  }
}

TEST_F(TlsTest, VerificationFailuresSayWhy) {
  struct Case {
    const char* cert;
    const char* host;
    const char* words;
  } cases[] = {
      {"expired.pem", "localhost", "expired"},
      {"wrongname.pem", "localhost", "name mismatch"},
      {"wrongname.pem", "127.0.0.1", "name mismatch"},  // no IP in its subjectAltName
      {"selfsigned.pem", "localhost", "untrusted"},
  };
  Client client;
  for (const auto& c : cases) {
    OpensslServer server(cert(c.cert), cert("server.key"));
    Sample s = probe_once(at(server.port(), c.host), https_peer(client));
    EXPECT_EQ(s.reason, FailureReason::tls_verify) << c.cert << " " << to_string(s.reason);
    EXPECT_NE(s.detail.find(c.words), std::string::npos) << c.cert << ": " << s.detail;
    EXPECT_EQ(s.http_code, 502);
    EXPECT_GT(s.t.tls, 0u) << "the failing phase shows its time";
    EXPECT_EQ(s.t.first, 0u);
  }
}

TEST_F(TlsTest, OptOutAcceptsSelfSignedAndPinsStillHold) {
  TlsClientOptions insecure;
  insecure.verify = false;
  Client client(insecure);
  OpensslServer server(cert("selfsigned.pem"), cert("server.key"));
  Sample s = probe_once(at(server.port()), https_peer(client));
  EXPECT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;

  // The pin of server.key's public key, computed by the openssl CLI.
  std::string cmd = "openssl pkey -in " + cert("server.key") +
                    " -pubout -outform DER | openssl dgst -sha256 -binary | base64";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[128] = "";
  ASSERT_TRUE(fgets(buf, sizeof buf, p));
  pclose(p);
  std::string pin(buf);
  pin.erase(pin.find_last_not_of("\n") + 1);
  s = probe_once(at(server.port()), https_peer(client, 1, pin));
  EXPECT_TRUE(s.ok()) << "the right pin: " << s.detail;
  s = probe_once(at(server.port()),
                 https_peer(client, 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  EXPECT_EQ(s.reason, FailureReason::tls_verify);
  EXPECT_NE(s.detail.find("pin"), std::string::npos) << s.detail;
}

TEST_F(TlsTest, HandshakeFailures) {
  Client client;
  {
    // A plain HTTP server answers our ClientHello with a 400.
    Responder::Options o;
    o.addresses = {"127.0.0.1"};
    TestRoutes plain_routes("", [] { return "{}"; });
    Responder plain(loop, o, plain_routes.table);
    plain.start();
    Sample s = probe_once(at(plain.port(), "127.0.0.1"), https_peer(client));
    EXPECT_EQ(s.reason, FailureReason::tls_handshake) << to_string(s.reason);
    EXPECT_FALSE(s.detail.empty());
  }
  {
    // A server that reads the hello and hangs up.
    ScriptedServer closer(loop, ScriptedServer::Mode::answer_raw, "");
    Sample s = probe_once(at(closer.port(), "127.0.0.1"), https_peer(client));
    EXPECT_EQ(s.reason, FailureReason::tls_handshake) << to_string(s.reason);
  }
  {
    // A server that offers only TLS 1.3, which mbedTLS 2.28 does not speak.
    OpensslServer tls13(cert("server.pem"), cert("server.key"), {"-www", "-tls1_3"});
    Sample s = probe_once(at(tls13.port()), https_peer(client));
    EXPECT_EQ(s.reason, FailureReason::tls_handshake) << to_string(s.reason);
  }
}

TEST_F(TlsTest, StallInHandshakeIsTlsTimeoutAndOthersKeepTheirSchedule) {
  Client client;
  ScriptedServer stall(loop, ScriptedServer::Mode::stall);  // reads the hello, says nothing
  Responder::Options o;
  o.addresses = {"127.0.0.1"};
  TestRoutes fast_routes("", [] { return "{}"; });
  Responder fast(loop, o, fast_routes.table);
  fast.start();
  Resolver resolver(loop, {});
  Recorder rec;
  ProbeLimits limits;
  limits.tls_timeout_ms = 300;
  PeerSettings slow_settings = https_peer(client, 0);
  slow_settings.max_failures = 100;
  Peer slow(loop, resolver, url(at(stall.port(), "127.0.0.1")), slow_settings, limits, rec, 1);
  PeerSettings fast_settings;
  fast_settings.delay_ms = 50;
  Peer quick(loop, resolver, url("http://127.0.0.1:" + std::to_string(fast.port()) + "/v1/ping"),
             fast_settings, limits, rec, 2);
  slow.start(0);
  quick.start(0);
  run_for(loop, 1000);
  auto slow_samples = rec.of(slow);
  ASSERT_GE(slow_samples.size(), 2u);
  for (const auto& e : slow_samples) {
    EXPECT_EQ(e.sample.reason, FailureReason::tls_timeout);
    EXPECT_GE(e.sample.t.tls, 290000000u);
    EXPECT_LT(e.sample.t.tls, 500000000u);
  }
  auto quick_samples = rec.of(quick);
  ASSERT_GE(quick_samples.size(), 15u);
  for (size_t i = 1; i < quick_samples.size(); ++i)
    EXPECT_LT(quick_samples[i].at_ns - quick_samples[i - 1].at_ns, 100000000u);
}

// Resumption skips the key exchange and the certificate check, so a resumed handshake
// costs a fraction of a full one; by default every probe pays for a full one.
TEST_F(TlsTest, FullHandshakesByDefaultResumptionWhenAllowed) {
  OpensslServer server(cert("server.pem"), cert("server.key"));
  auto handshakes = [&](bool resume) {
    TlsClientOptions o = Client::trusting_test_ca();
    o.allow_resumption = resume;
    Client client(o);
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url(at(server.port())), https_peer(client, 6), {}, rec, 1);
    peer.start(0);
    EXPECT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 10000));
    std::vector<uint64_t> tls;
    for (const auto& e : rec.samples) {
      EXPECT_TRUE(e.sample.ok()) << e.sample.detail;
      // The loop's clock: the kernel's leaves out our own computation, most of what
      // resumption saves.
      tls.push_back(e.sample.user.tls);
    }
    return tls;
  };
  auto full = handshakes(false);
  auto resumed = handshakes(true);
  ASSERT_EQ(full.size(), 6u);
  ASSERT_EQ(resumed.size(), 6u);
  uint64_t full_later = 0, resumed_later = 0;
  for (size_t i = 1; i < 6; ++i) full_later += full[i], resumed_later += resumed[i];
  EXPECT_LT(resumed_later * 3, full_later) << "resumed handshakes are much cheaper";
  // Each later probe, not only most, is a full handshake. (Not against the first: its
  // one-off costs, cold caches and the server's first connection, can be a few ms, as
  // much as a whole handshake now.)
  std::vector<uint64_t> later_resumed(resumed.begin() + 1, resumed.end());
  std::sort(later_resumed.begin(), later_resumed.end());
  uint64_t fastest_full = *std::min_element(full.begin() + 1, full.end());
  EXPECT_GT(fastest_full, 2 * later_resumed[2]) << "without resumption every handshake is full";
}

// Idle connections on the TLS port hold handshake slots; past the bound the oldest
// unfinished one goes, and the first-byte timeout frees the slots for real clients.
TEST_F(TlsTest, HandshakeFloodIsBounded) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  Responder::Options o = tls_only(server_config);
  o.max_handshakes = 4;
  o.handshake_timeout_ms = 200;
  o.first_byte_timeout_ms = 200;
  o.handshake_burst_per_client = 100;
  TestRoutes responder_routes("", [] { return "{}"; });
  Responder responder(loop, o, responder_routes.table);
  responder.start();
  struct Idle : TcpStream::Events {
    Idle(Loop& l, int port) : stream(l, *this) {
      auto a = loopback4(uint16_t(port));
      stream.connect(reinterpret_cast<sockaddr*>(&a));
    }
    void on_connect(int, uint64_t) noexcept override { stream.start_reading(); }
    void on_read(int status, const char*, size_t, uint64_t) noexcept override {
      if (status != 0) closed = true;
    }
    TcpStream stream;
    bool closed = false;
  };
  std::vector<std::unique_ptr<Idle>> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(std::make_unique<Idle>(loop, responder.tls_port()));
  ASSERT_TRUE(run_until(
      loop, [&] { return responder.counters().connections == 20; }, 3000));
  EXPECT_EQ(responder.counters().evicted_handshakes, 16u);
  ASSERT_TRUE(run_until(
      loop, [&] { return responder.open_connections() == 0; }, 3000))
      << "the handshake timeout frees the slots";
  EXPECT_EQ(responder.counters().timeouts, 4u);
  Sample s = probe_once(at(responder.tls_port(), "127.0.0.1", "/v1/ping"), https_peer(client));
  EXPECT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;
}

namespace {

// A connection to the TLS port from a chosen address that never starts its handshake.
struct SilentTls : TcpStream::Events {
  SilentTls(Loop& l, int port, const char* from) : stream(l, *this) {
    sockaddr_in src{};
    uv_ip4_addr(from, 0, &src);
    uv_tcp_bind(stream.get(), reinterpret_cast<sockaddr*>(&src), 0);
    auto a = loopback4(uint16_t(port));
    stream.connect(reinterpret_cast<sockaddr*>(&a));
  }
  void on_connect(int, uint64_t) noexcept override { stream.start_reading(); }
  void on_read(int status, const char*, size_t, uint64_t) noexcept override {
    if (status != 0) closed = true;
  }
  TcpStream stream;
  bool closed = false;
};

// Opens them one at a time, so their age is known.
void hold(Loop& loop, Responder& r, std::vector<std::unique_ptr<SilentTls>>& into,
          std::initializer_list<const char*> from) {
  for (const char* f : from) {
    uint64_t before = r.counters().connections;
    into.push_back(std::make_unique<SilentTls>(loop, r.tls_port(), f));
    ASSERT_TRUE(run_until(
        loop, [&] { return r.counters().connections == before + 1; }, 3000));
  }
}

}  // namespace

// One address holds at most its share of handshake slots: past it, its own oldest goes.
TEST_F(TlsTest, HandshakeSlotsPerAddress) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  Responder::Options o = tls_only(server_config);
  o.max_handshakes_per_client = 3;
  o.handshake_burst_per_client = 100;
  TestRoutes responder_routes("", [] { return "{}"; });
  Responder responder(loop, o, responder_routes.table);
  responder.start();
  std::vector<std::unique_ptr<SilentTls>> held;
  hold(loop, responder, held, {"127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.3"});
  run_for(loop, 20);
  EXPECT_TRUE(held[0]->closed && held[1]->closed) << "the oldest went first";
  EXPECT_FALSE(held[2]->closed || held[3]->closed || held[4]->closed);
  EXPECT_EQ(responder.counters().evicted_handshakes, 2u);
}

// With every slot held by one address, a newcomer from another address takes the oldest
// of them instead of being refused, and a lighter address keeps its own.
TEST_F(TlsTest, HandshakeSlotsGoToANewcomerFromAnotherAddress) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  Responder::Options o = tls_only(server_config);
  o.max_handshakes = 4;
  o.handshake_burst_per_client = 100;
  TestRoutes responder_routes("", [] { return "{}"; });
  Responder responder(loop, o, responder_routes.table);
  responder.start();
  std::vector<std::unique_ptr<SilentTls>> held;
  hold(loop, responder, held, {"127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.4"});
  Sample s = probe_once(at(responder.tls_port(), "127.0.0.1", "/v1/ping"), https_peer(client));
  EXPECT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;
  EXPECT_TRUE(held[0]->closed) << "the heaviest address's oldest made room";
  EXPECT_FALSE(held[1]->closed || held[2]->closed);
  EXPECT_FALSE(held[3]->closed) << "the lighter address keeps its slot";
  EXPECT_EQ(responder.counters().evicted_handshakes, 1u);
}

// Each handshake costs the loop a signature: one address starts at most its burst at once
// and its rate after that, however fast it reconnects; another address is not held back.
TEST_F(TlsTest, HandshakeRatePerAddress) {
  Client client;
  TlsServerConfig server_config(client.random, cert("server.pem"), cert("server.key"));
  Responder::Options o = tls_only(server_config);
  o.handshake_burst_per_client = 2;
  o.handshake_rate_per_client = 0.001;  // no refill within the test
  TestRoutes responder_routes("", [] { return "{}"; });
  Responder responder(loop, o, responder_routes.table);
  responder.start();
  std::vector<std::unique_ptr<SilentTls>> held;
  hold(loop, responder, held, {"127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.3"});
  run_for(loop, 20);
  EXPECT_FALSE(held[0]->closed || held[1]->closed);
  EXPECT_TRUE(held[2]->closed && held[3]->closed) << "past the burst, refused";
  EXPECT_EQ(responder.counters().rejected_handshakes, 2u);
  Sample s = probe_once(at(responder.tls_port(), "127.0.0.1", "/v1/ping"), https_peer(client));
  EXPECT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;
}

// -I picks the address; the name checked (and sent as SNI) is still the URL's host.
TEST_F(TlsTest, AddressOverrideKeepsTheUrlNameForVerification) {
  OpensslServer good(cert("server.pem"), cert("server.key"));
  OpensslServer wrong(cert("wrongname.pem"), cert("server.key"));
  Client client;
  PeerSettings s = https_peer(client);
  s.address_override = "127.0.0.1";
  Sample ok = probe_once(at(good.port(), "localhost"), s);
  EXPECT_TRUE(ok.ok()) << to_string(ok.reason) << ": " << ok.detail;
  EXPECT_EQ(ok.remote_addr, "127.0.0.1");
  EXPECT_EQ(ok.t.dns, 0u) << "the override is an IP literal: no lookup";
  Sample bad = probe_once(at(wrong.port(), "localhost"), s);
  EXPECT_EQ(bad.reason, FailureReason::tls_verify);
  EXPECT_NE(bad.detail.find("name mismatch"), std::string::npos) << bad.detail;
}

#if !PINGMESH_MBEDTLS3
// mbedTLS 2.28 rebuilds an EC key's base-point table for each signature and each check
// unless the key sits in an ECDSA context (tls_config.cpp): then the table made by the
// first handshake is still there for the next, on the responder's key and on a trusted
// EC CA's. Probed both ways: our responder, and an EC CA's chain (CA_KEY=ec).
TEST_F(TlsTest, EcKeysKeepTheirBaseTableAcrossHandshakes) {
  std::string ec_ca = cert_dir() + "/ec-ca";
  std::string cmd = "CA_KEY=ec " + std::string(PINGMESH_CERTS_SCRIPT) + " " + ec_ca + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  TlsClientOptions o;
  o.ca_file = ec_ca + "/ca.pem";
  Client client(o);
  TlsServerConfig server_config(client.random, ec_ca + "/server.pem", ec_ca + "/server.key");
  EXPECT_EQ(mbedtls_pk_get_type(&server_config.key()), MBEDTLS_PK_ECDSA);
  EXPECT_EQ(mbedtls_pk_get_type(&client.config.trusted().pk), MBEDTLS_PK_ECDSA);
  EXPECT_EQ(mbedtls_pk_ec(server_config.key())->grp.T, nullptr) << "none before a handshake";
  TestRoutes responder_routes("", [] { return "{}"; });
  Responder responder(loop, tls_only(server_config), responder_routes.table);
  responder.start();
  for (int i = 0; i < 2; ++i) {
    Sample s = probe_once(at(responder.tls_port(), "localhost", "/v1/ping"), https_peer(client));
    ASSERT_TRUE(s.ok()) << to_string(s.reason) << ": " << s.detail;
    EXPECT_NE(std::string(s.tls_cipher).find("ECDHE-ECDSA"), std::string::npos) << s.tls_cipher;
  }
  EXPECT_NE(mbedtls_pk_ec(server_config.key())->grp.T, nullptr) << "the signing key's table";
  EXPECT_NE(mbedtls_pk_ec(client.config.trusted().pk)->grp.T, nullptr) << "the CA's table";
}
#endif
