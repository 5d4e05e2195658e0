// Large meshes: each node probes a deterministic subset of the members, and every pair
// is still measured in at least one direction. Each pair {a, b} has one owner, chosen by
// a hash of the pair that both nodes compute alike; a node probes the pairs it owns
// (about half the mesh) and, when its fanout allows more, the other members it ranks
// highest by rendezvous hashing. So a fanout below half the mesh is raised to what
// covering every pair needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pingmesh {

// 64-bit FNV-1a: stable across nodes, builds and architectures.
uint64_t stable_hash(std::string_view text);

// Whether self probes other: true for the owner of the pair, the same answer on both sides.
bool owns_pair(std::string_view self, std::string_view other);

// The members (not self) that self probes, given at most fanout (0: all of them).
std::vector<std::string> fanout_select(std::string_view self,
                                       const std::vector<std::string>& members, size_t fanout);

// Where in its period a pair's probes fall, so that a mesh started at once never fires
// in step: a fraction of the period from a hash of the ordered pair.
uint64_t pair_offset_ns(std::string_view self, std::string_view other, uint64_t period_ns);

}  // namespace pingmesh
