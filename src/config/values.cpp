#include "config/values.hpp"

#include <uv.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace pingmesh::values {

namespace {

// The one number syntax: decimal digits, then, where the setting allows it, a point and
// more digits. No sign, space, hex, exponent, inf or nan, whatever strtod would take.
bool decimal_syntax(std::string_view s, bool fraction) {
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  auto point = s.find('.');
  if (point == std::string_view::npos) return digits(s);
  return fraction && digits(s.substr(0, point)) && digits(s.substr(point + 1));
}

}  // namespace

std::optional<int64_t> integer(std::string_view s, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!decimal_syntax(s, false)) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

// strtod once the syntax is checked: from_chars for double would pull ~45 KB of
// libstdc++ into the static binary. pingmesh never calls setlocale: the point is '.'.
std::optional<double> seconds(std::string_view s, double min, double max) {
  if (!decimal_syntax(s, true)) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !(v >= min && v <= max)) return std::nullopt;
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

std::optional<IpPort> ip_port(std::string_view s) {
  std::string_view ip = s, port;
  bool has_port = false;
  if (s.starts_with('[')) {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    ip = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
    has_port = !rest.empty();
    port = has_port ? rest.substr(1) : rest;
  } else if (auto colon = s.find(':');
             colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    ip = s.substr(0, colon);  // IPv4:port; a bare IPv6 address has several colons
    port = s.substr(colon + 1);
    has_port = true;
  }
  if (!ip_address(ip)) return std::nullopt;
  if (!has_port) return IpPort{ip, std::nullopt};
  auto n = integer(port, 1, 65535);
  if (!n) return std::nullopt;
  return IpPort{ip, int(*n)};
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

std::string integer_range(int64_t min, int64_t max) {
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

std::string seconds_range(double min, double max) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "a number of seconds from %g to %g", min, max);
  return buf;
}

}  // namespace pingmesh::values
