#include "loop/timed_stream.hpp"

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "loop/clock.hpp"
#include "loop/tcp.hpp"

namespace pingmesh {

namespace {

// Linux 6.2's; older headers lack it. With it, a key counts the bytes of the stream
// whatever state the socket was in when OPT_ID was set.
constexpr int kOptIdTcp = 1 << 16;
constexpr int kRxFlags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE;
constexpr int kTxFlags =
    kRxFlags | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

int uv_error(int err) {
  return -err;  // libuv's codes on Unix
}

int set_stamping(int fd, int flags) {
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
}

// A software stamp (CLOCK_REALTIME, ns) from a control message; 0 if there is none.
int64_t stamp_of(const cmsghdr* c) {
  if (c->cmsg_level != SOL_SOCKET) return 0;
  if (c->cmsg_type == SO_TIMESTAMPING_OLD) {
    long ts[2];  // the first of three __kernel_old_timespec: software
    std::memcpy(ts, CMSG_DATA(c), sizeof ts);
    return int64_t(ts[0]) * 1000000000 + ts[1];
  }
  if (c->cmsg_type == SO_TIMESTAMPING_NEW) {
    int64_t ts[2];  // __kernel_timespec
    std::memcpy(ts, CMSG_DATA(c), sizeof ts);
    return ts[0] * 1000000000 + ts[1];
  }
  return 0;
}

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// glibc's tcp_info stops at tcpi_total_retrans; Linux's goes on (linux/tcp.h, which
// cannot be included beside netinet/tcp.h, and uv.h includes that one).
struct LinuxTcpInfo {
  tcp_info glibc;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in;
};
static_assert(sizeof(tcp_info) % 8 == 0 && offsetof(LinuxTcpInfo, pacing_rate) == sizeof(tcp_info));

struct TcpFacts {
  uint32_t rtt_us = 0;
  uint32_t retransmits = 0;
  uint32_t data_segs_in = 0;
};

TcpFacts tcp_facts(int fd) {
  LinuxTcpInfo info{};
  socklen_t len = sizeof info;
  TcpFacts f;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return f;
  // A shorter answer (qemu-user gives 4 bytes) leaves the rest unknown: 0.
  if (len >= offsetof(tcp_info, tcpi_rttvar)) f.rtt_us = info.glibc.tcpi_rtt;
  if (len >= sizeof(tcp_info)) f.retransmits = info.glibc.tcpi_total_retrans;
  if (len >= sizeof info) f.data_segs_in = info.data_segs_in;
  return f;
}

constexpr size_t kControlBytes = 256;

}  // namespace

// The kernel takes software RX stamps only while some socket asks for them, and switches
// that on in deferred work: a probe's own socket, opened just before its answer comes,
// can miss it. One socket that asks from start-up to exit keeps it on; it is never
// closed, on purpose.
void TimedStream::keep_rx_stamps_on() {
  static const int keeper = [] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) set_stamping(fd, kRxFlags);
    return fd;
  }();
  (void)keeper;
}

int TimedStream::connect(const sockaddr* addr) {
  if (fd_ >= 0) return UV_EALREADY;
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return uv_error(errno);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  keep_rx_stamps_on();  // the stamps themselves are asked for once connected (OPT_ID)

  set_ = EventSet::of(loop_);
  if (!set_) {
    ::close(fd);
    return UV_ENOMEM;
  }
  fd_ = fd;

  // One offset for every stamp of the connection: phases are differences of stamps, so
  // they stay exactly the kernel's, whatever the wall clock does meanwhile.
  int64_t before = clock_ns(CLOCK_MONOTONIC);
  int64_t real = clock_ns(CLOCK_REALTIME);
  int64_t after = clock_ns(CLOCK_MONOTONIC);
  realtime_minus_mono_ = real - (before + after) / 2;

  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  connect_started_ = mono_ns();
  if (::connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close_stream(true);
    return uv_error(err);
  }
  connecting_ = true;
  if (int rc = watch(EPOLLOUT); rc != 0) {
    close_stream(true);
    return rc;
  }
  return 0;
}

