#include "mesh/api_access.hpp"

#include <algorithm>
#include <cctype>

#include "config/values.hpp"

namespace pingmesh {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The authority of a URL ("a.example:8080"), or the text itself when it has no scheme.
std::string_view authority(std::string_view s) {
  if (auto scheme = s.find("://"); scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  return s.substr(0, s.find_first_of("/?#"));
}

bool names_us(std::string_view host, const std::vector<std::string>& our_names) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "localhost." too
  if (values::ip_address(host) || iequals(host, "localhost")) return true;
  constexpr std::string_view sub = ".localhost";
  if (host.size() > sub.size() && iequals(host.substr(host.size() - sub.size()), sub)) return true;
  return std::any_of(our_names.begin(), our_names.end(),
                     [&](const std::string& n) { return iequals(host, n); });
}

}  // namespace

std::string_view site_host(std::string_view s) {
  std::string_view a = authority(s);
  if (auto at = a.rfind('@'); at != std::string_view::npos) a.remove_prefix(at + 1);
  if (a.starts_with('[')) return a.substr(1, a.find(']') - 1);
  return a.substr(0, a.find(':'));
}

std::string why_not_local(const Request& r, const std::vector<std::string>& our_names) {
  if (r.forwarded) return "it came through a proxy (it carries Forwarded or X-Forwarded-For)";
  // Browsers say where a request comes from; curl and scripts say nothing.
  if (!r.fetch_site.empty() && !iequals(r.fetch_site, "same-origin") &&
      !iequals(r.fetch_site, "none"))
    return "a browser sent it from another site (Sec-Fetch-Site: " + std::string(r.fetch_site) +
           ")";
  if (!r.origin.empty() && !iequals(authority(r.origin), r.host))
    return "a browser page of another origin sent it (Origin: " + std::string(r.origin) + ")";
  if (!r.referer.empty() && !iequals(authority(r.referer), r.host))
    return "a browser page of another site sent it (Referer)";
  // A page whose own name was re-pointed at 127.0.0.1 is same-origin to the browser, but
  // its Host header still carries that name.
  if (!r.host.empty() && !names_us(site_host(r.host), our_names))
    return "its Host header (" + std::string(r.host) + ") does not name this node";
  return {};
}

}  // namespace pingmesh
