// Small pieces for writing JSON by hand: escaping and the original's time format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pingmesh {

// A JSON string literal, quotes included.
std::string json_string(std::string_view s);
// RFC 3339 in UTC with nanoseconds, as Go marshals time.Time: "2019-07-29T09:48:28.5Z".
std::string json_time(int64_t unix_ns);

}  // namespace pingmesh
