// What another node's /v1/peers says: its location and the peers it probes, with their
// totals. Read for peer exchange, addpeers, the page's matrix and `pingmesh peers`.
// Untrusted: every string is made printable and bounded, every number checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace pingmesh {

struct Listing {
  struct Entry {
    std::string url;       // as the node probes it
    std::string identity;  // ours ("Identity"), else the URL
    std::string location;  // what the peer said of itself
    std::string peer_ip;
    int64_t pings = 0, fails = 0;
    int64_t first_unix_s = 0, latest_unix_s = 0;
    int64_t tcp_sum_ns = 0, total_sum_ns = 0;  // over the pings
  };
  std::string location;      // SrvLoc: the node itself
  std::vector<Entry> peers;  // the active ones
  size_t dropped = 0;        // more than max_peers: not kept
};

// Bytes and peers read at most: a listing of 10,000 peers is about 7 MB.
inline constexpr size_t kMaxListingBytes = 8 << 20;

// nullopt when body is not a /v1/peers document.
std::optional<Listing> read_listing(std::string_view body, size_t max_peers);

// Who we are, so that what others list never makes us probe ourselves.
struct SelfFilter {
  std::vector<std::string> addresses;  // every address of ours, loopback included
  std::vector<std::string> names;      // our host name, "localhost"
  std::vector<int> ports;              // the ports we answer on
  std::string location;                // our identity in others' lists
  bool is_us(const Listing::Entry& e, const Url& url) const;
};
SelfFilter self_filter(const Config& c);

// The peers a listing offers for us to probe: not us, valid URLs, one per identity.
std::vector<PeerSpec> offered_peers(const Listing& l, const SelfFilter& self, const PeerTls& tls,
                                    const std::string& place);

}  // namespace pingmesh
