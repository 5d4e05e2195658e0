// Reading one string out of JSON that someone else wrote (a peer's /v1/peers, the
// instance metadata service): a real tokenizer, escapes decoded, every size bounded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pingmesh::json {

// At most this much input is read, in at most this many tokens; what lies beyond is
// treated as if the input were cut there.
inline constexpr size_t kMaxInputBytes = 64 * 1024;
inline constexpr int kMaxTokens = 512;

// The string value of `key` among the members of the top-level object, with escapes
// decoded to UTF-8. nullopt when the input is not an object, is not JSON, has no such
// member, or the member's value is not a string. A prefix of an object (a body kept
// only in part) is read as far as it goes: a member complete before the cut is found.
std::optional<std::string> top_level_string(std::string_view json, std::string_view key);

}  // namespace pingmesh::json
