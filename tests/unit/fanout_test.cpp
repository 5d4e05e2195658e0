// Fanout: every pair measured in at least one direction, no node far over its fanout,
// the same choice on every node and every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "mesh/fanout.hpp"

using namespace pingmesh;

namespace {

std::vector<std::string> mesh(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("http://10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                  ":8080/v1/ping");
  return out;
}

struct Outcome {
  size_t uncovered = 0, max_probes = 0, total = 0;
};

Outcome run(size_t n, size_t fanout) {
  auto members = mesh(n);
  std::set<std::pair<std::string, std::string>> probed;
  Outcome o;
  for (const auto& self : members) {
    auto chosen = fanout_select(self, members, fanout);
    o.max_probes = std::max(o.max_probes, chosen.size());
    o.total += chosen.size();
    for (const auto& c : chosen) {
      EXPECT_NE(c, self);
      probed.insert({self, c});
    }
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      o.uncovered +=
          !probed.count({members[i], members[j]}) && !probed.count({members[j], members[i]});
  return o;
}

}  // namespace

TEST(Fanout, EveryPairIsMeasuredOnce) {
  for (size_t n : {2u, 3u, 10u, 50u, 200u}) {
    Outcome o = run(n, 1);  // below what coverage needs: raised to about half the mesh
    EXPECT_EQ(o.uncovered, 0u) << n;
    // Each pair once, plus at most one more for a node that owns none (its fanout of 1).
    EXPECT_GE(o.total, n * (n - 1) / 2) << n;
    EXPECT_LE(o.total, n * (n - 1) / 2 + n) << n;
    if (n >= 50) {
      EXPECT_LE(o.max_probes, (n - 1) / 2 + 3 * size_t(std::sqrt(double(n)))) << n;
    }
  }
}

TEST(Fanout, MoreRoomMeansMorePairsBothWaysUpToTheFanout) {
  Outcome o = run(50, 40);
  EXPECT_EQ(o.uncovered, 0u);
  EXPECT_LE(o.max_probes, 40u);
  EXPECT_GE(o.total, 50u * 38u) << "nearly every node uses its fanout";
  Outcome all = run(20, 0);
  EXPECT_EQ(all.total, 20u * 19u) << "0: every member, both directions";
}

TEST(Fanout, BothSidesAgreeOnWhoOwnsAPair) {
  auto members = mesh(100);
  for (size_t i = 0; i < members.size(); ++i)
    for (size_t j = 0; j < members.size(); ++j)
      if (i != j) {
        EXPECT_NE(owns_pair(members[i], members[j]), owns_pair(members[j], members[i]));
      }
}

TEST(Fanout, StableAcrossRunsAndInputOrder) {
  auto members = mesh(30);
  auto a = fanout_select(members[3], members, 12);
  std::reverse(members.begin(), members.end());
  auto b = fanout_select(members[26], members, 12);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  EXPECT_EQ(stable_hash("pingmesh"), 2860259283941090368ull) << "a fixed function, not std::hash";
}

TEST(Fanout, PairOffsetsSpreadOverThePeriod) {
  auto members = mesh(200);
  const uint64_t period = 10'000'000'000ull;
  std::vector<int> tenths(10, 0);
  for (size_t i = 1; i < members.size(); ++i) {
    uint64_t off = pair_offset_ns(members[0], members[i], period);
    ASSERT_LT(off, period);
    ++tenths[off * 10 / period];
  }
  for (int t : tenths) EXPECT_GT(t, 5) << "no tenth of the period left empty";
  EXPECT_NE(pair_offset_ns(members[0], members[1], period),
            pair_offset_ns(members[1], members[0], period));
}
