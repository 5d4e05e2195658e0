// Work for the next loop turn. A 0 ms timer started from a timer callback runs again in
// the same turn (libuv runs every timer that is due); an idle handle runs once a turn, just
// before the poll for I/O, and while one is active that poll does not block.
#pragma once

#include <functional>

#include "loop/loop.hpp"

namespace pingmesh {

class Idle : public Handle<uv_idle_t> {
 public:
  using Callback = std::function<void()>;

  Idle(Loop& loop, Callback cb) : cb_(std::move(cb)) {
    uv_idle_init(loop.get(), h_);
    attach(this);
  }

  // Runs the callback every turn from the next one until stop().
  void start() {
    uv_idle_start(h_, [](uv_idle_t* i) noexcept { owner<Idle>(i)->cb_(); });
  }
  void stop() { uv_idle_stop(h_); }

 private:
  Callback cb_;
};

}  // namespace pingmesh
