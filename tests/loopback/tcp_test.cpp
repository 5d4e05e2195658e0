// TcpStream::send (at once when the kernel takes it, queued otherwise, in order) and the
// options a listener hands to the sockets it accepts, over real loopback sockets.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "harness.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

struct Side : TcpStream::Events {
  explicit Side(Loop& loop) : stream(loop, *this) {}
  void on_connect(int status, uint64_t) noexcept override { connected = status == 0; }
  void on_read(int status, const char* d, size_t n, uint64_t) noexcept override {
    if (status == 0) received.append(d, n);
  }
  void on_written(int status) noexcept override {
    if (status == 0) ++written;
  }
  TcpStream stream;
  std::string received;
  bool connected = false;
  int written = 0;
};

// A connected pair: the client side, and the side the listener accepted.
struct Pair {
  // late: the options are set after listen(), once the connection came.
  Pair(Loop& loop, bool set_options, int send_buffer = 0, bool late = false)
      : client(loop),
        server(loop),
        listener(loop, [this](TcpListener& l) { accepted = l.accept(server.stream) == 0; }) {
    sockaddr_storage ss = loopback4();
    EXPECT_EQ(listener.bind(reinterpret_cast<sockaddr*>(&ss)), 0);
    if (set_options && !late) {
      EXPECT_EQ(listener.set_accepted_options(true, send_buffer), 0);
    }
    EXPECT_EQ(listener.listen(), 0);
    sockaddr_storage to = loopback4(uint16_t(listener.port()));
    client.stream.connect(reinterpret_cast<sockaddr*>(&to));
    EXPECT_TRUE(run_until(
        loop, [&] { return accepted && client.connected; }, 3000));
    if (set_options && late) {
      EXPECT_EQ(listener.set_accepted_options(true, send_buffer), 0);
    }
  }
  Side client, server;
  TcpListener listener;
  bool accepted = false;
};

int int_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

}  // namespace

class TcpTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }
  Loop loop;
};

TEST_F(TcpTest, SendGoesAtOnceThenQueuesInOrder) {
  {
    Pair p(loop, true, 16384);
    EXPECT_EQ(p.server.stream.send("hello "), 1) << "the kernel takes a small write at once";
    // The client does not read: fill its socket buffers until a send is queued.
    std::string sent = "hello ";
    int queued = 0, at_once = 1;
    for (int i = 0; i < 2000 && queued == 0; ++i) {
      std::string chunk(8192, char('a' + i % 26));
      int rc = p.server.stream.send(chunk);
      ASSERT_GE(rc, 0);
      (rc == 1 ? at_once : queued) += 1;
      sent += chunk;
    }
    ASSERT_EQ(queued, 1) << "the buffers filled (bounded: 16 MB at most)";
    EXPECT_GT(at_once, 1);
    // Nothing goes at once behind a queued write, or the bytes would overtake it.
    EXPECT_EQ(p.server.stream.send("!"), 0);
    sent += "!";
    p.client.stream.start_reading();
    ASSERT_TRUE(run_until(
        loop, [&] { return p.client.received.size() >= sent.size(); }, 5000));
    EXPECT_TRUE(p.client.received == sent) << "every byte, in order";
    EXPECT_EQ(p.server.written, 2) << "one on_written per queued send, none for the others";
  }
}

// Linux copies TCP_NODELAY and a locked SO_SNDBUF from the listener to accepted sockets.
TEST_F(TcpTest, AcceptedSocketsTakeTheListenersOptions) {
  {
    Pair with(loop, true, 32768);
    EXPECT_EQ(int_option(with.server.stream.fd(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(int_option(with.server.stream.fd(), SOL_SOCKET, SO_SNDBUF), 2 * 32768)
        << "the kernel doubles what it is given";
    Pair without(loop, false);
    EXPECT_EQ(int_option(without.server.stream.fd(), IPPROTO_TCP, TCP_NODELAY), 0);
    EXPECT_NE(int_option(without.server.stream.fd(), SOL_SOCKET, SO_SNDBUF), 2 * 32768);
  }
}

// Why the options are set between bind() and listen(): the kernel copies them when a
// connection's handshake completes, before we accept it, so one that came before they
// were set misses them; set before listen(), none can.
TEST_F(TcpTest, ListenerOptionsReachOnlyConnectionsAfterThem) {
  {
    Pair early(loop, true, 16384);
    EXPECT_EQ(int_option(early.server.stream.fd(), IPPROTO_TCP, TCP_NODELAY), 1);
    Pair late(loop, true, 16384, /*late=*/true);
    EXPECT_EQ(int_option(late.server.stream.fd(), IPPROTO_TCP, TCP_NODELAY), 0)
        << "the connection came before the options";
  }
}
