// Percent-decoding of URL parts: %XX is a byte; a '%' not followed by two hex digits
// stays as it is.
#pragma once

#include <string>
#include <string_view>

namespace pingmesh {

// In a query (application/x-www-form-urlencoded) '+' is a space too; in a path or a
// URL's userinfo it is a '+'.
std::string percent_decoded(std::string_view s, bool plus_is_space);

}  // namespace pingmesh
