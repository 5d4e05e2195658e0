#include "mesh/mesh_view.hpp"

#include <algorithm>

#include "loop/clock.hpp"
#include "mesh/mesh_page.hpp"

namespace pingmesh {

namespace {

// Listings are read this long after the page was last asked for.
constexpr uint64_t kWatchedNs = 300'000'000'000;
// The page is built at most once a second (reads never force a rebuild: it shows them
// within one); answers not yet read hold a few versions.
constexpr uint64_t kPageMaxAgeNs = 1'000'000'000;
constexpr size_t kPageMaxHeld = 16 * 1024 * 1024;

// A peer's /v1/peers, if it is a pingmesh node: its URL ends in /v1/ping or /v1/peers.
std::optional<Url> listing_url(const Url& peer) {
  std::string_view p = peer.path;
  if (!p.ends_with("/v1/ping") && !p.ends_with("/v1/peers")) return std::nullopt;
  Url u = peer;
  u.path = "/v1/peers";
  u.query.clear();
  return u;
}

}  // namespace

MeshViewOptions mesh_view_options(const Config& c) {
  MeshViewOptions o;
  o.location = c.location;
  o.refresh_ms = uint64_t(c.page_refresh_s) * 1000;
  o.max_sources = size_t(c.page_sources);
  o.limits = peer_defaults(c).limits;
  o.self = self_filter(c);
  return o;
}

MeshView::MeshView(Loop& loop, Resolver& resolver, PeerSet& peers, const Metrics& metrics,
                   const Routes& routes)
    : loop_(loop),
      resolver_(resolver),
      peers_(peers),
      metrics_(metrics),
      routes_(routes),
      timer_(loop, [this] { on_tick(); }),
      reaper_(loop, [this] { finished_.clear(); }),
      page_(
          "/", [this] { return build(); }, kPageMaxAgeNs, kPageMaxHeld) {}

void MeshView::configure(MeshViewOptions options) {
  options_ = std::move(options);
  page_.invalidate();
}

void MeshView::forget(const std::string& identity) {
  sources_.erase(identity);
}

void MeshView::stop() {
  stopped_ = true;
  timer_.stop();
  queue_.clear();
  if (fetch_) fetch_->cancel();
}

const RecentTotals* MeshView::recent(const std::string& identity) const {
  const PeerSeries* p = metrics_.find(identity);
  return p ? &p->recent : nullptr;
}

Routes::Route MeshView::route() {
  Routes::Route r = shared_page_route("/", "", "text/html; charset=utf-8", page_);
  r.handler = [this, serve = std::move(r.handler)](const Request& req) {
    watched();
    return serve(req);
  };
  return r;
}

void MeshView::watched() {
  watched_until_ns_ = mono_ns() + kWatchedNs;
  // The first look starts a round at once; the page shows the rest at its next reload.
  if (!stopped_ && options_.max_sources > 0 && !timer_.pending() && !fetch_) timer_.start(0);
}

// A round: the listings of our peers that are pingmesh nodes, one at a time.
void MeshView::on_tick() {
  if (mono_ns() > watched_until_ns_) {
    // Nobody looks: read nothing, hold nothing, until someone does.
    sources_.clear();
    return;
  }
  timer_.start(options_.refresh_ms);
  if (fetch_) return;  // the last round is still reading
  std::map<std::string, Url> wanted;
  peers_.for_each([&](const PeerSet::Member& m) {
    if (m.removed || m.peer->ended() || m.origin == Origin::self) return;
    auto u = listing_url(m.peer->target_url());
    Listing::Entry e;
    e.identity = m.peer->identity();
    e.peer_ip = m.peer->peer_ip();
    if (u && !options_.self.is_us(e, *u)) wanted.emplace(m.peer->identity(), *u);
  });
  // Sources that are no longer peers go; new ones show as rows not read yet.
  std::erase_if(sources_, [&](const auto& kv) { return !wanted.count(kv.first); });
  for (const auto& [id, url] : wanted)
    if (!sources_.count(id)) sources_[id] = MeshSource{id, url, std::nullopt, 0, ""};
  queue_.clear();
  std::vector<std::string> ids;
  for (const auto& [id, url] : wanted) ids.push_back(id);
  size_t n = std::min(ids.size(), options_.max_sources);
  if (n < ids.size() && over_bound_logged_.first())
    PM_LOG(notice,
           "page: %zu nodes to read, %zu a round ([page] sources); reading them in turns "
           "(logged once)",
           ids.size(), n);
  for (size_t i = 0; i < n; ++i) queue_.push_back(ids[(cursor_ + i) % ids.size()]);
  cursor_ = ids.empty() ? 0 : (cursor_ + n) % ids.size();
  read_next();
}

void MeshView::read_next() {
  while (!queue_.empty()) {
    std::string id = std::move(queue_.front());
    queue_.erase(queue_.begin());
    auto src = sources_.find(id);
    const PeerSet::Member* m = peers_.find(id);
    if (src == sources_.end() || !m) continue;
    TlsTarget tls;
    if (src->second.url.tls()) {
      try {
        tls = peers_.tls_target(m->shared().tls);  // the trust we probe it with
      } catch (const std::exception& e) {
        src->second.last_error = e.what();
        continue;
      }
    }
    fetch_ = std::make_unique<Fetch>(
        loop_, resolver_, src->second.url, std::move(tls), options_.limits, kMaxListingBytes,
        [this, id](const Sample& s, std::string_view body) { on_read(id, s, body); });
    fetch_->start();  // may end at once, inside start: on_read reads the next one
    return;
  }
}

void MeshView::on_read(const std::string& identity, const Sample& s, std::string_view body) {
  ++reads_;
  finished_.push_back(std::move(fetch_));  // freed on the next turn, not inside its callback
  reaper_.start(0);
  auto src = sources_.find(identity);
  if (src != sources_.end()) {
    std::optional<Listing> l;
    if (s.ok() && s.http_code == 200) l = read_listing(body, kMaxListedPeers);
    if (l && l->location == options_.location) {
      sources_.erase(src);  // ourselves under another name: our row says it already
    } else if (l) {
      src->second.cut = l->dropped;
      if (l->dropped && cut_logged_.first())
        PM_LOG(notice, "page: %s lists more than %zu peers; the matrix shows %zu (logged once)",
               identity.c_str(), kMaxListedPeers, kMaxListedPeers);
      keep_within_budget(src->second, *l);
      src->second.listing = std::move(l);
      src->second.read_unix_ns = wall_unix_ns();
      src->second.last_error.clear();
    } else {
      // The last good listing stays, marked by the error, until the peer goes.
      src->second.last_error = !s.ok()              ? std::string(to_string(s.reason))
                               : s.http_code != 200 ? "HTTP " + std::to_string(s.http_code)
                                                    : std::string("not a peers listing");
      if (failed_logged_.first())
        PM_LOG(notice, "page: cannot read the peers of %s (%s) (logged once)", identity.c_str(),
               src->second.last_error.c_str());
    }
  }
  read_next();
}

// What the other listings hold leaves room for this one; the rest of it is cut.
void MeshView::keep_within_budget(MeshSource& src, Listing& l) {
  size_t held = 0;
  for (const auto& [id, other] : sources_)
    if (&other != &src && other.listing) held += other.listing->peers.size();
  size_t room = held < kMaxHeldListedPeers ? kMaxHeldListedPeers - held : 0;
  if (l.peers.size() <= room) return;
  src.cut += l.peers.size() - room;
  l.peers.resize(room);
  if (budget_logged_.first())
    PM_LOG(notice, "page: the listings hold %zu peers in all at most; %s cut to %zu (logged once)",
           kMaxHeldListedPeers, src.identity.c_str(), room);
}

std::string MeshView::build() const {
  return render_mesh_page(*this, peers_, metrics_, routes_, wall_unix_ns());
}

}  // namespace pingmesh
