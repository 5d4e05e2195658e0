#pragma once

#include <functional>

#include "loop/loop.hpp"

namespace pingmesh {

// Readiness of a descriptor someone else owns (c-ares' sockets, stdout).
class Poll : public Handle<uv_poll_t> {
 public:
  using Callback = std::function<void(int status, int events)>;

  Poll(Loop& loop, int fd, Callback cb) : cb_(std::move(cb)) {
    if (uv_poll_init_socket(loop.get(), h_, fd) != 0) {
      discard();
      return;
    }
    attach(this);
  }

  int start(int events) {
    if (!h_) return UV_EBADF;
    return uv_poll_start(h_, events, [](uv_poll_t* p, int status, int ev) noexcept {
      owner<Poll>(p)->cb_(status, ev);
    });
  }
  void stop() {
    if (h_) uv_poll_stop(h_);
  }

 private:
  Callback cb_;
};

}  // namespace pingmesh
