// Text from outside (a peer's location, anything a peer or DNS says) made safe to show
// and to send: it is data, never terminal control.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pingmesh {

// Valid UTF-8 of printable characters only, at most max_bytes (cut at a character
// boundary): control characters (C0, DEL, C1, bidirectional overrides) and bytes that
// are not UTF-8 become '?'; a trailing CR (a CRLF page) goes.
std::string printable_text(std::string_view raw, size_t max_bytes = 255);

}  // namespace pingmesh
