// Membership: each origin changes only its own peers, one peer per identity in priority
// order, the max_peers bound, kept peers keep their state, and removed ones are freed
// after they end. The peers probe our own responder on loopback.
#include <malloc.h>

#include "harness.hpp"
#include "test_routes.hpp"

#include "dns/resolver.hpp"
#include "http/responder.hpp"
#include "mesh/peer_set.hpp"
#include "tls/tls_config.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

namespace {

struct MemberEvents final : PeerSet::Events {
  void on_sample(Peer& peer, const Sample&) noexcept override { ++samples[peer.identity()]; }
  void on_peer_ended(Peer& peer) noexcept override { ended.push_back(peer.identity()); }
  void on_identity_gone(const std::string& id) noexcept override { gone.push_back(id); }
  std::map<std::string, int> samples;
  std::vector<std::string> ended, gone;
};

}  // namespace

class PeerSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Responder::Options o;
    o.addresses = {"127.0.0.1"};
    responder = std::make_unique<Responder>(loop, o, routes.table);
    responder->start();
    defaults.delay_s = 1;
  }
  void TearDown() override {
    set.reset();
    responder.reset();
    resolver.reset();
    EXPECT_EQ(loop.close(), 0) << "a uv handle leaked";
  }

  PeerSpec spec(const std::string& name, const std::string& path = "/v1/ping") {
    PeerSpec s;
    s.url = url("http://127.0.0.1:" + std::to_string(responder->port()) + path);
    s.name = name;
    s.place = "test";
    return s;
  }
  std::vector<std::pair<Origin, std::vector<PeerSpec>>> one(Origin o, std::vector<PeerSpec> v) {
    std::vector<std::pair<Origin, std::vector<PeerSpec>>> lists;
    lists.emplace_back(o, std::move(v));
    return lists;
  }
  void make(size_t max_peers = 100) {
    set = std::make_unique<PeerSet>(
        loop, *resolver, events, [this]() -> TlsRandom& { return random; }, max_peers);
  }
  std::map<std::string, std::pair<Origin, const Peer*>> running() {
    std::map<std::string, std::pair<Origin, const Peer*>> out;
    set->for_each([&](const PeerSet::Member& m) {
      if (!m.removed) out[m.peer->identity()] = {m.origin, m.peer.get()};
    });
    return out;
  }

  Loop loop;
  TestRoutes routes{"Here"};
  std::unique_ptr<Responder> responder;
  std::unique_ptr<Resolver> resolver = std::make_unique<Resolver>(loop, Resolver::Options{});
  TlsRandom random;
  MemberEvents events;
  PeerDefaults defaults;
  std::unique_ptr<PeerSet> set;
};

TEST_F(PeerSetTest, EachOriginChangesOnlyItsOwnPeers) {
  make();
  set->apply(set->plan(one(Origin::config, {spec("a"), spec("b")}), defaults, 100));
  set->reconcile(Origin::api, {spec("c")});
  EXPECT_EQ(running().size(), 3u);
  const Peer* c = running()["c"].second;
  auto change = set->apply(set->plan(one(Origin::config, {spec("a")}), defaults, 100));
  EXPECT_EQ(change.added, 0u);
  EXPECT_EQ(change.removed, 1u);
  EXPECT_EQ(change.kept, 2u) << "a, and the API's c";
  auto now = running();
  EXPECT_EQ(now.size(), 2u);
  EXPECT_FALSE(now.count("b"));
  EXPECT_EQ(now["c"].second, c) << "another origin's change leaves the API's peer running";
  ASSERT_TRUE(run_until(
      loop, [&] { return events.samples["c"] >= 1 && !events.gone.empty(); }, 5000));
  EXPECT_EQ(events.gone, std::vector<std::string>{"b"}) << "b ended, was freed and is gone";
  EXPECT_GE(events.samples["a"], 1);
}

