#pragma once

#include <functional>

#include "loop/loop.hpp"

namespace pingmesh {

class Signal : public Handle<uv_signal_t> {
 public:
  using Callback = std::function<void(int signum)>;

  Signal(Loop& loop, int signum, Callback cb) : cb_(std::move(cb)) {
    uv_signal_init(loop.get(), h_);
    attach(this);
    uv_signal_start(
        h_, [](uv_signal_t* s, int n) { owner<Signal>(s)->cb_(n); }, signum);
  }

  // A stand-by signal handler must not keep the loop alive.
  void unref() { uv_unref(handle()); }

 private:
  Callback cb_;
};

}  // namespace pingmesh
