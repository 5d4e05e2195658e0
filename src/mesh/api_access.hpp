// Whether a change that reached us over loopback is a local user's. Loopback is trusted
// by default, but two kinds of callers reach it without being one: a web page in a
// browser on this node (another site's page, or one whose name an attacker re-pointed at
// 127.0.0.1, "DNS rebinding"), and a reverse proxy on this node that forwards other
// hosts' requests. Both must present the bearer token, as other hosts do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/routes.hpp"

namespace pingmesh {

// "" when r is a local user's request; else why it is not, for the refusal's body.
// our_names: the names that stand for this node in a Host header ("localhost" and names
// under .localhost, and IP literals, always do).
std::string why_not_local(const Request& r, const std::vector<std::string>& our_names);

// "host" of "scheme://host:port/path"; of "host:port"; of "[::1]:port" ("::1").
std::string_view site_host(std::string_view url_or_authority);

}  // namespace pingmesh
