#include "export/exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pingmesh::exposition {

namespace {

// The length of the UTF-8 sequence at s[i], or 0 if it is not one (overlong forms,
// surrogates and code points past U+10FFFF included), after RFC 3629's table.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return i + k < s.size() ? uint8_t(s[i + k]) : 0; };
  auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (in(b0, 0xc2, 0xdf)) return in(byte(1), 0x80, 0xbf) ? 2 : 0;
  if (in(b0, 0xe0, 0xef)) {
    uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80, hi = b0 == 0xed ? 0x9f : 0xbf;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) ? 3 : 0;
  }
  if (in(b0, 0xf0, 0xf4)) {
    uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80, hi = b0 == 0xf4 ? 0x8f : 0xbf;
    return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) && in(byte(3), 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;  // ours: no backslash or newline to escape
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void label_value(std::string& out, std::string_view v) {
  for (size_t i = 0; i < v.size();) {
    char c = v[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else if (size_t n = utf8_length(v, i); n == 0) {
      out += "\xef\xbf\xbd";
    } else {
      out.append(v.data() + i, n);
      i += n;
      continue;
    }
    ++i;
  }
}

void value(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void value(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // The fewest of 15, 16 or 17 significant digits that read back as v (any decimal of up
    // to 15 digits survives the round trip). std::to_chars(double) would find the shortest
    // in one pass, but its tables put 170 KB into the static binary, for a scrape's values.
    char buf[32];
    int n = 0;
    for (int digits = 15; digits <= 17; ++digits) {
      n = std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
    out.append(buf, size_t(n));
  }
}

}  // namespace pingmesh::exposition
