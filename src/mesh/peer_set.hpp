// The mesh's membership: every peer we probe, each with the origin that wants it (the
// configuration, ourselves, the API, DNS discovery, peer exchange). Each origin only ever
// changes its own list; the running peers follow the union, one peer per identity (the
// first origin in priority order owns it), bounded by max_peers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "log/log.hpp"
#include "loop/timer.hpp"
#include "probe/peer.hpp"
#include "tls/tls_config.hpp"

namespace pingmesh {

// In priority order: a peer two origins want belongs to the first.
enum class Origin : uint8_t { config, self, api, dns, exchange };
inline constexpr size_t kOrigins = 5;
const char* to_string(Origin o);

// What every peer takes from the node's settings, whatever its origin.
struct PeerDefaults {
  int delay_s = 10;
  int limit = 0;
  int max_failures = 100;
  ProbeLimits limits;
  bool operator==(const PeerDefaults&) const = default;
};
PeerDefaults peer_defaults(const Config& c);

// The node itself, when it serves and c asks for it (or, by default, when a service
// has no peers configured: a fresh install shows data at once).
std::optional<PeerSpec> self_peer(const Config& c);

class PeerSet final : private Peer::Events {
 public:
  class Events {
   public:
    virtual void on_sample(Peer& peer, const Sample& s) noexcept = 0;
    virtual void on_peer_ended(Peer& peer) noexcept = 0;
    // No peer has this identity any more: its series and statistics can go.
    virtual void on_identity_gone(const std::string& identity) noexcept = 0;
    // The members changed (joined, left, or changed origin): listings of them are stale.
    virtual void on_members_changed() noexcept {}

   protected:
    ~Events() = default;
  };

  // A wanted peer as kept: its URL text and line number apart, the rest of its spec shared
  // by the specs that have the same (a [peers] file's lines share one). About 100 bytes,
  // where a PeerSpec is 500 and its strings.
  struct Wanted {
    SharedString url;   // display and query, as parsed (its Peer holds the same copy)
    uint32_t line = 0;  // the place is rest->place + ":" + line; 0: rest->place alone
    // Without Url and line; one whose URL would not parse back the same keeps its Url
    // (and is its own).
    std::shared_ptr<const PeerSpec> rest;

    // PeerSpec::identity(), without building the spec.
    std::string_view identity() const;
    std::string place() const;
    PeerSpec spec() const;
  };

  // One running (or ending) peer.
  struct Member {
    std::unique_ptr<Peer> peer;
    Origin origin;
    bool removed = false;  // no origin wants it any more; freed once it has ended
    // Which client TLS configuration it uses (the CA file's time is in it); https only.
    struct TlsKey {
      bool verify = false, resume = false;
      std::string ca_file, stamp;
      auto operator<=>(const TlsKey&) const = default;
    };
    std::unique_ptr<TlsKey> tls_key;

    // What it was made from: its entry in wanted(origin), or its own copy once removed.
    const Wanted& wanted() const { return kept_ ? *kept_ : *wanted_; }
    const PeerSpec& shared() const { return *wanted().rest; }  // all but its URL and place
    // Where it was configured ("file:line", "command line", "api").
    std::string place() const { return wanted().place(); }

   private:
    friend class PeerSet;
    const Wanted* wanted_ = nullptr;  // into wanted_, set again whenever those lists change
    std::unique_ptr<const Wanted> kept_;
  };

  // What a change would do, built before anything running is touched.
  struct Plan;

  // random is asked for only when a TLS configuration is first built.
  PeerSet(Loop& loop, Resolver& resolver, Events& events, std::function<TlsRandom&()> random,
          size_t max_peers);
  ~PeerSet();