void TimedStream::finish_connect(uint64_t now) noexcept {
  connecting_ = false;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    events_.on_connect(uv_error(err), Connected{.now = now});
    return;
  }
  // tcpi_rtt before the first write: later ACKs would fold into it.
  TcpFacts f = tcp_facts(fd_);
  segments_in_ = f.data_segs_in;
  segments_known_ = true;
  enable_tx_stamps();
  if (watch(pending_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT) != 0) {
    events_.on_connect(UV_EBADF, Connected{.now = now});
    return;
  }
  events_.on_connect(
      0, Connected{
             .now = now, .rtt_ns = uint64_t(f.rtt_us) * 1000, .retransmitted = f.retransmits > 0});
}

void TimedStream::enable_tx_stamps() noexcept {
  // Set once connected: OPT_ID is refused before, and so a kernel without OPT_ID_TCP
  // counts keys from the same place (no byte has been sent yet). RX stamps come with
  // it: nothing arrives before our first write.
  tx_stamps_ = set_stamping(fd_, kTxFlags | kOptIdTcp) == 0 || set_stamping(fd_, kTxFlags) == 0;
  if (!tx_stamps_) set_stamping(fd_, kRxFlags);
}

int TimedStream::write(std::string_view data, uint32_t* id, bool time_first_byte) {
  if (fd_ < 0 || connecting_) return UV_EBADF;
  bytes_written_ += data.size();
  uint32_t key = uint32_t(bytes_written_ - 1);  // OPT_ID: the offset of the write's last byte
  if (id) *id = key;
  if (data.empty()) return 0;
  if (!segments_known_) segments_in_ = tcp_facts(fd_).data_segs_in;
  segments_known_ = true;  // until the next read
  segments_at_write_ = segments_in_;
  wrote_since_read_ = true;
  peek_answer_ = time_first_byte;
  if (tx_stamps_) ++stamps_awaited_;
  if (!pending_.empty()) {
    pending_.append(data);
    return 0;
  }
  ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return uv_error(errno);
    n = 0;
  }
  if (size_t(n) < data.size()) {
    pending_.assign(data.substr(size_t(n)));
    return watch(EPOLLIN | EPOLLOUT);
  }
  if (tx_stamps_) drain_error_queue(false);  // a software send stamp is taken in send()
  return 0;
}

int TimedStream::flush_pending() noexcept {
  while (!pending_.empty()) {
    ssize_t n = send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return uv_error(errno);
    }
    pending_.erase(0, size_t(n));
  }
  std::string().swap(pending_);
  return watch(EPOLLIN);
}

uint64_t TimedStream::sent_at(uint32_t id) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const Sent& s : sent_)
      if (s.at && s.key == id) return s.at;
    if (pass == 0 && fd_ >= 0 && stamps_awaited_) drain_error_queue(false);
  }
  return 0;
}

// Takes the send stamps the kernel queued: all of them (the queue raises EPOLLERR while
// it is not empty), or, when nothing else is queued, those awaited.
void TimedStream::drain_error_queue(bool all) noexcept {
  for (int i = 0; i < 64 && (all || stamps_awaited_ > 0); ++i) {
    alignas(cmsghdr) char control[kControlBytes];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    int64_t stamp = 0;
    const sock_extended_err* err = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (int64_t s = stamp_of(c)) stamp = s;
      if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
        err = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
    }
    if (!stamp || !err || err->ee_origin != SO_EE_ORIGIN_TIMESTAMPING) continue;
    sock_extended_err e;
    std::memcpy(&e, err, sizeof e);
    if (e.ee_info != SCM_TSTAMP_SND) continue;
    sent_[sent_next_] = Sent{e.ee_data, to_mono(stamp)};
    sent_next_ = (sent_next_ + 1) % sent_.size();
    if (stamps_awaited_) --stamps_awaited_;
  }
}

