// Lines to stdout or stderr that never block the loop. A reader that is slow or stopped
// (a full pipe, a stalled journal, a terminal on Ctrl-S) costs lines, never probes,
// answers or signals: what it cannot take yet waits in a bounded buffer, and a line that
// does not fit is dropped whole and counted. The newest lines are the ones dropped, not
// the oldest: what waits may be half written already, and a reader that resumes sees an
// unbroken stretch followed by the count of what is missing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "log/output.hpp"
#include "loop/poll.hpp"

namespace pingmesh {

class FdOutput final : public Output {
 public:
  // fd stays open; we write through a descriptor of our own (see fd_output.cpp).
  FdOutput(Loop& loop, int fd, size_t capacity);
  ~FdOutput() override;
  FdOutput(const FdOutput&) = delete;
  FdOutput& operator=(const FdOutput&) = delete;

  void write(std::string_view lines) noexcept override;

  // Called once output flows again after lines were dropped, with how many. It may
  // write to this output.
  void on_recovered(std::function<void(uint64_t dropped)> cb) { recovered_ = std::move(cb); }
  uint64_t dropped_lines() const { return dropped_; }
  size_t pending_bytes() const { return buf_.size() - head_; }
  size_t held_bytes() const { return buf_.size(); }  // memory the buffer holds

  // For the end, when the loop no longer runs: waits for the reader until deadline_ns
  // (mono_ns) at most; what is still pending then is dropped.
  void flush(uint64_t deadline_ns) noexcept;
  // Where the pipe or terminal could not be reopened as our own, its shared description
  // was made non-blocking: back as it was (the destructor does it too).
  void restore_shared_flags() noexcept;

 private:
  // direct: a file, /dev/null, or what cannot be watched: written at once.
  enum class Kind { direct, stream, socket };
  size_t put(const char* data, size_t len) noexcept;  // bytes the descriptor took
  void drain() noexcept;
  void drop(std::string_view lines) noexcept;

  int fd_ = -1;
  bool own_fd_ = false;
  Kind kind_ = Kind::direct;
  int shared_flags_ = -1;  // a shared description's flags before we made it non-blocking
  bool broken_ = false;    // the reader is gone (EPIPE) or the descriptor is unusable
  size_t capacity_;
  std::string buf_;  // whole lines, except perhaps the rest of one begun at head_
  size_t head_ = 0;
  std::unique_ptr<Poll> poll_;  // streams and sockets: told when writable
  bool polling_ = false;
  uint64_t dropped_ = 0, unreported_ = 0;
  std::function<void(uint64_t)> recovered_;
};

}  // namespace pingmesh
