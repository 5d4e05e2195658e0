// What the page at GET / shows of the whole mesh: the listings (/v1/peers) of our peers
// that are pingmesh nodes, read one at a time every refresh interval, and the recent
// totals of our own peers for their sparklines.
//
// Lazy: listings are read only while someone looked at the page in the last five
// minutes. A node nobody watches (most of them, on small routers) reads nothing and holds
// no listing; the rings of the sparklines are in the peers' metrics series (136 bytes a
// peer there, where a map of its own here cost 256 with its node and key).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "export/metrics.hpp"
#include "http/routes.hpp"
#include "http/shared_page.hpp"
#include "log/log.hpp"
#include "loop/timer.hpp"
#include "mesh/listing.hpp"
#include "mesh/peer_set.hpp"
#include "probe/fetch.hpp"

namespace pingmesh {

struct MeshViewOptions {
  std::string location;         // ours: the matrix's first row
  uint64_t refresh_ms = 10000;  // listings read, and the page reloads itself, this often
  size_t max_sources = 64;      // listings read a round; more are read in turns
  ProbeLimits limits;
  SelfFilter self;  // to find ourselves in others' listings
};
MeshViewOptions mesh_view_options(const Config& c);

// Another node's listing, as last read.
struct MeshSource {
  std::string identity;            // the peer's, as we probe it
  Url url;                         // its /v1/peers
  std::optional<Listing> listing;  // the last good one
  int64_t read_unix_ns = 0;        // when it was read
  std::string last_error;          // of the latest read, empty when it was good
  size_t cut = 0;                  // peers it listed that the page left out (the bounds)
};

// Peers kept of one listing: a matrix wider than this is not one to read anyway.
inline constexpr size_t kMaxListedPeers = 1000;
// Listed peers held of every listing together: the matrix has a cell for each, so this
// bounds the page as well (about 20 MB of listings and 2 MB of page at most).
inline constexpr size_t kMaxHeldListedPeers = 20000;

class MeshView {
 public:
  MeshView(Loop& loop, Resolver& resolver, PeerSet& peers, const Metrics& metrics,
           const Routes& routes);

  void configure(MeshViewOptions options);
  void forget(const std::string& identity);  // the peer is gone: its listing too
  void stop();                               // at shutdown: no more reads

  // GET /: the page, built at most once a second; a request marks the page watched.
  Routes::Route route();

  const MeshViewOptions& options() const { return options_; }
  const std::map<std::string, MeshSource>& sources() const { return sources_; }
  const RecentTotals* recent(const std::string& identity) const;
  uint64_t reads() const { return reads_; }

 private:
  void watched();
  void on_tick();
  void read_next();
  void on_read(const std::string& identity, const Sample& s, std::string_view body);
  void keep_within_budget(MeshSource& src, Listing& l);
  std::string build() const;

  Loop& loop_;
  Resolver& resolver_;
  PeerSet& peers_;
  const Metrics& metrics_;
  const Routes& routes_;
  MeshViewOptions options_;
  Timer timer_;
  Timer reaper_;  // frees finished fetches outside their own callbacks
  uint64_t watched_until_ns_ = 0;
  bool stopped_ = false;
  std::vector<std::string> queue_;  // identities still to read this round
  size_t cursor_ = 0;               // where the next round starts, when over the bound
  std::unique_ptr<Fetch> fetch_;
  // Done fetches, freed on the next turn: one that fails at once ends inside the last
  // one's callback, so several may wait here.
  std::vector<std::unique_ptr<Fetch>> finished_;
  std::map<std::string, MeshSource> sources_;  // by identity
  SharedPage page_;
  uint64_t reads_ = 0;
  log::Once over_bound_logged_, cut_logged_, budget_logged_, failed_logged_;
};

}  // namespace pingmesh