// Idle peers hold no probe object; a reload that removes one, and the shutdown, still
// end every peer with its totals.
TEST_F(PeerSetTest, IdlePeersHoldNoProbeAndStillReloadAndStop) {
  make();
  set->apply(set->plan(one(Origin::config, {spec("a"), spec("b")}), defaults, 100));
  auto idle_with_samples = [&] {
    bool all = events.samples["a"] >= 1 && events.samples["b"] >= 1;
    set->for_each([&](const PeerSet::Member& m) { all = all && !m.peer->holds_probe(); });
    return all;
  };
  ASSERT_TRUE(run_until(loop, idle_with_samples, 5000));
  set->apply(set->plan(one(Origin::config, {spec("a")}), defaults, 100));
  ASSERT_TRUE(run_until(
      loop, [&] { return events.samples["a"] >= 2 && !events.gone.empty(); }, 5000));
  EXPECT_EQ(events.gone, std::vector<std::string>{"b"}) << "b, idle, ended at once";
  const Peer* a = running()["a"].second;
  ASSERT_TRUE(a);
  EXPECT_EQ(a->totals().successes, events.samples["a"]) << "a probe made anew each time";
  EXPECT_EQ(a->location(), "Here");
  set->stop_all();
  ASSERT_TRUE(run_until(
      loop, [&] { return set->idle(true); }, 5000));
  EXPECT_EQ(events.ended.size(), 2u);
}

TEST_F(PeerSetTest, OneIdentityOnePeerTheFirstOriginOwnsIt) {
  make();
  set->reconcile(Origin::dns, {spec("x")});
  EXPECT_EQ(running()["x"].first, Origin::dns);
  const Peer* found = running()["x"].second;
  set->reconcile(Origin::config, {spec("x")});
  auto now = running();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now["x"].first, Origin::config) << "the configuration comes before DNS";
  EXPECT_EQ(now["x"].second, found) << "the same recipe: the same peer, statistics and all";
  set->reconcile(Origin::config, {});
  EXPECT_EQ(running()["x"].first, Origin::dns) << "DNS still wants it";
  set->reconcile(Origin::dns, {});
  EXPECT_TRUE(running().empty());
  ASSERT_TRUE(run_until(
      loop, [&] { return !events.gone.empty(); }, 3000));
  EXPECT_EQ(events.gone, std::vector<std::string>{"x"});
}

TEST_F(PeerSetTest, AChangedRecipeIsANewPeerUnderTheSameIdentity) {
  make();
  set->reconcile(Origin::api, {spec("x")});
  const Peer* before = running()["x"].second;
  PeerSpec slower = spec("x");
  slower.delay_s = 7;
  auto change = set->reconcile(Origin::api, {slower});
  EXPECT_EQ(change.added, 1u);
  EXPECT_EQ(change.removed, 1u);
  EXPECT_NE(running()["x"].second, before);
  EXPECT_EQ(running()["x"].second->delay_ms(), 7000u);
  run_for(loop, 300);
  EXPECT_TRUE(events.gone.empty()) << "x is still there: its series must stay";
}

TEST_F(PeerSetTest, MaxPeersBoundsEveryOriginTogether) {
  make(2);
  set->reconcile(Origin::config, {spec("a")});
  set->reconcile(Origin::exchange, {spec("b"), spec("c"), spec("d")});
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(set->over_bound(), 2u);
  EXPECT_TRUE(running().count("a")) << "higher origins are served first";
}

TEST_F(PeerSetTest, AFailedPlanChangesNothing) {
  make();
  set->reconcile(Origin::config, {spec("a")});
  PeerSpec tls = spec("secure");
  tls.url = url("https://127.0.0.1:1/v1/ping");
  tls.tls.ca_file = "/proc/self/status";  // readable, not PEM
  EXPECT_THROW(set->plan(one(Origin::config, {tls}), defaults, 100), ConfigError);
  EXPECT_EQ(running().size(), 1u);
  EXPECT_TRUE(running().count("a"));
}

