#include "text/printable.hpp"

#include <cstdint>

namespace pingmesh {

namespace {

// Length of the UTF-8 sequence at s (1-4) and its code point; 0 if it is not valid
// (overlong, surrogate, past U+10FFFF, truncated).
size_t decode(std::string_view s, uint32_t* cp) {
  auto b = [&](size_t i) { return uint8_t(s[i]); };
  uint8_t c = b(0);
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
  if (len == 0 || len > s.size()) return 0;
  uint32_t v = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    v = v << 6 | (b(i) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

bool is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string printable_text(std::string_view raw, size_t max_bytes) {
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  std::string out;
  out.reserve(std::min(raw.size(), max_bytes));
  while (!raw.empty()) {
    uint32_t cp = 0;
    size_t len = decode(raw, &cp);
    bool keep = len > 0 && !is_control(cp);
    size_t out_len = keep ? len : 1;
    if (out.size() + out_len > max_bytes) break;
    if (keep)
      out.append(raw.substr(0, len));
    else
      out += '?';
    raw.remove_prefix(len ? len : 1);
  }
  return out;
}

}  // namespace pingmesh
