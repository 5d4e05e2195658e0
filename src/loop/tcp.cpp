#include "loop/tcp.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "loop/clock.hpp"

namespace pingmesh {

// One read buffer for every stream: the loop is single-threaded and each read is
// consumed inside its callback, so no stream needs a buffer of its own.
char* shared_read_buffer() {
  static char buffer[kSharedReadBufferSize];
  return buffer;
}

namespace {

void alloc_shared(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(shared_read_buffer(), kSharedReadBufferSize);
}

// The request and its bytes in one allocation, freed in the write callback.
struct WriteRequest {
  uv_write_t req;
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

struct SharedWriteRequest {
  uv_write_t req;
  std::shared_ptr<const std::string> data;
};

}  // namespace

TcpStream::TcpStream(Loop& loop, Events& events) : events_(events) {
  uv_tcp_init(loop.get(), h_);
  attach(this);
}

void TcpStream::no_delay() {
  if (h_) uv_tcp_nodelay(h_, 1);
}

int TcpStream::connect(const sockaddr* addr) {
  if (!h_) return UV_EBADF;
  auto* req = new uv_connect_t;
  int rc = uv_tcp_connect(req, h_, addr, [](uv_connect_t* r, int status) noexcept {
    uint64_t now = mono_ns();
    auto* self = static_cast<TcpStream*>(r->handle->data);
    delete r;
    if (self) self->events_.on_connect(status, now);
  });
  if (rc != 0) delete req;
  return rc;
}

int TcpStream::start_reading() {
  if (!h_) return UV_EBADF;
  return uv_read_start(reinterpret_cast<uv_stream_t*>(h_), alloc_shared,
                       [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
                         uint64_t now = mono_ns();
                         auto* self = static_cast<TcpStream*>(s->data);
                         if (!self || n == 0) return;
                         if (n > 0)
                           self->events_.on_read(0, buf->base, size_t(n), now);
                         else
                           self->events_.on_read(int(n), nullptr, 0, now);
                       });
}

void TcpStream::stop_reading() {
  if (h_) uv_read_stop(reinterpret_cast<uv_stream_t*>(h_));
}

int TcpStream::write(std::string_view data) {
  if (!h_) return UV_EBADF;
  auto* w = static_cast<WriteRequest*>(std::malloc(sizeof(WriteRequest) + data.size()));
  if (!w) return UV_ENOMEM;
  std::memcpy(w->data(), data.data(), data.size());
  uv_buf_t buf = uv_buf_init(w->data(), unsigned(data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(h_), &buf, 1,
                    [](uv_write_t* r, int status) noexcept {
                      auto* self = static_cast<TcpStream*>(r->handle->data);
                      std::free(reinterpret_cast<WriteRequest*>(r));
                      if (self) self->events_.on_written(status);
                    });
  if (rc != 0) std::free(w);
  return rc;
}

int TcpStream::send(std::string_view data) {
  if (!h_) return UV_EBADF;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), unsigned(data.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(h_), &buf, 1);
  if (n == int(data.size())) return 1;
  if (n < 0 && n != UV_EAGAIN) return n;
  int rc = write(data.substr(n > 0 ? size_t(n) : 0));
  return rc;
}

int TcpStream::write(std::shared_ptr<const std::string> data, size_t at, size_t len) {
  if (!h_) return UV_EBADF;
  auto* w = new SharedWriteRequest{{}, std::move(data)};
  uv_buf_t buf = uv_buf_init(const_cast<char*>(w->data->data() + at), unsigned(len));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(h_), &buf, 1,
                    [](uv_write_t* r, int status) noexcept {
                      auto* self = static_cast<TcpStream*>(r->handle->data);
                      delete reinterpret_cast<SharedWriteRequest*>(r);
                      if (self) self->events_.on_written(status);
                    });
  if (rc != 0) delete w;
  return rc;
}

int TcpStream::shutdown() {
  if (!h_) return UV_EBADF;
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(h_),
                       [](uv_shutdown_t* r, int) noexcept { delete r; });
  if (rc != 0) delete req;
  return rc;
}

int TcpStream::fd() const {
  uv_os_fd_t fd = -1;
  if (h_) uv_fileno(handle(), &fd);
  return fd;
}

void TcpStream::reset() {
  if (!h_) return;
  h_->data = nullptr;
  if (uv_tcp_close_reset(h_, [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); }) != 0)
    uv_close(handle(), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  h_ = nullptr;
}

TcpListener::TcpListener(Loop& loop, OnConnection cb) : cb_(std::move(cb)) {
  uv_tcp_init(loop.get(), h_);
  attach(this);
}

int TcpListener::listen(const sockaddr* addr, int backlog) {
  int rc = bind(addr);
  return rc != 0 ? rc : listen(backlog);
}

int TcpListener::bind(const sockaddr* addr) {
  unsigned flags = addr->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  return uv_tcp_bind(h_, addr, flags);
}

int TcpListener::listen(int backlog) {
  return uv_listen(reinterpret_cast<uv_stream_t*>(h_), backlog,
                   [](uv_stream_t* s, int status) noexcept {
                     auto* self = static_cast<TcpListener*>(s->data);
                     if (self && status == 0) self->cb_(*self);
                   });
}

int TcpListener::set_accepted_options(bool no_delay, int send_buffer_bytes) {
  int rc = no_delay ? uv_tcp_nodelay(h_, 1) : 0;
  if (rc == 0 && send_buffer_bytes > 0) rc = uv_send_buffer_size(handle(), &send_buffer_bytes);
  return rc;
}

int TcpListener::defer_accept(int seconds) {
  uv_os_fd_t fd = -1;
  if (uv_fileno(handle(), &fd) != 0) return UV_EBADF;
  return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) == 0
             ? 0
             : uv_translate_sys_error(errno);
}

int TcpListener::accept(TcpStream& into) {
  return uv_accept(reinterpret_cast<uv_stream_t*>(h_), reinterpret_cast<uv_stream_t*>(into.get()));
}

int TcpListener::port() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(h_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

std::string format_addr(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(sa), ip, sizeof ip);
    return std::string("[") + ip + "]";
  }
  // By hand: every probe formats its peer's address, and inet_ntop's snprintf is 20
  // times the work.
  uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
  char* out = ip;
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned octet = (a >> shift) & 0xff;
    if (octet >= 100) *out++ = char('0' + octet / 100);
    if (octet >= 10) *out++ = char('0' + octet / 10 % 10);
    *out++ = char('0' + octet % 10);
    if (shift) *out++ = '.';
  }
  return std::string(ip, size_t(out - ip));
}

}  // namespace pingmesh
