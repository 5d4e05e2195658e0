// This process's own figures for /metrics, from procfs and getrusage: no disk, no wait.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "export/metrics.hpp"

namespace pingmesh {

namespace {

int64_t resident_bytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  // "size resident shared text lib data dt", in pages.
  char* end = nullptr;
  std::strtoll(buf, &end, 10);
  long long pages = std::strtoll(end, &end, 10);
  return pages * sysconf(_SC_PAGESIZE);
}

int64_t open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int64_t n = 0;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

}  // namespace

ProcessFigures read_process_figures() {
  ProcessFigures p;
  p.resident_memory_bytes = resident_bytes();
  p.open_fds = open_fds();
  if (rlimit r; getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
    p.max_fds = int64_t(r.rlim_cur);
  if (rusage u; getrusage(RUSAGE_SELF, &u) == 0)
    p.cpu_seconds = double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                    double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  return p;
}

}  // namespace pingmesh
