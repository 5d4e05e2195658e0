#pragma once

#include <functional>

#include "loop/loop.hpp"

namespace pingmesh {

class Timer : public Handle<uv_timer_t> {
 public:
  using Callback = std::function<void()>;

  Timer(Loop& loop, Callback cb) : cb_(std::move(cb)) {
    uv_timer_init(loop.get(), h_);
    attach(this);
  }

  void start(uint64_t ms) {
    uv_timer_start(
        h_, [](uv_timer_t* t) noexcept { owner<Timer>(t)->cb_(); }, ms, 0);
  }
  void stop() { uv_timer_stop(h_); }
  bool pending() const { return uv_is_active(handle()); }
  // The loop keeps running while an unreferenced timer is pending only if something else does.
  void unref() { uv_unref(handle()); }

 private:
  Callback cb_;
};

}  // namespace pingmesh
