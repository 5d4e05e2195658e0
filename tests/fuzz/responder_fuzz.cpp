// The responder's request path, whole: a real Responder on the loop, listening on
// 127.0.0.1 port 0, and one client connection per input that sends the input in pieces
// and then its FIN. The responder must answer in HTTP, close, and keep no connection.
// (Connection's parsing, bounds and pipelining live with its socket: this drives them
// as a peer would, over loopback, rather than a copy of them.)
//
// Input: one byte that picks the piece size, then the bytes a client sends.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "http/ping_page.hpp"
#include "http/responder.hpp"
#include "http/routes.hpp"
#include "loop/clock.hpp"
#include "loop/loop.hpp"

using pingmesh::Responder;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

Responder::Options options() {
  Responder::Options o;
  o.addresses = {"127.0.0.1"};
  // Small bounds, so that inputs of a few KB reach the 431 and 413 answers.
  o.max_header_bytes = 1024;
  o.max_body_bytes = 512;
  return o;
}

// The daemon's kinds of route: a small page, a shared page, and one that reads a body.
pingmesh::Routes routes(pingmesh::SharedPage& peers) {
  using namespace pingmesh;
  Routes t;
  Routes::Route ping;
  ping.path = "/v1/ping";
  ping.handler = [](const Request&) { return Reply::text(200, ping_page("Fuzz,XX")); };
  t.set(std::move(ping));
  t.set(shared_page_route("/v1/peers", "peers", "application/json", peers));
  Routes::Route echo;  // the API's shape: a bounded body, a prefix, methods
  echo.path = "/v1/echo/";
  echo.prefix = true;
  echo.methods = method_bit(Method::post) | method_bit(Method::del) | kReadOnly;
  echo.max_body = 256;
  echo.handler = [](const Request& r) {
    return Reply::text(r.body.empty() ? 204 : 200, std::string(r.body) + std::string(r.path));
  };
  t.set(std::move(echo));
  return t;
}

struct Server {
  pingmesh::Loop loop;
  pingmesh::SharedPage peers{"/v1/peers", [] { return std::string("{\"SrvLoc\": \"Fuzz,XX\"}\n"); },
                             1000000000, 1 << 20};
  pingmesh::Routes table = routes(peers);
  std::unique_ptr<Responder> responder = std::make_unique<Responder>(loop, options(), table);
  Server() {
    std::signal(SIGPIPE, SIG_IGN);
    responder->start();
  }
  // At exit, after the last input: every handle the inputs made must be closed.
  ~Server() {
    responder.reset();
    check(loop.close() == 0);
  }
  void turn() { uv_run(loop.get(), UV_RUN_NOWAIT); }
};

int connect_client(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  check(rc == 0 || errno == EINPROGRESS);
  pollfd p{fd, POLLOUT, 0};
  check(poll(&p, 1, 1000) == 1 && !(p.revents & (POLLERR | POLLHUP)));
  return fd;
}

// Reads what the responder sent so far; true once it closed its side.
bool drain(int fd, std::string& got) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (got.size() < 64) got.append(buf, size_t(n) < 64 ? size_t(n) : 64);
      continue;
    }
    if (n == 0) return true;
    check(errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNRESET);
    return errno == ECONNRESET;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server server;
  if (size < 1) return 0;
  const size_t piece = (data[0] & 0x3f) ? (data[0] & 0x3f) * (data[0] & 0xc0 ? 16 : 1) : size;
  std::string_view request(reinterpret_cast<const char*>(data + 1), size - 1);

  const uint64_t connections = server.responder->counters().connections;
  int fd = connect_client(server.responder->port());
  for (int i = 0; i < 1000 && server.responder->counters().connections == connections; ++i)
    server.turn();
  check(server.responder->counters().connections == connections + 1);

  // Each piece is its own read on the responder's side, as far as TCP allows.
  std::string got;
  bool closed = false;
  for (size_t at = 0; at < request.size() && !closed; at += piece) {
    auto part = request.substr(at, piece);
    ssize_t n = send(fd, part.data(), part.size(), MSG_NOSIGNAL);
    if (n < 0) check(errno == EPIPE || errno == ECONNRESET);
    if (n < 0) break;
    check(size_t(n) == part.size());  // loopback buffers far exceed the input
    server.turn();
    closed = drain(fd, got);
  }
  if (!closed) shutdown(fd, SHUT_WR);

  // The responder answers what it read, sees the FIN, and closes: at once, so 5 s is a hang.
  const uint64_t deadline = pingmesh::mono_ns() + 5000000000ull;
  while (!closed) {
    server.turn();
    closed = drain(fd, got);
    if (closed) break;
    check(pingmesh::mono_ns() < deadline);
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 0);
  }
  if (!got.empty()) check(std::string_view(got).starts_with("HTTP/1.1 "));

  // No TIME_WAIT left behind: the client closes with a reset once the responder closed.
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
  for (int i = 0; i < 3; ++i) server.turn();
  check(server.responder->open_connections() == 0);
  return 0;
}
