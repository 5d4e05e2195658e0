// Membership: each origin changes only its own peers, one peer per identity in priority
// order, the max_peers bound, kept peers keep their state, and removed ones are freed
// after they end. The peers probe our own responder on loopback.
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
      if (!m.removed) out[m.recipe.identity] = {m.origin, m.peer.get()};
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
