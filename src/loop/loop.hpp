// The event loop, and the base of every handle wrapper.
#pragma once

#include <uv.h>

#include <memory>
#include <utility>

namespace pingmesh {

class Loop {
 public:
  Loop() {
    uv_loop_init(&loop_);
    // The time spent waiting for events: a probe's loop time less it is work.
    uv_loop_configure(&loop_, UV_METRICS_IDLE_TIME);
  }
  ~Loop() { close(); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* get() { return &loop_; }
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }
  void run_once() { uv_run(&loop_, UV_RUN_ONCE); }
  void run_nowait() { uv_run(&loop_, UV_RUN_NOWAIT); }
  void stop() { uv_stop(&loop_); }

  // What lives as long as the loop and has a handle of its own: the timed streams'
  // event set (loop/event_set.hpp), made on first use. close() ends it first, unless it
  // is still in use: then a stream leaked, and the loop does not close.
  class Part {
   public:
    virtual ~Part() = default;
    virtual bool in_use() const = 0;
  };
  std::unique_ptr<Part>& event_set() { return event_set_; }

  // Runs pending close callbacks, then closes the loop: 0 when no handle leaked.
  int close() {
    if (closed_) return 0;
    if (event_set_ && !event_set_->in_use()) event_set_.reset();
    for (int i = 0; i < 8 && uv_loop_alive(&loop_); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&loop_);
    closed_ = rc == 0;
    return rc;
  }

 private:
  uv_loop_t loop_;
  bool closed_ = false;
  std::unique_ptr<Part> event_set_;
};

// Owns one uv handle. The handle's memory is separate from this object and is freed
// only in its close callback, so destroying the owner at any time is safe: callbacks
// find data == nullptr and are never delivered to a dead owner.
template <typename UvHandle>
class Handle {
 public:
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  UvHandle* get() const { return h_; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_); }
  bool is_open() const { return h_ != nullptr; }

  void close() noexcept {
    if (!h_) return;
    h_->data = nullptr;
    uv_close(handle(), [](uv_handle_t* h) { delete reinterpret_cast<UvHandle*>(h); });
    h_ = nullptr;
  }

 protected:
  Handle() : h_(new UvHandle{}) {}
  ~Handle() { close(); }

  // Call after a successful uv_*_init; on failure, discard() instead.
  void attach(void* owner) { h_->data = owner; }
  void discard() {
    delete h_;
    h_ = nullptr;
  }

  template <typename Owner>
  static Owner* owner(UvHandle* h) {
    return static_cast<Owner*>(h->data);
  }

  UvHandle* h_;
};

}  // namespace pingmesh
