#include "mesh/mesh_matrix.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace pingmesh {

namespace {

constexpr int64_t kSecond = 1'000'000'000;

// A measured pair, before it has a column.
struct Target {
  std::string identity, url, location, peer_ip;
  MatrixCell cell;
};

// Finds the row a target is, by where it is read, then by what it calls itself.
class NodeNames {
 public:
  NodeNames(const MeshMatrix& m, const SelfFilter& self) : self_(self), us_(m.rows[0].key) {
    for (const auto& r : m.rows) by_label_.emplace(r.label, r.key);
  }
  void add_origin(const Url& u, const std::string& key) { by_origin_[origin(u)] = key; }

  std::string column_for(const Target& t) const {
    std::string why;
    if (auto u = parse_url(t.url, &why)) {
      if (auto it = by_origin_.find(origin(*u)); it != by_origin_.end()) return it->second;
      Listing::Entry e;
      e.identity = t.identity;
      e.peer_ip = t.peer_ip;
      if (self_.is_us(e, *u)) return us_;
    }
    if (!t.location.empty() && t.location != "unknown")
      if (auto it = by_label_.find(t.location); it != by_label_.end()) return it->second;
    return t.identity;
  }

 private:
  static std::string origin(const Url& u) { return u.scheme + "://" + u.authority; }

  const SelfFilter& self_;
  std::string us_;
  std::map<std::string, std::string> by_label_, by_origin_;
};

}  // namespace

MatrixCell matrix_cell(int64_t pings, int64_t fails, int64_t tcp_sum_ns, int64_t total_sum_ns,
                       int64_t latest_ok_unix_s, double interval_s, int64_t as_of_unix_s) {
  MatrixCell c;
  c.pings = pings;
  c.fails = fails;
  if (pings > 0) {
    c.mean_tcp_ms = double(tcp_sum_ns) / double(pings) / 1e6;
    c.mean_total_ms = double(total_sum_ns) / double(pings) / 1e6;
  }
  double window_s = std::clamp(3 * interval_s, 5.0, 300.0);
  bool recent_ok = pings > 0 && double(as_of_unix_s - latest_ok_unix_s) <= window_s;
  if (fails > 0 && !recent_ok)
    c.state = MatrixCell::State::fail;
  else if (pings > 0)
    c.state = MatrixCell::State::ok;
  return c;
}

MeshMatrix build_matrix(const MeshView& view, const PeerSet& peers, int64_t now_unix_ns) {
  const auto& opt = view.options();
  MeshMatrix m;
  m.rows.push_back({opt.location, opt.location, "this node"});
  for (const auto& [id, src] : view.sources()) {
    std::string label = src.listing && !src.listing->location.empty() ? src.listing->location : id;
    std::string note = src.listing ? "its /v1/peers" : "not read yet";
    if (!src.last_error.empty()) note = "cannot read: " + src.last_error;
    m.rows.push_back({id, label, note});
  }
  NodeNames names(m, opt.self);
  {
    size_t i = 1;
    for (const auto& [id, src] : view.sources()) names.add_origin(src.url, m.rows[i++].key);
  }

  // Each row's targets: ours from our peers, the others' from their listings.
  std::vector<std::vector<Target>> targets(m.rows.size());
  int64_t now_s = now_unix_ns / kSecond;
  peers.for_each([&](const PeerSet::Member& mb) {
    if (mb.removed) return;
    const Peer& p = *mb.peer;
    const PeerTotals& t = p.totals();
    Target tg{p.identity(), p.url(), p.location(), p.peer_ip(), {}};
    tg.cell = matrix_cell(t.successes, t.failures, int64_t(t.sum_over_successes(&Timings::tcp)),
                          int64_t(t.sum_over_successes(&Timings::total)),
                          p.latest_unix_ns() / kSecond, double(p.delay_ms()) / 1000, now_s);
    if (mb.origin == Origin::self) tg.url.clear(), tg.location = opt.location;
    targets[0].push_back(std::move(tg));
  });
  {
    size_t i = 1;
    for (const auto& [id, src] : view.sources()) {
      auto& row = targets[i++];
      if (!src.listing) continue;
      int64_t as_of = src.read_unix_ns / kSecond;
      for (const auto& e : src.listing->peers) {
        // The interval is not listed: the listing's own pace tells it.
        double interval =
            e.pings > 1 ? double(e.latest_unix_s - e.first_unix_s) / double(e.pings - 1) : 10.0;
        Target tg{e.identity, e.url, e.location, e.peer_ip, {}};
        tg.cell = matrix_cell(e.pings, e.fails, e.tcp_sum_ns, e.total_sum_ns, e.latest_unix_s,
                              interval, as_of);
        row.push_back(std::move(tg));
      }
    }
  }

  // Columns: the rows' nodes first, so the diagonal is the diagonal, then the others.
  std::map<std::string, size_t> column_of;
  for (const auto& r : m.rows)
    if (column_of.emplace(r.key, m.columns.size()).second) m.columns.push_back(r);
  std::vector<std::vector<std::string>> keys(m.rows.size());
  std::set<std::string> extra;
  for (size_t r = 0; r < m.rows.size(); ++r)
    for (const auto& t : targets[r]) {
      keys[r].push_back(names.column_for(t));
      if (!column_of.count(keys[r].back())) extra.insert(keys[r].back());
    }
  for (const auto& key : extra) {
    column_of.emplace(key, m.columns.size());
    m.columns.push_back({key, key, ""});
  }
  m.cells.assign(m.rows.size(), std::vector<MatrixCell>(m.columns.size()));
  for (size_t r = 0; r < m.rows.size(); ++r)
    for (size_t k = 0; k < targets[r].size(); ++k) {
      MatrixCell& cell = m.cells[r][column_of[keys[r][k]]];
      const MatrixCell& c = targets[r][k].cell;
      // Two names for one node in one listing: the one with more data.
      if (c.pings + c.fails >= cell.pings + cell.fails) cell = c;
    }
  return m;
}

}  // namespace pingmesh
