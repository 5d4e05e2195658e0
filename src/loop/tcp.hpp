// TCP streams and listeners. Every event carries the monotonic time read on the
// first line of libuv's callback, so timings never include our own processing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "loop/loop.hpp"

namespace pingmesh {

// The buffer every stream reads into (see tcp.cpp).
inline constexpr size_t kSharedReadBufferSize = 64 * 1024;
char* shared_read_buffer();

class TcpStream : public Handle<uv_tcp_t> {
 public:
  class Events {
   public:
    virtual void on_connect(int /*status*/, uint64_t /*now*/) noexcept {}
    // status 0 with data; UV_EOF or another error code with no data.
    virtual void on_read(int status, const char* data, size_t len, uint64_t now) noexcept = 0;
    virtual void on_written(int /*status*/) noexcept {}

   protected:
    ~Events() = default;
  };

  TcpStream(Loop& loop, Events& events);

  int connect(const sockaddr* addr);
  int start_reading();
  void stop_reading();
  int write(std::string_view data);  // copies the data
  // Sends what the kernel takes now (uv_try_write) and queues a copy of the rest: 1 when
  // all of it went at once (no on_written follows), 0 when some was queued (on_written
  // follows once it is out), or a libuv error. Order is kept: nothing goes at once while
  // an earlier write is queued.
  int send(std::string_view data);
  // Writes bytes [at, at + len) of a shared buffer without copying; the write holds a
  // reference until it is done, so many connections can send one page.
  int write(std::shared_ptr<const std::string> data, size_t at, size_t len);
  // Sends FIN once queued writes are out; reading goes on until the peer closes.
  int shutdown();
  int fd() const;
  // Small writes leave at once (TCP_NODELAY); set once connected or accepted.
  void no_delay();
  // Closes the connection with RST instead of FIN (a peer we give up on).
  void reset();

 private:
  friend class TcpListener;
  Events& events_;
};

class TcpListener : public Handle<uv_tcp_t> {
 public:
  using OnConnection = std::function<void(TcpListener& self)>;

  TcpListener(Loop& loop, OnConnection cb);

  // Binds and listens; returns a libuv error code. For IPv6, binds v6-only so an
  // IPv4 listener can share the port.
  int listen(const sockaddr* addr, int backlog = 511);
  // The same in two steps, for options set in between (below).
  int bind(const sockaddr* addr);
  int listen(int backlog = 511);
  // Options Linux copies from the listening socket to each accepted one, so they cost
  // one setsockopt here instead of one per connection: TCP_NODELAY, and a fixed send
  // buffer (bytes, as SO_SNDBUF takes them; 0 leaves the kernel's). The kernel copies
  // them when a connection's handshake completes, before accept(): set them after bind()
  // and before listen(), or the first connections may miss them.
  int set_accepted_options(bool no_delay, int send_buffer_bytes);
  // TCP_DEFER_ACCEPT: a connection is handed to us only once its first bytes came (or after
  // about `seconds`, when the kernel gives up waiting), so a request costs one wake-up.
  int defer_accept(int seconds);
  int accept(TcpStream& into);
  int port() const;

 private:
  OnConnection cb_;
};

// "[::1]" or "127.0.0.1": the original's form of a remote address.
std::string format_addr(const sockaddr* sa);

}  // namespace pingmesh
