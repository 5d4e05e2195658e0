// Text for the page's HTML. Everything a peer sends is untrusted: it goes through
// html_escape, in text and in attribute values alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pingmesh {

// &, <, >, " and ' as entities: safe between tags and inside quoted attributes.
std::string html_escape(std::string_view s);

// A name short enough for a matrix header: scheme and the /v1/ping path dropped, cut to
// max_chars characters (UTF-8 aware) with an ellipsis. Not escaped.
std::string short_label(std::string_view s, size_t max_chars = 22);

}  // namespace pingmesh
