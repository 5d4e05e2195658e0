#include "mesh/peer_exchange.hpp"

#include <algorithm>
#include <set>

namespace pingmesh {

PeerExchange::PeerExchange(Loop& loop, Resolver& resolver, PeerSet& peers)
    : loop_(loop),
      resolver_(resolver),
      peers_(peers),
      timer_(loop, [this] { on_tick(); }),
      reaper_(loop, [this] { finished_.clear(); }) {}

void PeerExchange::configure(ExchangeOptions options) {
  bool was_on = !options_.from.empty();
  options_ = std::move(options);
  if (options_.from.empty()) {
    stop();
    if (was_on) {
      offered_.clear();
      reconcile();
    }
    return;
  }
  if (!timer_.pending()) timer_.start(1000);  // the first round soon after start
}

void PeerExchange::stop() {
  timer_.stop();
  queue_.clear();
  drop_fetch();
}

// A cancelled fetch never calls back: it is set aside here, or no round would start again.
void PeerExchange::drop_fetch() {
  if (!fetch_) return;
  fetch_->cancel();
  finished_.push_back(std::move(fetch_));
  reaper_.start(0);
}

// A round: every chosen configured peer's listing, one at a time.
void PeerExchange::on_tick() {
  timer_.start(options_.interval_ms);
  if (fetch_) return;  // the last round is still reading
  queue_.clear();
  bool all = std::find(options_.from.begin(), options_.from.end(), "*") != options_.from.end();
  std::set<std::string> sources;
  peers_.for_each_wanted(Origin::config, [&](PeerSpec source) {
    std::string id = source.identity();
    if (!all && std::find(options_.from.begin(), options_.from.end(), id) == options_.from.end())
      return;
    source.url.path = "/v1/peers";
    source.url.query.clear();
    sources.insert(id);
    queue_.push_back(std::move(source));
  });
  // A source no longer chosen offers nothing any more.
  bool dropped = std::erase_if(offered_, [&](const auto& kv) { return !sources.count(kv.first); });
  if (dropped) reconcile();
  read_next();
}

void PeerExchange::read_next() {
  if (queue_.empty()) return;
  PeerSpec spec = std::move(queue_.front());
  queue_.erase(queue_.begin());
  std::string source = spec.identity();
  TlsTarget tls;
  if (spec.url.tls()) {
    try {
      tls = peers_.tls_target(spec.tls);  // its own CA file and pin
    } catch (const std::exception& e) {
      PM_LOG(warning, "exchange: %s: %s", source.c_str(), e.what());
      return read_next();
    }
  }
  fetch_ = std::make_unique<Fetch>(
      loop_, resolver_, spec.url, std::move(tls), options_.limits, kMaxListingBytes,
      [this, source](const Sample& s, std::string_view body) { on_read(source, s, body); },
      spec.address);
  fetch_->start();
}

void PeerExchange::on_read(const std::string& source, const Sample& s, std::string_view body) {
  ++counters_.reads;
  std::optional<Listing> listing;
  if (s.ok() && s.http_code == 200) listing = read_listing(body, peers_.max_peers());
  if (!listing) {
    ++counters_.failed_reads;
    if (failed_logged_.first())
      PM_LOG(notice,
             "exchange: cannot read the peers of %s (%s); keeping what it offered "
             "(logged once)",
             source.c_str(),
             s.ok() ? "not a peers listing" : std::string(to_string(s.reason)).c_str());
  } else {
    offered_[source] = offered_peers(*listing, options_.self, options_.tls, "exchange " + source);
    reconcile();
  }
  finished_.push_back(std::move(fetch_));  // freed on the next turn
  reaper_.start(0);
  read_next();
}

// The union of what the sources offer, one spec per identity, within max_peers.
void PeerExchange::reconcile() {
  std::vector<PeerSpec> all;
  std::set<std::string> seen;
  for (const auto& [source, specs] : offered_)
    for (const auto& s : specs)
      if (all.size() < peers_.max_peers() && seen.insert(s.identity()).second) all.push_back(s);
  counters_.offered = all.size();
  try {
    auto change = peers_.reconcile(Origin::exchange, std::move(all));
    if (change.added || change.removed)
      PM_LOG(notice, "exchange: peers: %zu added, %zu removed, %zu kept", change.added,
             change.removed, change.kept);
  } catch (const std::exception& e) {
    PM_LOG(warning, "exchange: %s", e.what());
  }
}

}  // namespace pingmesh
