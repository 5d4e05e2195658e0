// Peer URLs as the original accepts them: "http://host:port/path", "https://…",
// or "host/path" meaning http. "URL#Location" presets the peer's location.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pingmesh {

struct Url {
  std::string scheme;     // "http" or "https"
  std::string host;       // without IPv6 brackets
  std::string authority;  // host[:port] as written, for Host: and display
  uint16_t port = 0;
  std::string path;   // "/" at least
  std::string query;  // without '?'

  bool tls() const { return scheme == "https"; }
  // "GET" target: path and query.
  std::string target() const { return query.empty() ? path : path + "?" + query; }
  // scheme://authority/path, the original's "proto://uri" column.
  std::string display() const { return scheme + "://" + authority + path; }

  bool operator==(const Url&) const = default;
};

// Parses a URL; on failure returns nullopt and sets *error to a sentence naming the problem.
std::optional<Url> parse_url(std::string_view text, std::string* error);

// Splits "URL#Location": the location part is empty when there is none.
struct PeerArg {
  std::string url;
  std::string location;
};
PeerArg split_peer_arg(std::string_view arg);

}  // namespace pingmesh
