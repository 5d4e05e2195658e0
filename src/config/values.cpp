#include "config/values.hpp"

#include <uv.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace pingmesh::values {

std::optional<long> integer(std::string_view s, long min, long max) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
    return std::nullopt;
  return v;
}

std::optional<double> seconds(std::string_view s, double min, double max) {
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= min && v <= max)) return std::nullopt;
  return v;
}

std::optional<bool> boolean(std::string_view s) {
  if (s == "yes" || s == "true" || s == "on" || s == "1") return true;
  if (s == "no" || s == "false" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::optional<std::string> pin(std::string_view v) {
  if (v.starts_with("sha256//")) v.remove_prefix(8);
  bool ok = v.size() == 44 && v.back() == '=' &&
            v.substr(0, 43).find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
                std::string_view::npos;
  if (!ok) return std::nullopt;
  return std::string(v);
}

bool ip_address(std::string_view s) {
  std::string text(s);
  unsigned char addr[16];
  return uv_inet_pton(AF_INET, text.c_str(), addr) == 0 ||
         uv_inet_pton(AF_INET6, text.c_str(), addr) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> list(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    size_t comma = s.find(',', at);
    out.push_back(trim(s.substr(at, comma == std::string_view::npos ? s.npos : comma - at)));
    if (comma == std::string_view::npos) return out;
    at = comma + 1;
  }
}

std::string integer_range(long min, long max) {
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

std::string seconds_range(double min, double max) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "a number of seconds from %g to %g", min, max);
  return buf;
}

}  // namespace pingmesh::values
