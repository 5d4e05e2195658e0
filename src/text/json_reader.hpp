// Reading one string out of JSON that someone else wrote (a peer's /v1/peers, the
// instance metadata service): a real tokenizer, escapes decoded, every size bounded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A whole document, for readers that walk objects and arrays (an API request, a peer's
// /v1/peers): tokens are indexes, -1 is "none". Bounded by max_tokens; a document that
// is not whole JSON within the bounds is not ok().
class Document {
 public:
  Document(std::string_view json, size_t max_bytes, int max_tokens);
  ~Document();
  Document(const Document&) = delete;

  bool ok() const { return ok_; }
  static constexpr int root = 0;
  bool is_object(int t) const;
  bool is_array(int t) const;
  // The value of key among object's own members; -1 if none.
  int member(int object, std::string_view key) const;
  // The items of an array, in order.
  std::vector<int> items(int array) const;
  std::optional<std::string> string(int t) const;  // escapes decoded
  std::optional<long long> integer(int t) const;   // a plain integer
  std::optional<bool> boolean(int t) const;

 private:
  struct Tokens;
  std::string_view json_;
  Tokens* tokens_;
  int count_ = 0;
  bool ok_ = false;
};

}  // namespace pingmesh::json
