#include "mesh/html_text.hpp"

namespace pingmesh {

std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string short_label(std::string_view s, size_t max_chars) {
  for (std::string_view scheme : {"http://", "https://"})
    if (s.starts_with(scheme)) s.remove_prefix(scheme.size());
  if (s.ends_with("/v1/ping")) s.remove_suffix(8);
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) == 0x80) continue;  // inside a character
    if (++chars > max_chars) return std::string(s.substr(0, i)) + "\u2026";
  }
  return std::string(s);
}

}  // namespace pingmesh
