#include "aws/proxy.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

#include <mbedtls/base64.h>

#include "log/log.hpp"
#include "text/percent.hpp"
#include "text/printable.hpp"

namespace pingmesh {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* first_set(const EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const char* v = env(n); v && *v) return v;
  return nullptr;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  size_t n = 0;
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &n,
                        reinterpret_cast<const unsigned char*>(in.data()), in.size());
  out.resize(n);
  return out;
}

// An address and a prefix length from "10.0.0.0/8" or "::1"; false if not an IP.
// *bad_prefix: an IP whose prefix length is not 0 to its bits ("10.0.0.0/", "/33").
bool parse_cidr(const std::string& text, unsigned char addr[16], int* family, int* bits,
                bool* bad_prefix) {
  std::string ip = text;
  *bits = -1;
  *bad_prefix = false;
  std::string prefix;
  bool has_prefix = false;
  if (auto slash = ip.find('/'); slash != std::string::npos) {
    prefix = ip.substr(slash + 1);
    has_prefix = true;
    ip.resize(slash);
  }
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (inet_pton(AF_INET, ip.c_str(), addr) == 1)
    *family = AF_INET;
  else if (inet_pton(AF_INET6, ip.c_str(), addr) == 1)
    *family = AF_INET6;
  else
    return false;
  int max = *family == AF_INET ? 32 : 128;
  *bits = max;
  if (has_prefix) {
    char* stop = nullptr;
    long n = std::strtol(prefix.c_str(), &stop, 10);
    if (prefix.empty() || prefix.size() > 3 ||
        !std::isdigit(static_cast<unsigned char>(prefix[0])) || *stop || n > max) {
      *bad_prefix = true;
      return true;
    }
    *bits = int(n);
  }
  return true;
}

log::Once bad_prefix_logged;

bool same_prefix(const unsigned char* a, const unsigned char* b, int bits) {
  int whole = bits / 8;
  if (std::memcmp(a, b, size_t(whole)) != 0) return false;
  int rest = bits % 8;
  if (!rest) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool no_proxy_matches(const std::string& list, const std::string& host_in) {
  std::string host = lower(host_in);
  while (!host.empty() && host.back() == '.') host.pop_back();
  unsigned char host_ip[16];
  int host_family = 0, host_bits = 0;
  bool host_bad = false;
  bool host_is_ip = parse_cidr(host, host_ip, &host_family, &host_bits, &host_bad) && !host_bad;
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find_first_of(", ", at);
    if (end == std::string::npos) end = list.size();
    std::string entry = lower(list.substr(at, end - at));
    at = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    unsigned char ip[16];
    int family = 0, bits = 0;
    bool bad_prefix = false;
    if (parse_cidr(entry, ip, &family, &bits, &bad_prefix)) {
      if (bad_prefix) {
        if (bad_prefix_logged.first())
          PM_LOG(warning, "no_proxy: '%s' has no prefix length from 0 to %d: ignored (logged once)",
                 printable_text(entry, 64).c_str(), family == AF_INET ? 32 : 128);
        continue;
      }
      if (host_is_ip && family == host_family && same_prefix(ip, host_ip, bits)) return true;
      continue;
    }
    while (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    while (!entry.empty() && entry.back() == '.') entry.pop_back();
    if (host == entry) return true;
    if (host.size() > entry.size() &&
        host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.')
      return true;
  }
  return false;
}

std::optional<Proxy> proxy_for(const Url& target, std::string* error, const EnvLookup& env) {
  if (const char* no = first_set(env, {"no_proxy", "NO_PROXY"});
      no && no_proxy_matches(no, target.host))
    return std::nullopt;
  const char* value = target.tls()
                          ? first_set(env, {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
                          : first_set(env, {"http_proxy", "all_proxy", "ALL_PROXY"});
  if (!value) return std::nullopt;
  std::string text = value;
  std::string scheme = "http";
  if (auto s = text.find("://"); s != std::string::npos) {
    scheme = lower(text.substr(0, s));
    text.erase(0, s + 3);
  }
  // Messages name what is left once the userinfo is gone, never the variable whole.
  if (scheme != "http") {
    bool word = scheme.size() <= 16 && scheme.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyz0123"
                                           "456789+-.") == std::string::npos;
    *error = "the proxy " + (word ? scheme + "://… is" : std::string("URL's scheme is")) +
             " not supported (only http:// proxies)";
    return std::nullopt;
  }
  Proxy p;
  // The userinfo ends at the last '@' (a password may hold '/', '?', '#' or '@' when it
  // was not percent-encoded); the authority then ends at the first '/', '?' or '#'.
  if (auto at = text.rfind('@'); at != std::string::npos) {
    p.authorization = "Basic " + base64(percent_decoded(text.substr(0, at), false));
    text.erase(0, at + 1);
  }
  if (auto end = text.find_first_of("/?#"); end != std::string::npos) text.resize(end);
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || (close + 1 < text.size() && text[close + 1] != ':')) {
      *error = "the proxy URL's host '" + printable_text(text, 64) + "' does not parse";
      return std::nullopt;
    }
    p.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) port = text.substr(close + 2);
  } else if (auto colon = text.find(':'); colon != std::string::npos) {
    p.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    p.host = text;
  }
  if (!port.empty()) {
    char* stop = nullptr;
    long n = std::strtol(port.c_str(), &stop, 10);
    if (*stop || n <= 0 || n > 65535) {
      *error =
          "the proxy URL's port in '" + printable_text(p.host + ":" + port, 64) + "' is not a port";
      return std::nullopt;
    }
    p.port = uint16_t(n);
  }
  if (p.host.empty()) {
    *error = "the proxy URL has no host";
    return std::nullopt;
  }
  bool v6 = p.host.find(':') != std::string::npos;
  p.display = "http://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port);
  return p;
}

}  // namespace pingmesh
