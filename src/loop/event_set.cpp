#include "loop/event_set.hpp"

#include <unistd.h>

#include <cerrno>

#include "loop/clock.hpp"

namespace pingmesh {

EventSet* EventSet::of(Loop& loop) {
  std::unique_ptr<Loop::Part>& part = loop.event_set();
  if (!part) {
    auto set = std::make_unique<EventSet>(loop);
    if (!set->poll_) return nullptr;
    part = std::move(set);
  }
  return static_cast<EventSet*>(part.get());
}

EventSet::EventSet(Loop& loop) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return;
  poll_ = new uv_poll_t{};
  if (uv_poll_init(loop.get(), poll_, epfd_) != 0) {
    delete poll_;
    poll_ = nullptr;
    return;
  }
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* p, int, int) noexcept {
    if (auto* self = static_cast<EventSet*>(p->data)) self->on_ready();
  });
  // Nothing watched keeps the loop alive on our account; add() refs it again.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

EventSet::~EventSet() {
  if (poll_) {
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  if (epfd_ >= 0) ::close(epfd_);
}

int EventSet::add(int fd, uint32_t events, Watcher& w) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = &w;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &e) != 0) return -errno;
  if (watched_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  return 0;
}

int EventSet::modify(int fd, uint32_t events, Watcher& w) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = &w;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &e) != 0 ? -errno : 0;
}

void EventSet::forget(Watcher& w) {
  for (int i = batch_next_; i < batch_size_; ++i)
    if (batch_[i].data.ptr == &w) batch_[i].data.ptr = nullptr;
  if (watched_ > 0 && --watched_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

// One batch a wake-up: what is still ready after it (a socket not read to its end) is
// reported again, as epoll is level-triggered here, and the loop wakes for it again.
void EventSet::on_ready() noexcept {
  int n = epoll_wait(epfd_, batch_.data(), int(batch_.size()), 0);
  if (n <= 0) return;
  batch_size_ = n;
  for (batch_next_ = 0; batch_next_ < batch_size_;) {
    epoll_event e = batch_[batch_next_++];
    uint64_t now = mono_ns();
    if (auto* w = static_cast<Watcher*>(e.data.ptr)) w->on_events(e.events, now);
  }
  batch_size_ = batch_next_ = 0;
}

}  // namespace pingmesh
