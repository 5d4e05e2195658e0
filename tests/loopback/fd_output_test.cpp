// stdout and stderr that never block the loop: bounded, whole lines, and no O_NONBLOCK
// left on a description others share.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "harness.hpp"
#include "loop/fd_output.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

constexpr int F_SETPIPE_SZ_ = 1031;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    r = fds[0];
    w = fds[1];
    fcntl(w, F_SETPIPE_SZ_, 4096);
    fcntl(r, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    close(r);
    close(w);
  }
  std::string read_some(size_t max) {
    std::string out(max, '\0');
    ssize_t n = ::read(r, out.data(), max);
    out.resize(n > 0 ? size_t(n) : 0);
    return out;
  }
};

std::string line(int i) {  // 100 bytes
  char head[16];
  std::snprintf(head, sizeof head, "line %06d ", i);
  return head + std::string(87, 'x') + "\n";
}

}  // namespace

TEST(FdOutput, AReaderSlightlySlowerThanTheWriterCannotGrowTheBuffer) {
  Loop loop;
  {
    Pipe p;
    FdOutput out(loop, p.w, 64 * 1024);
    size_t most = 0;
    std::string got;
    for (int i = 0; i < 20000; ++i) {
      out.write(line(i));  // 100 bytes written, 90 read, every turn
      got += p.read_some(90);
      loop.run_nowait();
      most = std::max(most, out.held_bytes());
    }
    EXPECT_LE(most, 64 * 1024 + 64 * 1024 / 2 + 100) << "held by the buffer at its most";
    EXPECT_GT(out.dropped_lines(), 0u);
    // Whatever arrived is whole lines, in order.
    size_t end = got.rfind('\n');
    ASSERT_NE(end, std::string::npos);
    std::string whole = got.substr(0, end + 1);
    int last = -1;
    for (size_t at = 0; at < whole.size();) {
      size_t eol = whole.find('\n', at);
      std::string l = whole.substr(at, eol - at + 1);
      ASSERT_EQ(l.size(), 100u) << l;
      int n = std::stoi(l.substr(5));
      EXPECT_GT(n, last);
      last = n;
      at = eol + 1;
    }
  }
  EXPECT_EQ(loop.close(), 0);
}

TEST(FdOutput, AMessageIsKeptOrDroppedWhole) {
  Loop loop;
  {
    Pipe p;
    FdOutput out(loop, p.w, 8 * 1024);
    std::string fill;
    while (fill.size() < 4096) fill += line(0);
    out.write(fill);  // the pipe is full, the rest waits
    std::string summary = "\nRecorded 2 samples in 2s, average values:\n# header\n" +
                          std::string(8 * 1024, 'v') + "\n\n";
    out.write(summary);  // does not fit: none of its lines is kept
    EXPECT_EQ(out.dropped_lines(), 5u);
    while (!p.read_some(65536).empty() || out.pending_bytes()) loop.run_nowait();
    out.write("after\n");
    std::string rest;
    for (int i = 0; i < 100 && rest.find("after\n") == std::string::npos; ++i) {
      loop.run_nowait();
      rest += p.read_some(65536);
    }
    EXPECT_EQ(rest, "after\n") << "no line of the dropped message";
  }
  EXPECT_EQ(loop.close(), 0);
}

TEST(FdOutput, ASharedSocketKeepsItsBlockingMode) {
  Loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  {
    FdOutput out(loop, sv[0], 1024);
    EXPECT_EQ(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0) << "the journal's socket is shared";
    out.write("hello\n");
    char buf[16] = {};
    EXPECT_EQ(::read(sv[1], buf, sizeof buf), 6);
  }
  close(sv[0]);
  close(sv[1]);
  EXPECT_EQ(loop.close(), 0);
}

TEST(FdOutput, APipeIsReopenedAsOurOwn) {
  Loop loop;
  {
    Pipe p;
    int before = fcntl(p.w, F_GETFL);
    FdOutput out(loop, p.w, 1024);
    EXPECT_EQ(fcntl(p.w, F_GETFL), before) << "the shell's description stays blocking";
    out.write("x\n");
    EXPECT_EQ(p.read_some(16), "x\n");
  }
  EXPECT_EQ(loop.close(), 0);
}
