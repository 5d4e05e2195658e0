#include "mesh/peer_set.hpp"

#include <algorithm>
#include <unordered_map>

#include "config/text_file.hpp"
#include "loop/clock.hpp"
#include "mesh/fanout.hpp"
#include "probe/schedule.hpp"

namespace pingmesh {

namespace {

// As PeerSpec::identity() writes the URL: the display and the query.
std::string url_text(const Url& u) {
  return u.query.empty() ? u.display() : u.display() + "?" + u.query;
}

// "file:line" splits into the file, shared, and the line; anything else stays whole.
uint32_t split_line(std::string& place) {
  auto colon = place.rfind(':');
  if (colon == std::string::npos || colon + 1 == place.size() || place.size() - colon > 10 ||
      place[colon + 1] == '0')
    return 0;
  uint64_t line = 0;
  for (size_t i = colon + 1; i < place.size(); ++i) {
    if (place[i] < '0' || place[i] > '9') return 0;
    line = line * 10 + uint64_t(place[i] - '0');
  }
  if (line > UINT32_MAX) return 0;
  place.resize(colon);
  return uint32_t(line);
}

// The fields of a spec's rest, as one key: equal keys, equal rests.
// (The size is 64-bit Linux's; a field added or removed changes it.)
static_assert(sizeof(void*) != 8 || sizeof(PeerSpec) == 488,
              "rest_key must cover every field of PeerSpec");
std::string rest_key(const PeerSpec& s) {
  std::string k;
  auto add = [&](std::string_view v) {
    k += std::to_string(v.size());
    k += ':';
    k += v;
  };
  auto opt_bool = [&](const std::optional<bool>& b) { k += b ? (*b ? '1' : '0') : '-'; };
  auto opt_str = [&](const std::optional<std::string>& v) {
    k += v ? '+' : '-';
    if (v) add(*v);
  };
  add(s.name), add(s.location), add(s.address), add(s.place);
  add(std::to_string(s.delay_s));
  add(s.limit ? std::to_string(*s.limit) : "-");
  add(s.max_failures ? std::to_string(*s.max_failures) : "-");
  opt_bool(s.tls_override.verify), opt_bool(s.tls_override.resume);
  opt_str(s.tls_override.ca_file), opt_str(s.tls_override.pin_sha256);
  k += s.tls.verify ? '1' : '0';
  k += s.tls.resume ? '1' : '0';
  add(s.tls.ca_file), add(s.tls.pin_sha256);
  return k;
}

int resolved_delay(const PeerSpec& s, const PeerDefaults& d) {
  return s.delay_s ? s.delay_s : d.delay_s;
}

// Would a and b make the same peer (the recipe: everything a peer is made from)?
bool same_recipe(const PeerSet::Wanted& a, const PeerDefaults& da, const PeerSet::Wanted& b,
                 const PeerDefaults& db) {
  if (!(da == db)) return false;
  const PeerSpec &x = *a.rest, &y = *b.rest;
  if (a.url != b.url) return false;
  if (&x == &y) return true;
  if (a.identity() != b.identity() || x.location != y.location || x.address != y.address)
    return false;
  if (resolved_delay(x, da) != resolved_delay(y, db) ||
      x.limit.value_or(da.limit) != y.limit.value_or(db.limit) ||
      x.max_failures.value_or(da.max_failures) != y.max_failures.value_or(db.max_failures))
    return false;
  return !a.url.str().starts_with("https:") || x.tls == y.tls;
}

}  // namespace

std::string_view PeerSet::Wanted::identity() const {
  if (!rest->name.empty()) return rest->name;
  if (!rest->location.empty()) return rest->location;
  return url;
}

std::string PeerSet::Wanted::place() const {
  return line ? rest->place + ":" + std::to_string(line) : rest->place;
}

PeerSpec PeerSet::Wanted::spec() const {
  PeerSpec s = *rest;
  if (s.url.scheme.empty()) s.url = parse_url(url.str(), nullptr).value_or(Url{});  // else whole
  s.place = place();
  return s;
}

std::vector<PeerSet::Wanted> PeerSet::compact(std::vector<PeerSpec> specs) {
  std::vector<Wanted> out;
  out.reserve(specs.size());
  std::shared_ptr<const PeerSpec> last;  // a file's lines share one: tried first
  std::string last_key;
  for (auto& spec : specs) {
    Wanted w;
    w.url = SharedString(url_text(spec.url));
    auto again = parse_url(w.url.str(), nullptr);
    if (!again || *again != spec.url) {
      w.rest = std::make_shared<const PeerSpec>(std::move(spec));  // kept whole, alone
      out.push_back(std::move(w));
      continue;
    }
    spec.url = Url{};
    w.line = split_line(spec.place);
    std::string key = rest_key(spec);
    if (!last || key != last_key) {
      auto& slot = rests_[key];
      last = slot.lock();
      if (!last) {
        last = std::make_shared<const PeerSpec>(std::move(spec));
        slot = last;
      }
      last_key = std::move(key);
    }
    w.rest = last;
    out.push_back(std::move(w));
  }
  std::erase_if(rests_, [](const auto& kv) { return kv.second.expired(); });
  return out;
}

std::vector<PeerSpec> PeerSet::wanted(Origin o) const {
  std::vector<PeerSpec> out;
  out.reserve(wanted_[size_t(o)].size());
  for (const auto& w : wanted_[size_t(o)]) out.push_back(w.spec());
  return out;
}

// Each running member at the spec that wants it: the first of its identity in priority
// order, as plan chose it.
void PeerSet::point_members_at_wanted() {
  std::unordered_map<std::string_view, const Wanted*> first;
  for (size_t o = 0; o < kOrigins; ++o)
    for (const auto& w : wanted_[o]) first.emplace(w.identity(), &w);
  for (auto& m : members_) {
    if (m.kept_) continue;
    auto it = first.find(m.peer->identity());
    m.wanted_ = it == first.end() ? nullptr : it->second;
  }
}

const char* to_string(Origin o) {
  switch (o) {
    case Origin::config:
      return "config";
    case Origin::self:
      return "self";
    case Origin::api:
      return "api";
    case Origin::dns:
      return "dns";
    case Origin::exchange:
      return "exchange";
  }
  return "?";
}

PeerDefaults peer_defaults(const Config& c) {
  PeerDefaults d;
  d.delay_s = c.delay_s;
  d.limit = c.limit;
  d.max_failures = c.max_failures;
  d.limits.timeout_ms = uint64_t(c.timeout_s * 1000);
  d.limits.connect_timeout_ms = uint64_t(c.connect_timeout_s * 1000);
  d.limits.tls_timeout_ms = uint64_t(c.tls_timeout_s * 1000);
  d.limits.kernel_timing = c.timing == Config::Timing::kernel;
  d.limits.disturbed_margin_ns = uint64_t(c.disturbed_margin_s * 1e9);
  d.limits.disturbed_work_ns = uint64_t(c.disturbed_work_s * 1e9);
  return d;
}

std::optional<PeerSpec> self_peer(const Config& c) {
  bool wanted =
      c.probe_self == Config::ProbeSelf::yes ||
      (c.probe_self == Config::ProbeSelf::automatic && !c.config_path.empty() && c.peers.empty());
  if (!wanted || (!c.serve_port && !c.tls_port)) return std::nullopt;
  // Loopback when we listen there (or everywhere), else our first listen address.
  std::string host = "127.0.0.1";
  bool v4_loop = false, v6_loop = false;
  for (const auto& a : c.listen) {
    v4_loop |= a == "0.0.0.0" || a == "127.0.0.1";
    v6_loop |= a == "::" || a == "::1";
  }
  if (!v4_loop) host = v6_loop ? "[::1]" : c.listen.empty() ? host : c.listen.front();
  if (!v4_loop && !v6_loop && host.find(':') != std::string::npos) host = "[" + host + "]";
  std::string text = c.serve_port ? "http://" + host + ":" + std::to_string(c.serve_port)
                                  : "https://" + host + ":" + std::to_string(c.tls_port);
  PeerSpec p;
  p.url = *parse_url(text + "/v1/ping", nullptr);
  p.tls = c.tls;
  p.tls.verify = false;     // our own certificate, whoever signed it
  p.location = c.location;  // it is us: our samples to ourselves carry our name
  p.place = "self";
  return p;
}

PeerSet::PeerSet(Loop& loop, Resolver& resolver, Events& events, std::function<TlsRandom&()> random,
                 size_t max_peers)
    : loop_(loop),
      resolver_(resolver),
      events_(events),
      max_peers_(max_peers),
      peer_timers_(loop),
      random_(std::move(random)),
      reaper_(loop, [this] { reap(); }),
      seed_(mono_ns()) {}

PeerSet::~PeerSet() = default;

std::shared_ptr<const TlsClientConfig> PeerSet::tls_client_for(const PeerTls& t,
                                                               Member::TlsKey* key) {
  // The file's time is in the key, so a renewed CA bundle is read again.
  *key = {t.verify, t.resume, t.ca_file, file_stamp(t.ca_file)};
  auto& config = tls_clients_[*key];
  if (!config) {
    TlsClientOptions o;
    o.verify = t.verify;
    o.ca_file = t.ca_file;
    o.allow_resumption = t.resume;
    try {
      config = std::make_shared<TlsClientConfig>(random_(), o);
    } catch (const std::exception& e) {
      tls_clients_.erase(*key);
      throw ConfigError(e.what());
    }
  }
  return config;
}

TlsTarget PeerSet::tls_target(const PeerTls& t) {
  Member::TlsKey key;
  auto config = tls_client_for(t, &key);
  reaper_.start(0);  // no member uses it: the target's owner keeps it alive
  TlsTarget target;
  target.conf = config->get();
  target.owner = std::move(config);
  target.verify = t.verify;
  target.pin_sha256 = t.pin_sha256;
  target.resume = false;
  return target;
}

PeerSet::Plan PeerSet::plan(std::vector<std::pair<Origin, std::vector<PeerSpec>>> lists,
                            const PeerDefaults& defaults, size_t max_peers) {
  Plan plan;
  for (auto& [origin, specs] : lists) plan.lists.emplace_back(origin, compact(std::move(specs)));
  plan.defaults = defaults;
  plan.max_peers = max_peers;
  // What each origin will want once the plan applies: the new lists, the others as they are.
  const std::vector<Wanted>* next[kOrigins];
  for (size_t o = 0; o < kOrigins; ++o) next[o] = &wanted_[o];
  for (const auto& [origin, specs] : plan.lists) next[size_t(origin)] = &specs;

  // The union, one spec per identity, in priority order, within the bound.
  struct Want {
    const Wanted* wanted;
    Origin origin;
  };
  std::vector<Want> wants;
  std::unordered_map<std::string_view, size_t> by_identity;
  uint64_t left_out = 0;
  for (size_t o = 0; o < kOrigins; ++o) {
    for (const auto& w : *next[o]) {
      std::string_view id = w.identity();
      if (by_identity.count(id)) continue;  // an earlier origin has it
      if (wants.size() >= max_peers) {
        ++left_out;
        continue;
      }
      by_identity.emplace(id, wants.size());
      wants.push_back({&w, Origin(o)});
    }
  }
  plan.left_out = left_out;
  // Whose TLS configurations to look at again: only the origins being planned, so one
  // origin's change neither re-reads every CA file nor fails on another origin's.
  bool planned[kOrigins] = {};
  for (const auto& [origin, specs] : plan.lists) planned[size_t(origin)] = true;

  std::vector<bool> matched(wants.size(), false);
  for (size_t j = 0; j < members_.size(); ++j) {
    const Member& m = members_[j];
    if (m.removed) continue;
    auto it = by_identity.find(m.peer->identity());
    if (it == by_identity.end() || matched[it->second]) continue;
    const Want& w = wants[it->second];
    // Changed: a new peer replaces it.
    if (!same_recipe(*w.wanted, defaults, m.wanted(), defaults_)) continue;
    matched[it->second] = true;
    plan.kept.push_back(j);
    plan.kept_origin.push_back(w.origin);
    // A renewed CA file (its time is in the TLS key) applies to a kept peer too.
    if (m.tls_key && (planned[size_t(w.origin)] || planned[size_t(m.origin)])) {
      Member::TlsKey key;
      auto config = tls_client_for(w.wanted->rest->tls, &key);
      if (!(key == *m.tls_key)) plan.new_tls.push_back({j, key, std::move(config)});
    }
  }
  for (size_t i = 0; i < wants.size(); ++i) {
    if (matched[i]) continue;
    const Wanted& w = *wants[i].wanted;
    const PeerSpec& rest = *w.rest;
    Url url = rest.url.scheme.empty() ? parse_url(w.url.str(), nullptr).value_or(Url{}) : rest.url;
    PeerSettings s;
    s.identity = std::string(w.identity());
    s.url_text = w.url;  // the Peer holds this one copy
    s.location = rest.location;
    s.address_override = rest.address;
    s.delay_ms = uint64_t(resolved_delay(rest, defaults)) * 1000;
    s.limit = rest.limit.value_or(defaults.limit);
    s.max_failures = rest.max_failures.value_or(defaults.max_failures);
    Member m;
    m.origin = wants[i].origin;
    m.wanted_ = &w;  // into plan.lists: apply points it at wanted_ once they move there
    if (url.tls()) {
      m.tls_key = std::make_unique<Member::TlsKey>();
      auto config = tls_client_for(rest.tls, m.tls_key.get());
      s.tls.conf = config->get();
      s.tls.owner = std::move(config);
      s.tls.verify = rest.tls.verify;
      s.tls.pin_sha256 = rest.tls.pin_sha256;
      s.tls.resume = rest.tls.resume;
    }
    Peer::Events& events = *this;
    m.peer = std::make_unique<Peer>(loop_, resolver_, std::move(url), std::move(s), defaults.limits,
                                    events, ++seed_, &peer_timers_);
    plan.fresh.push_back(std::move(m));
  }
  reaper_.start(0);  // the TLS configurations of a plan never applied
  return plan;
}

PeerSet::Change PeerSet::apply(Plan plan) {
  if (stopped_) return {};
  if (plan.left_out) {
    over_bound_ += plan.left_out;
    if (over_bound_logged_.first())
      PM_LOG(warning, "peers: %llu left out, over max_peers = %zu (logged once)",
             (unsigned long long)plan.left_out, plan.max_peers);
  }
  for (auto& [j, key, config] : plan.new_tls) {
    members_[j].peer->use_tls_config(config->get(), config);  // from its next probe on
    *members_[j].tls_key = key;
  }
  for (size_t k = 0; k < plan.kept.size(); ++k) members_[plan.kept[k]].origin = plan.kept_origin[k];
  std::vector<bool> kept(members_.size(), false);
  for (size_t j : plan.kept) kept[j] = true;
  size_t removed = 0;
  for (size_t j = 0; j < members_.size(); ++j) {
    Member& m = members_[j];
    if (m.removed || kept[j]) continue;
    m.removed = true;
    m.kept_ = std::make_unique<const Wanted>(m.wanted());  // its list is about to change
    m.wanted_ = nullptr;
    ++removed;
    if (!m.peer->ended()) m.peer->stop();  // its summary follows once its probe is done
  }
  reaper_.start(0);  // ended peers, and the TLS configurations no peer uses any more

  // New peers start spread over their period, so they never fire together.
  size_t added = plan.fresh.size();
  members_.reserve(members_.size() + added);  // not twice the room at a big start
  for (size_t i = 0; i < added; ++i) {
    members_.push_back(std::move(plan.fresh[i]));
    const Member& m = members_.back();
    Peer& p = *m.peer;
    PM_LOG(info, "ping %s", p.url().c_str());
    uint64_t period = p.delay_ms() * 1000000;
    // The configuration's peers keep the original's start (1 s, then spread evenly).
    bool hashed = !self_.empty() && m.origin != Origin::config && m.origin != Origin::self;
    p.start(hashed ? 1000000000ull + pair_offset_ns(self_, p.identity(), period)
                   : spread_offset_ns(i, added, period));
  }
  for (auto& [origin, specs] : plan.lists) {
    wanted_[size_t(origin)] = std::move(specs);
    wanted_[size_t(origin)].shrink_to_fit();  // a list read line by line grew up to twice
  }
  point_members_at_wanted();
  defaults_ = plan.defaults;
  max_peers_ = plan.max_peers;
  events_.on_members_changed();
  return {added, removed, plan.kept.size()};
}

PeerSet::Change PeerSet::reconcile(Origin origin, std::vector<PeerSpec> specs) {
  std::vector<std::pair<Origin, std::vector<PeerSpec>>> lists;
  lists.emplace_back(origin, std::move(specs));
  return apply(plan(std::move(lists), defaults_, max_peers_));
}

const PeerSet::Member* PeerSet::find(const std::string& identity) const {
  const Member* found = nullptr;
  for (const auto& m : members_)
    if (m.peer->identity() == identity && (!found || found->removed)) found = &m;
  return found;
}

size_t PeerSet::size() const {
  size_t n = 0;
  for (const auto& m : members_) n += !m.removed;
  return n;
}

void PeerSet::stop_all() {
  stopped_ = true;
  for (auto& m : members_) m.peer->stop();
}

void PeerSet::cancel_all() {
  for (auto& m : members_) m.peer->cancel();
}

bool PeerSet::idle(bool all) const {
  for (const auto& m : members_)
    if (!m.peer->ended() && (all || !m.removed)) return false;
  return true;
}

void PeerSet::on_sample(Peer& peer, const Sample& s) noexcept {
  events_.on_sample(peer, s);
}

void PeerSet::on_peer_ended(Peer& peer) noexcept {
  events_.on_peer_ended(peer);
  reaper_.start(0);  // if it was removed: never freed inside its own callback
}

// Frees removed peers once they have ended, and the TLS configurations nobody uses any
// more; says which identities are gone for good.
void PeerSet::reap() {
  std::vector<std::string> gone;
  std::erase_if(members_, [&](const Member& m) {
    if (!m.removed || !m.peer->ended()) return false;
    gone.push_back(m.peer->identity());
    return true;
  });
  std::erase_if(tls_clients_, [&](const auto& kv) {  // probes in flight keep theirs
    for (const auto& m : members_)
      if (m.tls_key && *m.tls_key == kv.first) return false;
    return true;
  });
  for (const auto& id : gone)
    if (!find(id)) events_.on_identity_gone(id);
}

}  // namespace pingmesh
