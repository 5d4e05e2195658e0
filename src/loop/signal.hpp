#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include "loop/loop.hpp"

namespace pingmesh {

class Signal : public Handle<uv_signal_t> {
 public:
  using Callback = std::function<void(int signum)>;

  Signal(Loop& loop, int signum, Callback cb) : cb_(std::move(cb)) {
    if (uv_signal_init(loop.get(), h_) != 0) {
      discard();
      throw std::runtime_error("cannot watch signals");
    }
    attach(this);
    int rc = uv_signal_start(
        h_, [](uv_signal_t* s, int n) noexcept { owner<Signal>(s)->cb_(n); }, signum);
    if (rc != 0) throw std::runtime_error(std::string("cannot watch a signal: ") + uv_strerror(rc));
  }

  // A stand-by signal handler must not keep the loop alive.
  void unref() { uv_unref(handle()); }

 private:
  Callback cb_;
};

}  // namespace pingmesh
