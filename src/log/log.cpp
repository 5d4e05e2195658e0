#include "log/log.hpp"

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace pingmesh::log {

namespace {
Level g_max = Level::notice;
}

void set_level(Level max_shown) {
  g_max = max_shown;
}

bool enabled(Level l) {
  return l <= g_max;
}

void write(Level, const char* fmt, ...) {
  char stamp[32];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);

  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  // One write per line, so lines from several sources never interleave.
  std::fprintf(stderr, "%s %s\n", stamp, msg);
}

}  // namespace pingmesh::log
