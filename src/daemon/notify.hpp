// systemd's notify protocol, spoken directly (routers have no libsystemd): one datagram
// per state change to $NOTIFY_SOCKET, and WATCHDOG=1 from the loop so a stalled loop
// gets the service restarted.
#pragma once

#include <cstdint>
#include <string>

namespace pingmesh {

class Notifier {
 public:
  Notifier();  // reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // "READY=1", "STATUS=…", "RELOADING=1", "STOPPING=1", "WATCHDOG=1"; never blocks.
  void send(const std::string& state);
  // How often to send WATCHDOG=1, in ms (half of WatchdogSec); 0 when not asked.
  uint64_t watchdog_interval_ms() const { return watchdog_ms_; }

 private:
  int fd_ = -1;
  std::string path_;
  uint64_t watchdog_ms_ = 0;
};

}  // namespace pingmesh
