#include "log/log.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace pingmesh::log {

namespace {

Level g_max = Level::notice;
int g_journal = -1;  // unknown until the first line
Output* g_out = nullptr;

Output& out() {
  static DirectOutput direct(2);
  return g_out ? *g_out : direct;
}

// systemd sets JOURNAL_STREAM=dev:ino when stderr is connected to the journal.
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  return fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

void set_output(Output* o) {
  g_out = o;
}

void set_level(Level max_shown) {
  g_max = max_shown;
}

bool enabled(Level l) {
  return l <= g_max;
}

void write(Level level, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  if (g_journal < 0) g_journal = stderr_is_journal();
  if (g_journal) {
    // The journal stamps lines itself; "<N>" carries the syslog priority, on every line.
    static const int kPriority[] = {3, 4, 5, 6, 7};
    std::string lines;
    for (char *line = msg, *next; line; line = next) {
      next = std::strchr(line, '\n');
      if (next) *next++ = '\0';
      lines += "<" + std::to_string(kPriority[int(level)]) + ">" + line + "\n";
    }
    out().write(lines);
    return;
  }
  char stamp[32];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);
  // One write per message, so lines from several sources never interleave.
  char line[sizeof stamp + sizeof msg + 2];
  int n = std::snprintf(line, sizeof line, "%s %s\n", stamp, msg);
  if (n > 0) out().write(std::string_view(line, std::min(size_t(n), sizeof line - 1)));
}

}  // namespace pingmesh::log
