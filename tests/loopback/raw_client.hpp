// A raw HTTP client for responder tests: sends fixed bytes from a chosen loopback address
// and collects everything the server says until it closes.
#pragma once

#include <string>

#include "loop/tcp.hpp"

namespace pingmesh::testing {

// Sends bytes and collects everything the server says until it closes.
class RawClient : public TcpStream::Events {
 public:
  // from: the IPv4 loopback address to connect from (one client address per test host).
  RawClient(Loop& loop, int port, std::string send, bool ipv6 = false, bool read = true,
            const char* from = nullptr)
      : stream_(loop, *this), send_(std::move(send)), read_(read) {
    sockaddr_storage ss{};
    if (ipv6)
      uv_ip6_addr("::1", port, reinterpret_cast<sockaddr_in6*>(&ss));
    else
      uv_ip4_addr("127.0.0.1", port, reinterpret_cast<sockaddr_in*>(&ss));
    if (from) {
      sockaddr_in src{};
      uv_ip4_addr(from, 0, &src);
      uv_tcp_bind(stream_.get(), reinterpret_cast<sockaddr*>(&src), 0);
    }
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
  void stop_reading() { stream_.stop_reading(); }
  void shutdown() { stream_.shutdown(); }  // FIN once what was sent is out
  void on_read(int status, const char* d, size_t n, uint64_t) noexcept override {
    if (status == 0) {
      received.append(d, n);
    } else {
      closed = true;
      end = status;
    }
  }
  void send(const std::string& more) { stream_.write(more); }

  std::string received;
  bool connected = false;
  bool closed = false;
  int end = 0;  // how the connection ended: UV_EOF (the server's FIN), UV_ECONNRESET, ...

 private:
  TcpStream stream_;
  std::string send_;
  bool read_;
};

}  // namespace pingmesh::testing
