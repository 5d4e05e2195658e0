// Many descriptors watched through one uv_poll: an epoll set of our own, whose own
// descriptor libuv watches. A uv_poll per socket costs six epoll_ctl calls and an ioctl
// over a short connection's life (libuv 1.44 adds and removes a descriptor to test it,
// and removes and adds it again whenever the events change); here a socket costs one
// ADD, one MOD per change of events, and nothing to leave (its close takes it out), for
// one more epoll_wait each time the loop wakes for it. One per loop (Loop::part), made
// on first use.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include "loop/loop.hpp"

namespace pingmesh {

class EventSet final : public Loop::Part {
 public:
  class Watcher {
   public:
    // events: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP as epoll gave them; now: mono_ns()
    // read first when the event was taken. The watcher may forget itself (and other
    // watchers) inside: events not delivered yet go with it.
    virtual void on_events(uint32_t events, uint64_t now) noexcept = 0;

   protected:
    ~Watcher() = default;
  };

  // The loop's set, made on first use; nullptr if the kernel refused one.
  static EventSet* of(Loop& loop);

  explicit EventSet(Loop& loop);
  ~EventSet() override;
  EventSet(const EventSet&) = delete;
  EventSet& operator=(const EventSet&) = delete;

  // 0, or a libuv error code. watch() first adds fd, then changes its events.
  int add(int fd, uint32_t events, Watcher& w);
  int modify(int fd, uint32_t events, Watcher& w);
  // Before fd is closed: its events not yet delivered are dropped. No call to the
  // kernel: closing the socket takes it out of the set (none of our sockets is shared
  // with another process or duplicated).
  void forget(Watcher& w);

  bool in_use() const override { return watched_ > 0; }
  size_t watched() const { return watched_; }

 private:
  void on_ready() noexcept;

  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;  // freed in its close callback
  size_t watched_ = 0;
  // The batch being delivered: forget() clears a watcher's entries not reached yet.
  std::array<epoll_event, 64> batch_{};
  int batch_size_ = 0, batch_next_ = 0;
};

}  // namespace pingmesh
