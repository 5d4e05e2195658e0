#include "export/json.hpp"

#include <cstdio>
#include <ctime>

namespace pingmesh {

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string json_time(int64_t unix_ns) {
  if (unix_ns == 0) return "\"0001-01-01T00:00:00Z\"";  // Go's zero time
  time_t secs = time_t(unix_ns / 1000000000);
  long frac = long(unix_ns % 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "\"%Y-%m-%dT%H:%M:%S", &tm);
  if (frac) {
    n += size_t(std::snprintf(buf + n, sizeof buf - n, ".%09ld", frac));
    while (buf[n - 1] == '0') --n;  // Go trims trailing zeros
  }
  std::snprintf(buf + n, sizeof buf - n, "Z\"");
  return buf;
}

}  // namespace pingmesh
