#include "config/text_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pingmesh {

namespace {

// Opens without blocking (a FIFO would wait for a writer) and checks the kind of file.
int open_regular(const std::string& path, struct stat* st, std::string* why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *why = std::strerror(errno);
    return -1;
  }
  if (fstat(fd, st) != 0) {
    *why = std::strerror(errno);
  } else if (S_ISDIR(st->st_mode)) {
    *why = "a directory";
  } else if (!S_ISREG(st->st_mode)) {
    *why = "not a regular file";
  } else {
    return fd;
  }
  ::close(fd);
  return -1;
}

}  // namespace

std::string read_text_file(const std::string& path, size_t max_bytes, std::string* out) {
  struct stat st {};
  std::string why;
  int fd = open_regular(path, &st, &why);
  if (fd < 0) return why;
  std::string too_big = "larger than " + std::to_string(max_bytes) + " bytes";
  if (size_t(st.st_size) > max_bytes) {
    ::close(fd);
    return too_big;
  }
  out->clear();
  char buf[16384];
  for (;;) {  // the file may grow while we read: the bound holds all the same
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) why = std::strerror(errno);
    if (n <= 0) break;
    if (out->size() + size_t(n) > max_bytes) {
      why = too_big;
      break;
    }
    out->append(buf, size_t(n));
  }
  ::close(fd);
  if (!why.empty()) out->clear();
  return why;
}

std::string regular_file_problem(const std::string& path) {
  struct stat st {};
  std::string why;
  int fd = open_regular(path, &st, &why);
  if (fd >= 0) ::close(fd);
  return why;
}

std::string file_stamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace pingmesh
