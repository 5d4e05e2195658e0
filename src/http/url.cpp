#include "http/url.hpp"

#include <cctype>
#include <charconv>

namespace pingmesh {

namespace {

bool has_bad_chars(std::string_view s) {
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f) return true;
  return false;
}

}  // namespace

PeerArg split_peer_arg(std::string_view arg) {
  auto hash = arg.find('#');
  if (hash == std::string_view::npos) return {std::string(arg), ""};
  auto loc = arg.substr(hash + 1);
  // The original takes the text up to a second '#', if any.
  return {std::string(arg.substr(0, hash)), std::string(loc.substr(0, loc.find('#')))};
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Url> {
    if (error) *error = "bad URL '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty");
  if (has_bad_chars(text)) return fail("contains spaces or control characters");

  Url u;
  std::string_view rest = text;
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    u.scheme = std::string(rest.substr(0, p));
    for (auto& c : u.scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
    rest.remove_prefix(p + 3);
  } else if (rest.starts_with("//")) {
    u.scheme = "http";
    rest.remove_prefix(2);
  } else {
    u.scheme = "http";
  }
  if (u.scheme != "http" && u.scheme != "https")
    return fail("scheme '" + u.scheme + "' is not http or https");

  if (auto f = rest.find('#'); f != std::string_view::npos) rest = rest.substr(0, f);
  auto path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) return fail("user info is not supported");
  u.authority = std::string(authority);

  std::string_view host = authority, port_text;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in IPv6 address");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail("an IPv6 address must be written in brackets");
  }
  if (host.empty()) return fail("no host");
  u.host = std::string(host);

  u.port = u.tls() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return fail("port '" + std::string(port_text) + "' is not a number from 1 to 65535");
    u.port = uint16_t(value);
  }

  auto q = path.find('?');
  u.path = std::string(path.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(path.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

}  // namespace pingmesh
