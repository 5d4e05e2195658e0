#include "mesh/fanout.hpp"

#include <algorithm>

namespace pingmesh {

uint64_t stable_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  // FNV's low bits mix poorly: finish with a multiply-xorshift (splitmix64's).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

namespace {

uint64_t pair_hash(std::string_view a, std::string_view b) {
  std::string key;
  key.reserve(a.size() + b.size() + 1);
  key.append(a).append(1, '\0').append(b);
  return stable_hash(key);
}

}  // namespace

bool owns_pair(std::string_view self, std::string_view other) {
  bool self_first = self < other;
  uint64_t h = self_first ? pair_hash(self, other) : pair_hash(other, self);
  return (h & 1) == (self_first ? 0u : 1u);
}

std::vector<std::string> fanout_select(std::string_view self,
                                       const std::vector<std::string>& members, size_t fanout) {
  std::vector<std::string> owned;
  std::vector<std::pair<uint64_t, const std::string*>> others;
  for (const auto& m : members) {
    if (m == self) continue;
    if (fanout == 0 || owns_pair(self, m))
      owned.push_back(m);
    else
      others.emplace_back(pair_hash(self, m), &m);
  }
  // Room left under the fanout: the highest rendezvous weights, the same choice each time.
  size_t room = fanout > owned.size() ? fanout - owned.size() : 0;
  room = std::min(room, others.size());
  std::partial_sort(others.begin(), others.begin() + ptrdiff_t(room), others.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < room; ++i) owned.push_back(*others[i].second);
  return owned;
}

uint64_t pair_offset_ns(std::string_view self, std::string_view other, uint64_t period_ns) {
  return period_ns ? pair_hash(self, other) % period_ns : 0;
}

}  // namespace pingmesh
