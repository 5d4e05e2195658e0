#include "daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "log/log.hpp"

namespace pingmesh {

Notifier::Notifier() {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path && (socket_path[0] == '/' || socket_path[0] == '@') &&
      std::strlen(socket_path) < sizeof(sockaddr_un::sun_path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    path_ = socket_path;
  }
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  bool for_us = !pid || std::strtol(pid, nullptr, 10) == long(getpid());
  if (usec && for_us) watchdog_ms_ = std::strtoull(usec, nullptr, 10) / 2000;
}

Notifier::~Notifier() {
  if (fd_ >= 0) close(fd_);
}

void Notifier::send(const std::string& state) {
  if (fd_ < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + path_.size());
  if (sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
             len) < 0) {
    static log::Once logged;
    if (logged.first())
      PM_LOG(warning, "cannot notify systemd: %s (logged once)", std::strerror(errno));
  }
}

}  // namespace pingmesh
