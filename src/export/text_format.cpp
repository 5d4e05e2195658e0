#include "export/text_format.hpp"

#include <cstdarg>
#include <cstdio>

namespace pingmesh {

namespace {

std::string printf_string(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return {};
  if (size_t(n) < sizeof small) return std::string(small, size_t(n));
  std::string big(size_t(n) + 1, '\0');
  va_start(ap, fmt);
  vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(size_t(n));
  return big;
}

double msec(uint64_t ns) {
  return double(ns) / 1e6;
}

}  // namespace

const std::string& text_header() {
  static const std::string h =
      "# timestamp\tDNS\tTCP\tTLS\tFirst\tLastB\tTotal\tHTTP\tSize\tFrom_Location\tRemote_Addr\t"
      "proto://uri\n";
  return h;
}

std::string text_row(const Sample& s) {
  return printf_string("%lld\t%.03f\t%.03f\t%.03f\t%.03f\t%.03f\t%.03f\t%03d\t%llu\t%s\t%s\t%s",
                       (long long)(s.start_unix_ns / 1000000000), msec(s.t.dns), msec(s.t.tcp),
                       msec(s.t.tls), msec(s.t.first), msec(s.t.lastb), msec(s.t.total),
                       s.http_code, (unsigned long long)s.size, s.location.c_str(),
                       s.remote_addr.c_str(), s.url.c_str());
}

std::string text_short_line(int successes, const Sample& s) {
  return printf_string("%3d %8.03f msec %20s %s\n", successes, msec(s.t.tcp), s.location.c_str(),
                       s.remote_addr.c_str());
}

std::string format_elapsed(int64_t secs) {
  int64_t d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60, s = secs % 60;
  if (d > 0)
    return printf_string("%lldd%lldh%02lldm%02llds", (long long)d, (long long)h, (long long)m,
                         (long long)s);
  if (h > 0) return printf_string("%lldh%02lldm%02llds", (long long)h, (long long)m, (long long)s);
  if (m > 0) return printf_string("%lldm%02llds", (long long)m, (long long)s);
  return printf_string("%llds", (long long)s);
}

std::string text_summary(const PeerTotals& p, int64_t now_unix_s) {
  if (p.successes == 0)
    return printf_string("\nRecorded 0 valid samples, %d of %d failures\n", p.failures,
                         p.max_failures);
  Timings m = p.mean();
  std::string elapsed = format_elapsed(now_unix_s - p.first_start_unix_ns / 1000000000);
  return printf_string("\nRecorded %d samples in %s, average values:\n", p.successes,
                       elapsed.c_str()) +
         text_header() +
         printf_string("%d %-6s\t%.03f\t%.03f\t%.03f\t%.03f\t%.03f\t%.03f\t\t%llu\t%s\t%s\n\n",
                       p.successes, elapsed.c_str(), msec(m.dns), msec(m.tcp), msec(m.tls),
                       msec(m.first), msec(m.lastb), msec(m.total),
                       (unsigned long long)(p.size_sum / p.successes), p.location.c_str(),
                       p.url.c_str()) +
         (p.averaged < p.successes
              ? printf_string("%d disturbed samples without kernel times are not in the "
                              "averages\n\n",
                              p.successes - p.averaged)
              : std::string());
}

}  // namespace pingmesh
