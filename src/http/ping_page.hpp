// The original's /v1/ping page, and how a prober reads a peer's location from it.
#pragma once

#include <string>
#include <string_view>

namespace pingmesh {

// 96 + 2*len(location) bytes, byte for byte the original's.
std::string ping_page(std::string_view location);

// Paths whose replies carry a location: /v1/ping (HTML) and /v1/peers (JSON).
bool is_pingmesh_path(std::string_view path);

// "<p>Served from X\n" in HTML, or the top-level "SrvLoc" string of /v1/peers JSON (a
// real parser: escapes decoded, nested members of the same name ignored); empty if absent.
std::string extract_location(std::string_view body, bool json);

}  // namespace pingmesh