  // Builds the peers that lists need and the running set lacks (lists replace those of
  // their origins; the other origins keep theirs). Throws ConfigError when a TLS
  // configuration cannot be built (a CA file that is not PEM, say).
  Plan plan(std::vector<std::pair<Origin, std::vector<PeerSpec>>> lists,
            const PeerDefaults& defaults, size_t max_peers);
  // Swaps the plan in: new peers start, unwanted ones stop, kept ones keep their
  // statistics and schedule. The plan must be the latest one made.
  struct Change {
    size_t added = 0, removed = 0, kept = 0;
  };
  Change apply(Plan plan);
  // plan + apply for one origin, with the current defaults; throws as plan does.
  Change reconcile(Origin origin, std::vector<PeerSpec> specs);

  // What origin o wants, as specs again (each built on the call).
  std::vector<PeerSpec> wanted(Origin o) const;
  template <typename F>
  void for_each_wanted(Origin o, F&& f) const {
    for (const auto& w : wanted_[size_t(o)]) f(w.spec());
  }
  // Our own name: peers that join the mesh later (API, DNS, exchange) start at an offset
  // hashed from the pair, so nodes started together never probe in step.
  void set_self(std::string identity) { self_ = std::move(identity); }
  // The client TLS configuration for t, shared with the peers that use it (fetches of
  // other nodes' listings use them too). Throws ConfigError.
  TlsTarget tls_target(const PeerTls& t);
  // The member that has identity, running or not; null if none.
  const Member* find(const std::string& identity) const;
  // Peers running or wanted, not counting removed ones.
  size_t size() const;
  size_t max_peers() const { return max_peers_; }
  uint64_t over_bound() const { return over_bound_; }  // specs left out by max_peers

  // Shutdown: no new probes (stop), then drop those in flight (cancel). After stop_all,
  // apply changes nothing: a late API call or DNS answer cannot start a peer.
  void stop_all();
  void cancel_all();
  // True when no peer runs; removed ones still finishing count only when all is set.
  bool idle(bool all) const;

  template <typename F>
  void for_each(F&& f) const {
    for (const auto& m : members_) f(m);
  }

 private:
  void on_sample(Peer& peer, const Sample& s) noexcept override;
  void on_peer_ended(Peer& peer) noexcept override;
  void reap();
  std::shared_ptr<const TlsClientConfig> tls_client_for(const PeerTls& t, Member::TlsKey* key);
  std::vector<Wanted> compact(std::vector<PeerSpec> specs);
  void point_members_at_wanted();

  Loop& loop_;
  Resolver& resolver_;
  Events& events_;
  size_t max_peers_;
  PeerDefaults defaults_;
  PeerTimers peer_timers_;  // before members_: every peer's destructor tells it
  std::vector<Wanted> wanted_[kOrigins];
  // The shared rests of the specs, found again by their fields (weak: gone with the last).
  std::map<std::string, std::weak_ptr<const PeerSpec>> rests_;
  std::vector<Member> members_;
  // Shared by the peers that use them (and their probes in flight): the map only finds
  // them again by their key.
  std::map<Member::TlsKey, std::shared_ptr<const TlsClientConfig>> tls_clients_;
  std::function<TlsRandom&()> random_;
  std::string self_;
  Timer reaper_;  // frees removed peers outside their own callbacks
  uint64_t seed_;
  uint64_t over_bound_ = 0;
  bool stopped_ = false;
  log::Once over_bound_logged_;
};

struct PeerSet::Plan {
  std::vector<std::pair<Origin, std::vector<Wanted>>> lists;
  PeerDefaults defaults;
  size_t max_peers = 0;
  uint64_t left_out = 0;      // specs over max_peers
  std::vector<Member> fresh;  // not started yet
  std::vector<size_t> kept;   // indexes into members_
  std::vector<Origin> kept_origin;
  struct NewTls {
    size_t index;  // into members_
    Member::TlsKey key;
    std::shared_ptr<const TlsClientConfig> config;
  };
  std::vector<NewTls> new_tls;  // kept peers whose CA file was renewed
};

}  // namespace pingmesh
