#include "mesh/dns_discovery.hpp"

#include <algorithm>

#include "loop/clock.hpp"
#include "loop/tcp.hpp"
#include "mesh/fanout.hpp"

namespace pingmesh {

namespace {

// An IPv6 literal in brackets; format_addr's addresses have them already.
std::string host_in_url(const std::string& host) {
  bool bare_v6 = host.find(':') != std::string::npos && host.front() != '[';
  return bare_v6 ? "[" + host + "]" : host;
}

}  // namespace

DnsDiscovery::DnsDiscovery(Loop& loop, Resolver& resolver, PeerSet& peers)
    : loop_(loop), resolver_(resolver), peers_(peers), timer_(loop, [this] { lookup(); }) {}

void DnsDiscovery::configure(DiscoveryOptions options) {
  bool changed = options.name != options_.name || options.srv != options_.srv ||
                 options.port != options_.port || options.scheme != options_.scheme ||
                 options.path != options_.path;
  options_ = std::move(options);
  if (options_.name.empty()) {
    stop();
    if (!seen_.empty()) {
      seen_.clear();
      reconcile();
    }
    return;
  }
  if (changed) {
    stop();  // lookups of the old name, SRV targets too, must not answer into the new one
    seen_.clear();
    self_url_.clear();
  }
  if (!timer_.pending() && !ticket_.pending()) timer_.start(0);
}

void DnsDiscovery::stop() {
  timer_.stop();
  ticket_.cancel();
  target_tickets_.clear();  // cancels the lookups of SRV targets
  targets_.clear();
}

void DnsDiscovery::lookup() {
  ++counters_.lookups;
  if (options_.srv) {
    resolver_.resolve_srv(options_.name, ticket_,
                          [this](FailureReason r, std::vector<Resolver::SrvTarget> t,
                                 uint32_t ttl) { on_srv(r, std::move(t), ttl); });
  } else {
    resolver_.resolve_with_ttl(options_.name, uint16_t(options_.port), ticket_,
                               [this](FailureReason r, Addresses addrs, uint32_t ttl) {
                                 std::vector<std::pair<std::string, uint16_t>> found;
                                 for (const auto& a : addrs)
                                   found.emplace_back(
                                       format_addr(reinterpret_cast<const sockaddr*>(&a)),
                                       uint16_t(options_.port));
                                 on_members(r, std::move(found), ttl);
                               });
  }
}

// Each target's addresses say whether it is us: a name alone cannot.
void DnsDiscovery::on_srv(FailureReason reason, std::vector<Resolver::SrvTarget> targets,
                          uint32_t ttl) {
  if (reason != FailureReason::none) return on_members(reason, {}, ttl);
  // Bounded by what could be probed: lookups beyond max_peers would be wasted.
  size_t bound = std::min(kMaxTargets, peers_.max_peers() + 1);  // +1: ourselves among them
  if (targets.size() > bound) targets.resize(bound);
  targets_.clear();
  target_tickets_.clear();
  srv_ttl_ = ttl;
  for (auto& t : targets) {
    while (t.host.ends_with('.')) t.host.pop_back();
    targets_.push_back({t.host, t.port});
  }
  if (targets_.empty()) return on_members(reason, {}, ttl);
  for (size_t i = 0; i < targets_.size(); ++i) {
    target_tickets_.push_back(std::make_unique<Resolver::Ticket>());
    if (auto local = resolve_locally(targets_[i].host, targets_[i].port)) {
      on_target(i, FailureReason::none, *local);
      continue;
    }
    resolver_.resolve_with_ttl(
        targets_[i].host, targets_[i].port, *target_tickets_[i],
        [this, i](FailureReason r, Addresses a, uint32_t) { on_target(i, r, a); });
  }
}

void DnsDiscovery::on_target(size_t index, FailureReason reason, const Addresses& addrs) {
  Target& t = targets_[index];
  t.done = true;
  if (reason == FailureReason::none) {
    for (const auto& a : addrs) {
      Listing::Entry e;
      e.peer_ip = format_addr(reinterpret_cast<const sockaddr*>(&a));
      Url u;
      u.host = e.peer_ip;
      u.port = t.port;
      t.us |= options_.self.is_us(e, u);
    }
  }
  for (const auto& other : targets_)
    if (!other.done) return;
  // All answered (a target that cannot be resolved is kept: its probes will say why).
  std::vector<std::pair<std::string, uint16_t>> found;
  for (const auto& other : targets_) {
    if (!other.us) {
      found.emplace_back(other.host, other.port);
      continue;
    }
    self_url_ = options_.scheme + "://" + host_in_url(other.host) + ":" +
                std::to_string(other.port) + options_.path;
  }
  on_members(FailureReason::none, std::move(found), srv_ttl_);
}

void DnsDiscovery::on_members(FailureReason reason,
                              std::vector<std::pair<std::string, uint16_t>> found, uint32_t ttl) {
  uint64_t now = mono_ns();
  uint32_t next_s = std::clamp(ttl, options_.min_ttl_s, options_.max_ttl_s);
  // "No such name" is an answer: no members (a Service scaled to zero), after the grace.
  if (reason == FailureReason::dns_nxdomain) reason = FailureReason::none;
  if (reason != FailureReason::none) {
    // A failed lookup is no news: the members stay, however long DNS is down.
    ++counters_.failed_lookups;
    if (failed_logged_.first())
      PM_LOG(warning, "discovery: %s: %s; members kept (logged once)", options_.name.c_str(),
             std::string(to_string(reason)).c_str());
    next_s = options_.min_ttl_s;
  } else {
    for (const auto& [host, port] : found) {
      std::string url =
          options_.scheme + "://" + host_in_url(host) + ":" + std::to_string(port) + options_.path;
      Listing::Entry e;
      e.identity = url;
      std::string why;
      auto parsed = parse_url(url, &why);
      if (!parsed) continue;
      if (options_.self.is_us(e, *parsed)) {
        self_url_ = url;
        continue;
      }
      seen_[url] = now;
    }
  }
  if (reason == FailureReason::none) {
    uint64_t grace_ns = uint64_t(options_.grace_s) * 1000000000;
    std::erase_if(seen_, [&](const auto& kv) { return now - kv.second > grace_ns; });
  }
  reconcile();
  timer_.start(uint64_t(next_s) * 1000);
}

void DnsDiscovery::reconcile() {
  std::vector<std::string> members;
  for (const auto& [url, when] : seen_) members.push_back(url);
  if (options_.fanout) {
    // Every node hashes the same names: ours as the answers give it, when they do.
    std::string self = self_url_.empty() ? options_.self.location : self_url_;
    members = fanout_select(self, members, options_.fanout);
  }
  std::vector<PeerSpec> specs;
  for (const auto& url : members) {
    std::string why;
    auto u = parse_url(url, &why);
    if (!u) continue;
    PeerSpec s;
    s.url = std::move(*u);
    s.tls = options_.tls;
    s.place = "dns " + options_.name;
    specs.push_back(std::move(s));
  }
  counters_.members = specs.size();
  try {
    auto change = peers_.reconcile(Origin::dns, std::move(specs));
    if (change.added || change.removed)
      PM_LOG(notice, "discovery: %s: %zu added, %zu removed, %zu members", options_.name.c_str(),
             change.added, change.removed, counters_.members);
  } catch (const std::exception& e) {
    PM_LOG(warning, "discovery: %s", e.what());
  }
}

}  // namespace pingmesh
