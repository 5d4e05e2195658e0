// The kernel's clock against the loop's: while our loop is busy with other work, the
// kernel-timed phases stay what the network and the server did, the loop's clock grows,
// and the sample says so. The server runs on a thread of its own, so our busy loop
// cannot delay it.
#include "harness.hpp"

#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include "dns/resolver.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

constexpr uint64_t kMs = 1000000;

// Answers each connection after holding the request hold_ms (to an absolute deadline),
// the head and the body in one write, or the body gap_ms after the head.
class ThreadServer {
 public:
  ThreadServer(uint64_t hold_ms, uint64_t gap_ms = 0) : hold_ms_(hold_ms), gap_ms_(gap_ms) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage a = loopback4();
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(sockaddr_in));
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ThreadServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::atomic<bool> delay_acks{false};

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval bound{2, 0};  // a test that goes wrong must not hang here
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
      int zero = 0;  // ACK with the answer, not at once: the client's ACK stamp comes late
      if (delay_acks) setsockopt(c, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, size_t(n));
      }
      timespec at{};
      clock_gettime(CLOCK_MONOTONIC, &at);
      timespec read_at = at;
      sleep_until(at, hold_ms_);
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      char head[160];
      std::snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer-Timing: hold;dur=%.3f\r\n"
                    "Connection: close\r\n\r\n",
                    double(ns(now) - ns(read_at)) / 1e6);
      if (gap_ms_ == 0) {
        std::string all = std::string(head) + "ok";
        (void)!write(c, all.data(), all.size());
      } else {
        (void)!write(c, head, std::strlen(head));
        sleep_until(now, gap_ms_);
        (void)!write(c, "ok", 2);
      }
      close(c);
    }
  }
  static uint64_t ns(const timespec& t) { return uint64_t(t.tv_sec) * 1000000000 + t.tv_nsec; }
  static void sleep_until(timespec& from, uint64_t ms) {
    uint64_t deadline = ns(from) + ms * kMs;
    timespec d{time_t(deadline / 1000000000), long(deadline % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, nullptr) != 0) {
    }
  }

  uint64_t hold_ms_, gap_ms_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void busy(uint64_t ms) {
  uint64_t until = mono_ns() + ms * kMs;
  while (mono_ns() < until) {
  }
}

PeerSettings once() {
  PeerSettings s;
  s.delay_ms = 1000;
  s.limit = 1;
  return s;
}

}  // namespace

class KernelTimingTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(loop.close(), 0) << "a uv handle leaked"; }

  // One probe of server, while the loop does busy_ms of other work from busy_at_ms on.
  Sample probe(const ThreadServer& server, uint64_t busy_at_ms, uint64_t busy_ms,
               ProbeLimits limits = {}) {
    Resolver resolver(loop, {});
    Recorder rec;
    Peer peer(loop, resolver, url("http://127.0.0.1:" + std::to_string(server.port()) + "/"),
              once(), limits, rec, 1);
    Timer other_work(loop, [&] { busy(busy_ms); });
    peer.start(0);
    other_work.start(busy_at_ms);
    EXPECT_TRUE(run_until(
        loop, [&] { return !rec.ended.empty(); }, 5000));
    EXPECT_EQ(rec.samples.size(), 1u);
    return rec.samples.empty() ? Sample{} : rec.samples[0].sample;
  }

  // The machine may be busy with other programs too, which can make the server late
  // between its clock and its write: a few tries, the first that looks right kept. A
  // broken clock fails every try.
  template <typename Accept>
  Sample probe_until(Accept accept, const ThreadServer& server, uint64_t busy_at_ms,
                     uint64_t busy_ms, ProbeLimits limits = {}) {
    Sample s;
    for (int i = 0; i < 3; ++i) {
      s = probe(server, busy_at_ms, busy_ms, limits);
      if (accept(s)) break;
    }
    return s;
  }

  Loop loop;
};