// The lists are kept compact (a URL text and a line each, the rest shared), and give back
// what they were given: URL, query, place, names and settings.
TEST_F(PeerSetTest, WantedListsGiveBackWhatTheyWereGiven) {
  make();
  std::vector<PeerSpec> list;
  for (int i = 1; i <= 3; ++i) {
    PeerSpec s = spec("");
    s.url = url("http://127.0.0." + std::to_string(i) + ":" + std::to_string(responder->port()) +
                "/v1/ping");
    s.place = "/etc/pingmesh/peers.txt:" + std::to_string(i);
    list.push_back(s);
  }
  list[1].url.query = "a=1";
  list[2].location = "Far";
  list[2].delay_s = 9;
  PeerSpec odd = spec("named");
  odd.place = "file:007";  // not a line number as a file gives it: kept whole
  odd.url = url("HTTP://127.0.0.9:" + std::to_string(responder->port()));
  list.push_back(odd);
  std::vector<PeerSpec> given = list;
  set->reconcile(Origin::config, std::move(list));
  auto back = set->wanted(Origin::config);
  ASSERT_EQ(back.size(), given.size());
  for (size_t i = 0; i < given.size(); ++i) {
    EXPECT_EQ(back[i].url.display(), given[i].url.display());
    EXPECT_EQ(back[i].url.query, given[i].url.query);
    EXPECT_EQ(back[i].url.host, given[i].url.host);
    EXPECT_EQ(back[i].url.port, given[i].url.port);
    EXPECT_EQ(back[i].place, given[i].place);
    EXPECT_EQ(back[i].identity(), given[i].identity());
    EXPECT_EQ(back[i].location, given[i].location);
    EXPECT_EQ(back[i].delay_s, given[i].delay_s);
    EXPECT_EQ(back[i].tls, given[i].tls);
  }
  auto ids = running();
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids.count(given[1].identity()), 1u) << "the query is in the identity";
  set->for_each([&](const PeerSet::Member& m) {
    if (m.peer->identity() == "Far") {
      EXPECT_EQ(m.place(), "/etc/pingmesh/peers.txt:3");
    }
    if (m.peer->identity() == "named") {
      EXPECT_EQ(m.place(), "file:007");
    }
  });
  // The same list again (its places moved): every peer kept, none made again.
  std::vector<PeerSpec> again = given;
  for (auto& s : again) s.place += "0";
  auto change = set->reconcile(Origin::config, std::move(again));
  EXPECT_EQ(change.kept, 4u);
  EXPECT_EQ(change.added, 0u);
  EXPECT_EQ(set->wanted(Origin::config)[0].place, "/etc/pingmesh/peers.txt:10");
  set->for_each([&](const PeerSet::Member& m) {
    if (m.peer->identity() == "named") {
      EXPECT_EQ(m.place(), "file:0070");
    }
  });
  // Removed, a member still says where it came from.
  set->reconcile(Origin::config, {});
  size_t removed = 0;
  set->for_each([&](const PeerSet::Member& m) {
    removed += m.removed;
    if (m.peer->identity() == "Far") {
      EXPECT_EQ(m.place(), "/etc/pingmesh/peers.txt:30");
    }
  });
  EXPECT_EQ(removed, 4u);
}

// An idle http peer of a [peers] file is a few hundred bytes of heap all told: its Peer,
// its member, its wanted entry, its place in the timer heap (a probe, the request and the
// parsed URL exist only while it probes; its URL text is one copy, shared). Was 1,440.
TEST_F(PeerSetTest, IdlePeersOfAFileHoldLittleHeap) {
  constexpr size_t kPeers = 4000;
  make(kPeers);
  size_t before = mallinfo2().uordblks;
  {
    std::vector<PeerSpec> list;
    for (size_t i = 0; i < kPeers; ++i) {
      PeerSpec s;
      s.url = url("http://127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
                  ":" + std::to_string(responder->port()) + "/v1/ping");
      s.place = "/etc/pingmesh/peers-of-the-mesh.txt:" + std::to_string(i + 1);
      list.push_back(std::move(s));
    }
    set->reconcile(Origin::config, std::move(list));
  }
  size_t after = mallinfo2().uordblks;
  if (after == before) GTEST_SKIP() << "no mallinfo2 from this allocator (a sanitizer)";
  ASSERT_EQ(set->size(), kPeers);
  double per_peer = double(after - before) / kPeers;
  RecordProperty("heap_bytes_per_peer", std::to_string(per_peer));
  std::printf("peer set: %.0f heap bytes an idle peer\n", per_peer);
  EXPECT_LT(per_peer, 490) << "heap bytes per idle peer: " << per_peer;
}
