#include "loop/fd_output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

#include "loop/clock.hpp"

namespace pingmesh {

namespace {

// A pipe write of at most PIPE_BUF bytes is all or nothing: writing whole lines in such
// chunks, lines never break, even when stdout and stderr share the pipe.
size_t chunk_of_lines(std::string_view text) {
  if (text.size() <= PIPE_BUF) return text.size();
  size_t end = text.rfind('\n', PIPE_BUF - 1);
  if (end != std::string_view::npos) return end + 1;
  end = text.find('\n');  // one line longer than PIPE_BUF
  return end == std::string_view::npos ? text.size() : end + 1;
}

size_t count_lines(std::string_view text) {
  size_t n = size_t(std::count(text.begin(), text.end(), '\n'));
  return n + (!text.empty() && text.back() != '\n');
}

}  // namespace

FdOutput::FdOutput(Loop& loop, int fd, size_t capacity) : capacity_(capacity) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    broken_ = true;
    return;
  }
  if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd))) {
    // Reopened through /proc, a pipe or terminal gets a file description of our own, so
    // O_NONBLOCK does not reach the shell or the other programs sharing it. Else (no
    // /proc) we make the shared one non-blocking, as libuv does for its pipes.
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    fd_ = open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) {
      fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      shared_flags_ = fcntl(fd, F_GETFL);  // given back at the end
    }
    kind_ = Kind::stream;
  } else if (S_ISSOCK(st.st_mode)) {
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 3);  // written with MSG_DONTWAIT
    kind_ = Kind::socket;
  } else {
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 3);  // a file or /dev/null: never waits for a reader
    kind_ = Kind::direct;
  }
  own_fd_ = fd_ >= 0;
  if (fd_ < 0) {
    broken_ = true;
    return;
  }
  if (kind_ != Kind::direct) {
    int flags = fcntl(fd_, F_GETFL);
    // libuv makes the descriptor non-blocking: right for our own pipe or terminal; a
    // socket's description is shared with fds 1 and 2 and needs no O_NONBLOCK, since we
    // send with MSG_DONTWAIT, so it gets its flags back.
    poll_ = std::make_unique<Poll>(loop, fd_, [this](int, int) { drain(); });
    if (kind_ == Kind::socket) fcntl(fd_, F_SETFL, flags);
    if (!poll_->is_open()) {  // cannot be watched: written directly, and so waited for
      kind_ = Kind::direct;
      fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    }
  }
}

FdOutput::~FdOutput() {
  // Lines written after the daemon's own flush (a component's last words): briefly.
  if (pending_bytes()) flush(mono_ns() + 100'000'000);
  poll_.reset();  // closes the handle before the descriptor goes
  restore_shared_flags();
  if (own_fd_) close(fd_);
}

void FdOutput::restore_shared_flags() noexcept {
  if (shared_flags_ >= 0) fcntl(fd_, F_SETFL, shared_flags_);
  shared_flags_ = -1;
}

size_t FdOutput::put(const char* data, size_t len) noexcept {
  size_t done = 0;
  while (done < len && !broken_) {
    size_t chunk = kind_ == Kind::direct ? len - done : chunk_of_lines({data + done, len - done});
    ssize_t n = kind_ == Kind::socket ? send(fd_, data + done, chunk, MSG_DONTWAIT | MSG_NOSIGNAL)
                                      : ::write(fd_, data + done, chunk);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken_ = true;  // EPIPE, EIO, ENOSPC...: nobody takes our lines any more
  }
  return done;
}

void FdOutput::write(std::string_view lines) noexcept {
  if (lines.empty()) return;
  if (broken_) return drop(lines);
  if (pending_bytes() == 0) {
    buf_.clear();
    head_ = 0;
    size_t n = put(lines.data(), lines.size());
    if (n > 0 && n < lines.size() && lines[n - 1] != '\n') {
      // The rest of a line that is half out must follow, whatever the bound says.
      size_t eol = lines.find('\n', n);
      size_t end = eol == std::string_view::npos ? lines.size() : eol + 1;
      buf_.append(lines.substr(n, end - n));
      n = end;
    }
    lines.remove_prefix(n);
  }
  if (!lines.empty()) {
    // What is already out stays out of the buffer's size, so the bound holds.
    if (head_ > capacity_ / 2) {
      buf_.erase(0, head_);
      head_ = 0;
    }
    // One call, one message (a summary, a multi-line log): kept or dropped whole.
    if (pending_bytes() + lines.size() <= capacity_ && !broken_)
      buf_.append(lines);
    else
      drop(lines);
  }
  if (pending_bytes() && !polling_ && poll_ && poll_->start(UV_WRITABLE) == 0) polling_ = true;
}

void FdOutput::drop(std::string_view lines) noexcept {
  size_t n = count_lines(lines);
  dropped_ += n;
  unreported_ += n;
}

// Writable again: out with what waited; once all is out, say what was lost meanwhile.
void FdOutput::drain() noexcept {
  head_ += put(buf_.data() + head_, pending_bytes());
  if (broken_) {
    drop({buf_.data() + head_, pending_bytes()});
    head_ = buf_.size();
  }
  if (pending_bytes()) return;
  buf_.clear();
  head_ = 0;
  if (buf_.capacity() > 64 * 1024) buf_.shrink_to_fit();  // a burst should not stay resident
  if (polling_) {
    poll_->stop();
    polling_ = false;
  }
  if (unreported_ && !broken_ && recovered_) recovered_(std::exchange(unreported_, 0));
}

void FdOutput::flush(uint64_t deadline_ns) noexcept {
  if (pending_bytes()) drain();
  while (pending_bytes() && !broken_) {
    uint64_t now = mono_ns();
    if (now >= deadline_ns) break;
    struct pollfd p = {fd_, POLLOUT, 0};
    int ms = int(std::min<uint64_t>((deadline_ns - now) / 1000000 + 1, 1000));
    if (::poll(&p, 1, ms) < 0 && errno != EINTR) break;
    drain();
  }
  if (pending_bytes()) {
    drop({buf_.data() + head_, pending_bytes()});
    head_ = buf_.size();
  }
}

}  // namespace pingmesh