// First less the server's own hold (its Server-Timing): the network's part.
uint64_t network_first(const Sample& s) {
  return s.peer_hold_ns >= 0 && s.kernel.first >= uint64_t(s.peer_hold_ns)
             ? s.kernel.first - uint64_t(s.peer_hold_ns)
             : UINT64_MAX;
}

TEST_F(KernelTimingTest, QuietLoopBothClocksAgree) {
  ThreadServer server(10);
  Sample s = probe_until(
      [](const Sample& s) { return network_first(s) < 2 * kMs && !s.quality.disturbed; }, server, 0,
      0);
  ASSERT_TRUE(s.ok()) << to_string(s.reason);
  EXPECT_EQ(s.kernel_phases, kKernelTcp | kKernelFirst | kKernelLastb | kKernelTotal);
  EXPECT_EQ(s.quality.missing_stamps, 0);
  // The server's hold is 10 ms, more if the machine is busy and its thread wakes late:
  // First less the hold it says is the network's time.
  EXPECT_GE(s.peer_hold_ns, int64_t(10 * kMs)) << "the server's Server-Timing";
  EXPECT_GE(s.kernel.first, uint64_t(s.peer_hold_ns));
  EXPECT_LT(s.kernel.first - uint64_t(s.peer_hold_ns), 2 * kMs);
  EXPECT_LT(s.kernel.tcp, 2 * kMs);
  EXPECT_GE(s.user.first, s.kernel.first) << "the loop sees the answer after it came";
  EXPECT_FALSE(s.quality.disturbed);
  EXPECT_EQ(s.t.first, s.kernel.first) << "timing = kernel reports the kernel's";
  EXPECT_EQ(s.t.total, s.kernel.tcp + s.kernel.first + s.kernel.lastb);
}

TEST_F(KernelTimingTest, BusyLoopDuringTheWaitInflatesOnlyTheLoopsFirst) {
  ThreadServer server(20);
  // The answer comes at about 20 ms; the loop is busy from 5 to 45 ms. A try counts when
  // the answer came inside the busy time (a busy machine can wake the server late).
  Sample s = probe_until(
      [](const Sample& s) {
        return network_first(s) < 2 * kMs && s.peer_hold_ns < int64_t(30 * kMs);
      },
      server, 5, 40);
  ASSERT_TRUE(s.ok()) << to_string(s.reason);
  ASSERT_TRUE(s.kernel_phases & kKernelFirst);
  EXPECT_GE(s.peer_hold_ns, int64_t(20 * kMs));
  EXPECT_GE(s.kernel.first, uint64_t(s.peer_hold_ns));
  EXPECT_LT(s.kernel.first - uint64_t(s.peer_hold_ns), 2 * kMs)
      << "the kernel's arrival stamp, not our late read";
  EXPECT_GE(s.user.first, 38 * kMs) << "the loop read it once its other work was done";
  EXPECT_EQ(s.t.first, s.kernel.first);
  EXPECT_TRUE(s.quality.disturbed);
  EXPECT_GE(s.quality.other_work_ns, 39 * kMs);
  // Read at 45 ms at the soonest, it arrived at about TCP + First: late by the rest.
  EXPECT_GE(s.quality.loop_lag_ns + s.kernel.tcp + s.kernel.first + 3 * kMs, 45 * kMs);
  EXPECT_TRUE(s.counts_in_statistics()) << "its kernel times are good";
}

TEST_F(KernelTimingTest, BusyLoopDuringTheConnectInflatesOnlyTheLoopsTcp) {
  ThreadServer server(0);
  // Busy right after the probe's connect began.
  Sample s = probe_until([](const Sample& s) { return s.kernel.tcp < 2 * kMs; }, server, 0, 30);
  ASSERT_TRUE(s.ok()) << to_string(s.reason);
  ASSERT_TRUE(s.kernel_phases & kKernelTcp);
  EXPECT_LT(s.kernel.tcp, 2 * kMs) << "the SYN's round trip";
  EXPECT_GE(s.user.tcp, 29 * kMs);
  EXPECT_EQ(s.t.tcp, s.kernel.tcp);
  EXPECT_TRUE(s.quality.disturbed);
}

