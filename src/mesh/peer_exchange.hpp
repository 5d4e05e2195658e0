// Peer exchange (opt-in): every interval, read the /v1/peers of chosen peers and probe
// the active peers they list: one hop, bounded, deduplicated, never ourselves. A source
// that cannot be read keeps what it offered last time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loop/timer.hpp"
#include "mesh/listing.hpp"
#include "mesh/peer_set.hpp"
#include "probe/fetch.hpp"

namespace pingmesh {

struct ExchangeOptions {
  std::vector<std::string> from;  // identities of configured peers to read; "*": all of them
  uint64_t interval_ms = 60000;
  SelfFilter self;
  PeerTls tls;  // for https sources and the https peers they offer
  ProbeLimits limits;
};

class PeerExchange {
 public:
  struct Counters {
    uint64_t reads = 0, failed_reads = 0, offered = 0;
  };

  PeerExchange(Loop& loop, Resolver& resolver, PeerSet& peers);
  // Starts, changes or (with an empty from) stops the exchange.
  void configure(ExchangeOptions options);
  // At shutdown: no more rounds, the read in flight dropped.
  void stop();
  bool active() const { return !options_.from.empty(); }
  const Counters& counters() const { return counters_; }

 private:
  void on_tick();
  void read_next();
  void on_read(const std::string& source, const Sample& s, std::string_view body);
  void reconcile();
  void drop_fetch();

  Loop& loop_;
  Resolver& resolver_;
  PeerSet& peers_;
  ExchangeOptions options_;
  Timer timer_;
  Timer reaper_;  // frees finished fetches outside their own callbacks
  // Sources still to read this round: the configured peers, their URL's path /v1/peers,
  // read with their own TLS checks and address.
  std::vector<PeerSpec> queue_;
  std::unique_ptr<Fetch> fetch_;
  // Done fetches, freed on the next turn: a fetch that fails at once ends inside the last
  // one's callback, so several may wait here.
  std::vector<std::unique_ptr<Fetch>> finished_;
  std::map<std::string, std::vector<PeerSpec>> offered_;  // by source identity
  Counters counters_;
  log::Once failed_logged_;
};

}  // namespace pingmesh
