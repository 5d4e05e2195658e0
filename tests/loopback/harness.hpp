// Shared pieces for loopback tests: bounded loop runs, and small misbehaving servers
// on 127.0.0.1 port 0. Every test ends by checking that the loop closes cleanly.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/url.hpp"
#include "loop/clock.hpp"
#include "loop/loop.hpp"
#include "loop/tcp.hpp"
#include "loop/timer.hpp"
#include "probe/peer.hpp"

namespace pingmesh::testing {

// Runs the loop until `done` holds or max_ms pass; returns whether `done` held.
inline bool run_until(Loop& loop, const std::function<bool()>& done, uint64_t max_ms) {
  bool timed_out = false;
  Timer limit(loop, [&] { timed_out = true; });
  limit.start(max_ms);
  std::function<void()> tick;
  Timer poll(loop, [&] {
    if (done() || timed_out) {
      loop.stop();
      return;
    }
    tick();
  });
  tick = [&] { poll.start(2); };
  tick();
  loop.run();
  return done();
}

inline void run_for(Loop& loop, uint64_t ms) {
  run_until(
      loop, [] { return false; }, ms);
}

inline Url url(const std::string& text) {
  std::string err;
  auto u = parse_url(text, &err);
  EXPECT_TRUE(u) << err;
  return u.value();  // throws, failing the test, rather than reading an empty optional
}

inline sockaddr_storage loopback4(uint16_t port = 0) {
  sockaddr_storage ss{};
  uv_ip4_addr("127.0.0.1", port, reinterpret_cast<sockaddr_in*>(&ss));
  return ss;
}

// A TCP server on 127.0.0.1 that misbehaves on purpose: it never answers (stall),
// or closes in the middle of the body, or sends fixed bytes then closes.
class ScriptedServer {
 public:
  enum class Mode { stall, close_mid_body, answer_raw };

  ScriptedServer(Loop& loop, Mode mode, std::string raw = {})
      : loop_(loop),
        mode_(mode),
        raw_(std::move(raw)),
        listener_(loop, [this](TcpListener& l) { accept(l); }) {
    auto addr = loopback4();
    EXPECT_EQ(listener_.listen(reinterpret_cast<sockaddr*>(&addr)), 0);
  }

  int port() const { return listener_.port(); }
  int accepted() const { return int(conns_.size()); }

 private:
  struct Conn : TcpStream::Events {
    Conn(ScriptedServer& s) : server(s), stream(s.loop_, *this) {}
    void on_read(int status, const char*, size_t, uint64_t) noexcept override {
      if (status != 0 || server.mode_ == Mode::stall || answered) return;
      answered = true;
      stream.write(server.mode_ == Mode::close_mid_body
                       ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789"
                       : server.raw_);
    }
    void on_written(int) noexcept override { stream.close(); }
    ScriptedServer& server;
    TcpStream stream;
    bool answered = false;
  };

  void accept(TcpListener& l) {
    conns_.push_back(std::make_unique<Conn>(*this));
    l.accept(conns_.back()->stream);
    conns_.back()->stream.start_reading();
  }

  Loop& loop_;
  Mode mode_;
  std::string raw_;
  TcpListener listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

// Collects what peers report.
struct Recorder : Peer::Events {
  struct Entry {
    Peer* peer;
    Sample sample;
    uint64_t at_ns;
  };
  std::vector<Entry> samples;
  std::vector<Peer*> ended;

  void on_sample(Peer& p, const Sample& s) noexcept override {
    samples.push_back({&p, s, mono_ns()});
  }
  void on_peer_ended(Peer& p) noexcept override { ended.push_back(&p); }

  std::vector<Entry> of(const Peer& p) const {
    std::vector<Entry> out;
    for (const auto& e : samples)
      if (e.peer == &p) out.push_back(e);
    return out;
  }
};

}  // namespace pingmesh::testing
