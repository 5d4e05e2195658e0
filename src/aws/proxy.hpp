// The proxy the environment names for a URL, by the rules curl and the AWS SDKs follow:
// https_proxy/HTTPS_PROXY for https, http_proxy (lowercase only: CGI sets HTTP_PROXY from
// a request's header) for http, all_proxy/ALL_PROXY else; none for a host no_proxy/
// NO_PROXY lists ("*", names matching as domain suffixes, IP addresses or CIDR ranges).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "http/url.hpp"

namespace pingmesh {

struct Proxy {
  std::string host;  // without IPv6 brackets
  uint16_t port = 1080;
  std::string authorization;  // "Basic …" from user:password in its URL; empty for none
  std::string display;        // scheme://host:port, without credentials, for messages
};

using EnvLookup = std::function<const char*(const char*)>;

// nullopt when the URL goes direct; *error is set (and nullopt returned) when the
// variable cannot be used (an https:// proxy, a URL that does not parse).
std::optional<Proxy> proxy_for(const Url& target, std::string* error, const EnvLookup& env);
bool no_proxy_matches(const std::string& list, const std::string& host);

}  // namespace pingmesh
