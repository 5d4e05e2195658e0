// Changing the mesh over HTTP: the original's GET /v1/addpeer, and POST /v1/peers and
// DELETE /v1/peers/<identity>. Changes come from loopback, or from elsewhere with the
// bearer token. The peers added here are the API origin's, kept in the state directory
// across restarts.
#pragma once

#include <cstdint>
#include <string>

#include "http/routes.hpp"
#include "log/log.hpp"
#include "loop/timer.hpp"
#include "mesh/listing.hpp"
#include "mesh/peer_set.hpp"
#include "probe/fetch.hpp"

namespace pingmesh {

struct PeerApiOptions {
  std::string token;      // empty: changes only from loopback
  std::string state_dir;  // empty: the API's peers last until the process ends
  PeerTls tls;            // the node's TLS checks, for https peers added here
  SelfFilter self;        // addpeers never adds us
  ProbeLimits limits;     // for reading a peer's listing
};

class PeerApi {
 public:
  struct Counters {
    uint64_t added = 0, removed = 0;
    uint64_t refused_auth = 0;  // 401 and 403
    uint64_t refused_full = 0;  // max_peers reached
    uint64_t bad_requests = 0;
    uint64_t save_failures = 0;
  };
  static constexpr size_t kMaxBody = 16 * 1024;  // one peer object, and then some

  PeerApi(Loop& loop, Resolver& resolver, PeerSet& peers, PeerApiOptions options);
  ~PeerApi();  // a change not yet saved is saved now

  void set_options(PeerApiOptions options) { options_ = std::move(options); }
  // At shutdown: the import in flight is dropped, and changes get 503.
  void stop();
  // /v1/peers (get_peers answers its GET), /v1/peers/<identity> and /v1/addpeer.
  void add_routes(Routes& routes, Routes::Handler get_peers);
  // The peers kept by the last run; what cannot be read is logged and skipped.
  void restore();
  const Counters& counters() const { return counters_; }
  std::string state_file() const;

 private:
  Reply on_addpeer(const Request& r);
  Reply on_post(const Request& r);
  Reply on_delete(const Request& r);
  // The refusal for a change that is not allowed; empty body and status 0 if allowed.
  Reply check_allowed(const Request& r);
  // Adds spec with the API origin: 201, 409 (present), 507 (full) or 400 (bad TLS file).
  Reply add(PeerSpec spec);
  // addpeers=true: the peers that peer lists, one hop, once.
  void import_from(const PeerSpec& source);
  void on_listing(const Sample& s, std::string_view body);
  const PeerSet::Member* same_host(const PeerSpec& spec) const;
  void save_soon();
  void save();

  Loop& loop_;
  Resolver& resolver_;
  PeerSet& peers_;
  std::unique_ptr<Fetch> import_;  // one import at a time
  std::vector<std::unique_ptr<Fetch>> finished_;
  Timer reaper_;
  PeerApiOptions options_;
  Timer save_timer_;  // changes in a burst are written once
  bool dirty_ = false;
  bool stopped_ = false;
  Counters counters_;
  log::Once full_logged_, auth_logged_, save_logged_;
};

}  // namespace pingmesh
