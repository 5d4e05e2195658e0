// DNS discovery: the members of the mesh are a name's A/AAAA records (a Kubernetes
// headless Service), or its SRV records (_pingmesh._tcp.example.) with host and port.
// Re-resolved at the answer's TTL, clamped between bounds; a member that disappears is
// removed after a grace period (DNS answers flap, a rolling update renames a few at a
// time); a failed lookup changes nothing, however long DNS is down; we are never our own
// member.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "loop/timer.hpp"
#include "mesh/listing.hpp"
#include "mesh/peer_set.hpp"

namespace pingmesh {

struct DiscoveryOptions {
  std::string name;  // empty: off
  bool srv = false;  // SRV records, else A/AAAA
  std::string scheme = "http";
  int port = 0;  // A/AAAA: the members' port
  std::string path = "/v1/ping";
  uint32_t min_ttl_s = 5, max_ttl_s = 300;
  uint32_t grace_s = 60;
  size_t fanout = 0;  // probe a subset of about this many members (0: all); see fanout.hpp
  SelfFilter self;
  PeerTls tls;
};

class DnsDiscovery {
 public:
  struct Counters {
    uint64_t lookups = 0, failed_lookups = 0;
    size_t members = 0;
  };

  DnsDiscovery(Loop& loop, Resolver& resolver, PeerSet& peers);
  // Starts, changes or (with an empty name) stops discovery.
  void configure(DiscoveryOptions options);
  void stop();
  bool active() const { return !options_.name.empty(); }
  const Counters& counters() const { return counters_; }

 private:
  void lookup();
  void on_srv(FailureReason reason, std::vector<Resolver::SrvTarget> targets, uint32_t ttl);
  void on_target(size_t index, FailureReason reason, const Addresses& addrs);
  void on_members(FailureReason reason, std::vector<std::pair<std::string, uint16_t>> found,
                  uint32_t ttl);
  void reconcile();

  Loop& loop_;
  Resolver& resolver_;
  PeerSet& peers_;
  DiscoveryOptions options_;
  Timer timer_;
  Resolver::Ticket ticket_;
  // An SRV answer's targets being resolved, to tell which of them is us by address.
  struct Target {
    std::string host;
    uint16_t port;
    bool us = false, done = false;
  };
  std::vector<Target> targets_;
  std::vector<std::unique_ptr<Resolver::Ticket>> target_tickets_;
  uint32_t srv_ttl_ = 0;
  static constexpr size_t kMaxTargets = 10000;
  // Each member's URL and when a lookup last had it (monotonic ns).
  std::map<std::string, uint64_t> seen_;
  std::string self_url_;  // how the answers name us: what every node hashes for fanout
  Counters counters_;
  log::Once failed_logged_;
};

}  // namespace pingmesh