TEST_F(KernelTimingTest, TimingUserReportsTheLoopsClock) {
  ThreadServer server(20);
  ProbeLimits user;
  user.kernel_timing = false;
  Sample s = probe(server, 5, 40, user);
  ASSERT_TRUE(s.ok()) << to_string(s.reason);
  EXPECT_EQ(s.t.first, s.user.first);
  EXPECT_EQ(s.t.tcp, s.user.tcp);
  EXPECT_EQ(s.t.total, s.user.total);
  EXPECT_TRUE(s.kernel_phases & kKernelFirst) << "the kernel's times are still kept";
  EXPECT_FALSE(s.counts_in_statistics()) << "disturbed, and reported by the loop's clock";
}

TEST_F(KernelTimingTest, AFirstByteStampIsExactOrSaysItIsNot) {
  // Head at 0 ms, body 10 ms later, both arriving while the loop is busy: the kernel may
  // merge the two segments, and then the first byte's stamp is the body's.
  ThreadServer server(0, 10);
  Sample s = probe(server, 1, 30);
  ASSERT_TRUE(s.ok()) << to_string(s.reason);
  ASSERT_TRUE(s.kernel_phases & kKernelFirst);
  if (s.quality.coalesced)
    EXPECT_GE(s.kernel.first, 10 * kMs) << "an upper bound: the later segment's stamp";
  else
    EXPECT_LT(s.kernel.first, 5 * kMs) << "exact: the head's own stamp";
}

// Stamps that come after send() returns (a NIC's, or here the ACK's) wait in the error
// queue, which raises EPOLLERR (level-triggered: again and again until it is read; with
// a uv_poll, libuv 1.44 stopped the handle on it). The stream must take them and read
// on, without spinning.
TEST_F(KernelTimingTest, LateStampsNeitherStopNorSpinTheStream) {
  ThreadServer server(20);
  server.delay_acks = true;
  struct Client : TimedStream::Events {
    explicit Client(Loop& loop) : stream(loop, *this), later(loop, [this] { send(); }) {}
    void on_connect(int status, const TimedStream::Connected&) noexcept override {
      connected = status;
      if (status != 0) return;
      // Ask for the ACK's stamp too: the server sends its ACK with the answer.
      int flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
                  SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_OPT_ID |
                  SOF_TIMESTAMPING_OPT_TSONLY;
      acks = setsockopt(stream.fd(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0;
      later.start(10);  // once the server has accepted and turned quick ACKs off
    }
    void send() { stream.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &request); }
    void on_read(int status, const char* data, size_t len,
                 const TimedStream::Received&) noexcept override {
      if (status == 0)
        received.append(data, len);
      else
        ended = status;
    }
    TimedStream stream;
    Timer later;
    int connected = 1, ended = 0;
    bool acks = false;
    uint32_t request = 0;
    std::string received;
  } client(loop);
  sockaddr_storage to = loopback4(uint16_t(server.port()));
  ASSERT_EQ(client.stream.connect(reinterpret_cast<sockaddr*>(&to)), 0);
  timespec cpu0{}, cpu1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  ASSERT_TRUE(run_until(
      loop, [&] { return client.ended != 0; }, 3000));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  EXPECT_TRUE(client.acks);
  EXPECT_EQ(client.ended, UV_EOF);
  EXPECT_NE(client.received.find("\r\n\r\nok"), std::string::npos) << client.received;
  EXPECT_GT(client.stream.sent_at(client.request), 0u);
  double cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
  EXPECT_LT(cpu_ms, 10) << "a 30 ms wait spent spinning";
  client.stream.close_stream(false);
}
