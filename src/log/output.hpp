// Where lines of text go: stdout (data) and stderr (logs). The daemon replaces the
// direct writers with ones that never block its loop (loop/fd_output.hpp).
#pragma once

#include <string_view>

namespace pingmesh {

class Output {
 public:
  virtual ~Output() = default;
  // Takes whole lines (text ending in '\n'): each is written whole or dropped whole.
  virtual void write(std::string_view lines) noexcept = 0;
};

// Straight to a descriptor, waiting if the reader is slow: for start-up and exit, when
// there is no loop to stall.
class DirectOutput final : public Output {
 public:
  explicit DirectOutput(int fd) : fd_(fd) {}
  void write(std::string_view lines) noexcept override;

 private:
  int fd_;
};

// Opens /dev/null on any of descriptors 0-2 that is closed, so that nothing we open later
// (libuv's signal pipe, a socket) becomes "stdout" by accident. First thing in main.
void open_missing_std_fds() noexcept;

}  // namespace pingmesh
