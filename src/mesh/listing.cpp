#include "mesh/listing.hpp"

#include <uv.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "text/json_reader.hpp"
#include "text/printable.hpp"

namespace pingmesh {

namespace {

// "2026-12-01T14:29:02.5Z", as json_time writes it (and Go marshals time.Time).
int64_t unix_seconds(const std::string& t) {
  std::tm tm{};
  int year, month;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  return int64_t(timegm(&tm));
}

// 169.254.0.0/16 and fe80::/10: never a peer (a cloud's metadata service lives there),
// whatever another node lists.
bool is_link_local(const std::string& host) {
  std::string h;
  for (char c : host) h += char(std::tolower(static_cast<unsigned char>(c)));
  bool v6 = h.find(':') != std::string::npos;
  return h.starts_with("169.254.") || (v6 && (h.starts_with("fe8") || h.starts_with("fe9") ||
                                              h.starts_with("fea") || h.starts_with("feb")));
}

}  // namespace

std::optional<Listing> read_listing(std::string_view body, size_t max_peers) {
  // About 70 tokens a peer; a listing longer than the bound is not read at all.
  int max_tokens = int(std::min<size_t>(max_peers, 100000) * 80 + 64);
  json::Document doc(body, kMaxListingBytes, max_tokens);
  const int root = json::Document::root;
  int peers = doc.member(root, "Peers");
  if (!doc.is_array(peers)) return std::nullopt;
  Listing l;
  l.location = printable_text(doc.string(doc.member(root, "SrvLoc")).value_or(""));
  for (int item : doc.items(peers)) {
    if (l.peers.size() >= max_peers) {
      ++l.dropped;
      continue;
    }
    auto text = [&](int obj, const char* key) {
      return printable_text(doc.string(doc.member(obj, key)).value_or(""));
    };
    auto number = [&](int obj, const char* key) {
      return std::max<long long>(0, doc.integer(doc.member(obj, key)).value_or(0));
    };
    Listing::Entry e;
    // A URL that had to be cleaned or cut is not the one the node probes: skipped.
    auto raw_url = doc.string(doc.member(item, "Url"));
    if (!raw_url || raw_url->empty() || printable_text(*raw_url) != *raw_url) continue;
    e.url = *raw_url;
    e.identity = text(item, "Identity");
    if (e.identity.empty()) e.identity = e.url;
    e.location = text(item, "Location");
    e.peer_ip = text(item, "PeerIP");
    e.pings = number(item, "Pings");
    e.fails = number(item, "Fails");
    e.first_unix_s = unix_seconds(text(item, "FirstPing"));
    e.latest_unix_s = unix_seconds(text(item, "LatestPing"));
    int totals = doc.member(item, "PingTotals");
    e.tcp_sum_ns = number(totals, "TcpHs");
    e.total_sum_ns = number(totals, "Total");
    l.peers.push_back(std::move(e));
  }
  return l;
}

bool SelfFilter::is_us(const Listing::Entry& e, const Url& url) const {
  if (!location.empty() && e.identity == location) return true;
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  // PeerIP is in the original's form, "[2001:db8::1]" for IPv6; our addresses are bare.
  std::string ip = e.peer_ip;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  bool our_host = has(addresses, url.host) || has(names, url.host) || has(addresses, ip);
  return our_host && std::find(ports.begin(), ports.end(), int(url.port)) != ports.end();
}

SelfFilter self_filter(const Config& c) {
  SelfFilter f;
  uv_interface_address_t* ifs = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifs, &count) == 0) {
    for (int i = 0; i < count; ++i) {
      char name[INET6_ADDRSTRLEN] = "";
      if (ifs[i].address.address4.sin_family == AF_INET)
        uv_ip4_name(&ifs[i].address.address4, name, sizeof name);
      else
        uv_ip6_name(&ifs[i].address.address6, name, sizeof name);
      f.addresses.emplace_back(name);
    }
    uv_free_interface_addresses(ifs, count);
  }
  for (const auto& a : c.listen)
    if (a != "0.0.0.0" && a != "::") f.addresses.push_back(a);
  f.addresses.push_back("127.0.0.1");
  f.addresses.push_back("::1");
  f.names = {"localhost"};
  if (!c.hostname.empty()) f.names.push_back(c.hostname);
  for (int p : {c.serve_port, c.tls_port, c.report_port})
    if (p) f.ports.push_back(p);
  f.location = c.location;
  return f;
}

std::vector<PeerSpec> offered_peers(const Listing& l, const SelfFilter& self, const PeerTls& tls,
                                    const std::string& place) {
  std::vector<PeerSpec> out;
  std::set<std::string> seen;
  for (const auto& e : l.peers) {
    PeerArg pa = split_peer_arg(e.url);
    std::string why;
    auto url = parse_url(pa.url, &why);
    if (!url || self.is_us(e, *url) || is_link_local(url->host) || !seen.insert(e.identity).second)
      continue;
    PeerSpec s;
    s.url = std::move(*url);
    // The listing's identity, so every node names a peer alike on the page.
    if (e.identity != s.url.display() + (s.url.query.empty() ? "" : "?" + s.url.query))
      s.name = e.identity;
    s.tls = tls;
    s.place = place;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pingmesh
