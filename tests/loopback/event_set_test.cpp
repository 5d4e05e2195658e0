// The timed streams' own epoll set: events of a watcher forgotten inside another's
// callback are not delivered, a watched descriptor keeps the loop running, and a
// stream left open keeps the loop from closing (a leak is seen, as with uv handles);
// and format_addr, which each probe calls.
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"
#include "loop/event_set.hpp"
#include "loop/timed_stream.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

// One end of a socket pair, watched for reading; the other end written to at once.
struct PairWatcher : EventSet::Watcher {
  PairWatcher() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    EXPECT_EQ(write(fds[1], "x", 1), 1);
  }
  ~PairWatcher() {
    close_watched();
    ::close(fds[1]);
  }
  void close_watched() {
    if (fds[0] < 0) return;
    if (set) set->forget(*this);
    ::close(fds[0]);
    fds[0] = -1;
  }
  void on_events(uint32_t events, uint64_t) noexcept override {
    ++calls;
    got = events;
    if (on_event) on_event();
  }
  int fds[2] = {-1, -1};
  EventSet* set = nullptr;
  int calls = 0;
  uint32_t got = 0;
  std::function<void()> on_event;
};

TEST(EventSet, AWatcherForgottenInsideAnothersCallbackHearsNothingMore) {
  Loop loop;
  EventSet* set = EventSet::of(loop);
  ASSERT_NE(set, nullptr);
  PairWatcher a, b;
  a.set = b.set = set;
  // Both are ready before the loop looks: one batch holds them both. Whichever comes
  // first closes the other, as a probe drops its other connection attempts.
  a.on_event = [&] {
    b.close_watched();
    a.close_watched();
  };
  b.on_event = [&] {
    a.close_watched();
    b.close_watched();
  };
  ASSERT_EQ(set->add(a.fds[0], EPOLLIN, a), 0);
  ASSERT_EQ(set->add(b.fds[0], EPOLLIN, b), 0);
  loop.run();  // ends when nothing is watched any more
  EXPECT_EQ(a.calls + b.calls, 1);
  EXPECT_EQ(set->watched(), 0u);
  EXPECT_EQ(loop.close(), 0);
}

TEST(EventSet, AWatchedDescriptorKeepsTheLoopRunning) {
  Loop loop;
  EventSet* set = EventSet::of(loop);
  ASSERT_NE(set, nullptr);
  PairWatcher a;
  a.set = set;
  a.on_event = [&] { a.close_watched(); };
  // Nothing else is alive in the loop: run() returns only after the event.
  ASSERT_EQ(set->add(a.fds[0], EPOLLIN, a), 0);
  loop.run();
  EXPECT_EQ(a.calls, 1);
  EXPECT_TRUE(a.got & EPOLLIN);
  // With nothing watched, the set does not hold the loop: run() returns at once.
  loop.run();
  EXPECT_EQ(loop.close(), 0);
}

TEST(EventSet, AStreamLeftOpenKeepsTheLoopFromClosing) {
  Loop loop;
  auto server = std::make_unique<ScriptedServer>(loop, ScriptedServer::Mode::stall);
  struct Quiet : TimedStream::Events {
    void on_connect(int status, const TimedStream::Connected&) noexcept override {
      connected = status == 0;
    }
    void on_read(int, const char*, size_t, const TimedStream::Received&) noexcept override {}
    bool connected = false;
  } events;
  TimedStream stream(loop, events);
  sockaddr_storage to = loopback4(uint16_t(server->port()));
  ASSERT_EQ(stream.connect(reinterpret_cast<sockaddr*>(&to)), 0);
  ASSERT_TRUE(run_until(
      loop, [&] { return events.connected; }, 3000));
  server.reset();  // the stream is all that is left
  EXPECT_NE(loop.close(), 0) << "an open stream went unnoticed";
  stream.close_stream(true);
  EXPECT_EQ(loop.close(), 0);
}

}  // namespace

// The probe's own formatting of its peer's address (IPv4 by hand) against inet_ntop.
TEST(FormatAddr, SaysWhatInetNtopSays) {
  for (const char* ip :
       {"0.0.0.0", "127.0.0.1", "10.0.100.9", "192.168.1.20", "255.255.255.255", "1.22.133.4"}) {
    sockaddr_in a{};
    ASSERT_EQ(uv_ip4_addr(ip, 80, &a), 0);
    EXPECT_EQ(format_addr(reinterpret_cast<sockaddr*>(&a)), ip);
  }
  sockaddr_in6 a6{};
  ASSERT_EQ(uv_ip6_addr("::1", 80, &a6), 0);
  EXPECT_EQ(format_addr(reinterpret_cast<sockaddr*>(&a6)), "[::1]");
}