void TimedStream::on_events(uint32_t events, uint64_t now) noexcept {
  if (events & EPOLLERR) {
    // A queued send stamp raises EPOLLERR too: that is no error. A socket error is.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      if (connecting_) {
        connecting_ = false;
        events_.on_connect(uv_error(err), Connected{.now = now});
      } else {
        events_.on_read(uv_error(err), nullptr, 0, Received{.now = now});
      }
      return;
    }
    drain_error_queue(true);
  } else if (stamps_awaited_) {
    drain_error_queue(false);
  }
  if (connecting_) {
    // A hang-up before the connect completed: finish_connect reads its error.
    if (events & (EPOLLOUT | EPOLLHUP)) finish_connect(now);
    return;
  }
  if ((events & EPOLLOUT) && !pending_.empty()) {
    if (int rc = flush_pending(); rc != 0) {
      events_.on_read(rc, nullptr, 0, Received{.now = now});
      return;
    }
    if (tx_stamps_) drain_error_queue(false);
  }
  // A hang-up is read too: the read gives the end (0) or the error.
  if (events & (EPOLLIN | EPOLLHUP)) on_readable(now);
}

void TimedStream::on_readable(uint64_t now) noexcept {
  alignas(cmsghdr) char control[kControlBytes];
  Received r{.now = now};
  bool answer = wrote_since_read_;  // the first read of what answers our last write
  segments_known_ = false;
  if (answer && peek_answer_) {
    // A one-byte peek gives the stamp of the segment holding the first unread byte; the
    // read below gives the last segment's it takes.
    char byte;
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd_, &msg, MSG_PEEK | MSG_DONTWAIT) > 0)
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (int64_t s = stamp_of(c)) r.first_arrived_ns = to_mono(s);
  }
  iovec iov{shared_read_buffer(), kSharedReadBufferSize};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    events_.on_read(uv_error(errno), nullptr, 0, r);
    return;
  }
  if (n == 0) {
    events_.on_read(UV_EOF, nullptr, 0, r);
    return;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (int64_t s = stamp_of(c)) r.arrived_ns = to_mono(s);
  if (answer) {
    wrote_since_read_ = false;
    if (!r.arrived_ns) r.first_arrived_ns = 0;
    if (!r.first_arrived_ns) r.first_arrived_ns = r.arrived_ns;
    // Several data segments came, yet the first byte's stamp is the last one's: they
    // were merged before we read (or the read stopped inside the first: then not).
    if (peek_answer_ && r.arrived_ns && r.first_arrived_ns == r.arrived_ns &&
        tcp_facts(fd_).data_segs_in - segments_at_write_ > 1) {
      int left = 0;
      r.coalesced = ioctl(fd_, SIOCINQ, &left) == 0 && left == 0;
    }
  } else {
    r.first_arrived_ns = r.arrived_ns;
  }
  events_.on_read(0, shared_read_buffer(), size_t(n), r);
}

void TimedStream::close_stream(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger l{1, 0};  // close() sends RST
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  // Its events not delivered yet go now; closing the socket takes it out of the set.
  if (watching_) set_->forget(*this);
  set_ = nullptr;
  ::close(fd_);
  fd_ = -1;
  connecting_ = false;
  watching_ = 0;
}

int TimedStream::watch(uint32_t events) noexcept {
  if (!set_) return UV_EBADF;
  if (events == watching_) return 0;
  int rc = watching_ ? set_->modify(fd_, events, *this) : set_->add(fd_, events, *this);
  if (rc == 0) watching_ = events;
  return rc;
}

uint64_t TimedStream::to_mono(int64_t realtime_ns) const {
  int64_t mono = realtime_ns - realtime_minus_mono_;
  return mono > 0 ? uint64_t(mono) : 0;
}

}  // namespace pingmesh
