// A client TCP connection timed by the kernel. The socket is our own (watched in the
// loop's EventSet, connect, send and recvmsg by hand) so that every event comes with the
// kernel's own time of it, which the loop's other work cannot inflate:
// - connect: the SYN -> SYN/ACK round trip, tcpi_rtt read when the socket turns writable;
// - each write: when the kernel sent it (SO_TIMESTAMPING TX_SOFTWARE, keyed by OPT_ID);
// - each read: when its bytes arrived (the software RX stamp of the recvmsg).
// Where Linux gives no stamp (another kernel, qemu-user), the times are 0 and the user
// can only fall back on the loop's own clock. See doc/timing.md for what each one means.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "loop/event_set.hpp"
#include "loop/loop.hpp"

namespace pingmesh {

class TimedStream final : private EventSet::Watcher {
 public:
  struct Connected {
    uint64_t now = 0;            // mono_ns when the loop saw the connection up
    uint64_t rtt_ns = 0;         // the SYN's round trip (tcpi_rtt), 0 if unknown
    bool retransmitted = false;  // a SYN was sent again: rtt_ns is no measure of it
  };
  struct Received {
    uint64_t now = 0;  // mono_ns when the loop read the bytes
    // The kernel's arrival time (mono ns) of the last segment this read took, and of the
    // first when this is the first read after a write asking for it: 0 when the kernel
    // gave none.
    uint64_t arrived_ns = 0;
    uint64_t first_arrived_ns = 0;
    // Several segments had arrived and the kernel had merged them before the read, so
    // first_arrived_ns is the newest one's: an upper bound of the first byte's arrival.
    bool coalesced = false;
  };

  class Events {
   public:
    // status 0, or a libuv error code.
    virtual void on_connect(int status, const Connected& c) noexcept = 0;
    // status 0 with data; UV_EOF or another error code with no data.
    virtual void on_read(int status, const char* data, size_t len, const Received& r) noexcept = 0;

   protected:
    ~Events() = default;
  };

  TimedStream(Loop& loop, Events& events) : loop_(loop), events_(events) {}
  ~TimedStream() { close_stream(true); }
  TimedStream(const TimedStream&) = delete;
  TimedStream& operator=(const TimedStream&) = delete;

  // Opens the one socket that keeps the kernel's RX stamping on (see timed_stream.cpp);
  // early, so that the first probes have their stamps. Connecting does it too.
  static void keep_rx_stamps_on();

  // Starts a non-blocking connect: 0, or a libuv error code (then no on_connect follows).
  int connect(const sockaddr* addr);
  // Sends all of data (what the socket cannot take yet waits and follows in order):
  // 0, or a libuv error code. Returns the write's id for sent_at in *id. With
  // time_first_byte, the answer's first read also gives the first segment's own arrival
  // (a one-byte peek before it: one more call), else only its last segment's.
  int write(std::string_view data, uint32_t* id = nullptr, bool time_first_byte = true);
  // When the kernel sent write `id` (mono ns), 0 if it has not said (yet).
  uint64_t sent_at(uint32_t id);
  // Closes politely (FIN) or with RST (a peer we give up on). The stream may be closed
  // or destroyed inside its own callbacks: it touches nothing after calling them.
  void close_stream(bool reset);
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint64_t connect_started_ns() const { return connect_started_; }

 private:
  void on_events(uint32_t events, uint64_t now) noexcept override;
  void on_readable(uint64_t now) noexcept;
  void finish_connect(uint64_t now) noexcept;
  void enable_tx_stamps() noexcept;
  void drain_error_queue(bool all) noexcept;
  int flush_pending() noexcept;
  int watch(uint32_t events) noexcept;
  uint64_t to_mono(int64_t realtime_ns) const;

  Loop& loop_;
  Events& events_;
  int fd_ = -1;
  EventSet* set_ = nullptr;  // while fd_ is open
  uint32_t watching_ = 0;    // the events set_ waits for (EPOLLIN, EPOLLOUT), 0 before added
  bool connecting_ = false;
  bool tx_stamps_ = false;
  bool wrote_since_read_ = false;
  bool peek_answer_ = false;
  // tcpi_data_segs_in: as of the last look (known until a read), and when we last wrote.
  uint32_t segments_in_ = 0, segments_at_write_ = 0;
  bool segments_known_ = false;
  uint64_t connect_started_ = 0;
  int64_t realtime_minus_mono_ = 0;  // sampled once, so all stamps share one offset
  uint64_t bytes_written_ = 0;
  std::string pending_;  // bytes the socket did not take yet
  // The kernel's send times of the latest writes, by OPT_ID key (their last byte's offset).
  struct Sent {
    uint32_t key = 0;
    uint64_t at = 0;
  };
  std::array<Sent, 8> sent_{};
  size_t sent_next_ = 0;
  unsigned stamps_awaited_ = 0;  // writes whose send time the kernel has not told yet
};

}  // namespace pingmesh
