#include "mesh/peer_set.hpp"

#include <algorithm>
#include <unordered_map>

#include "config/text_file.hpp"
#include "loop/clock.hpp"
#include "mesh/fanout.hpp"
#include "probe/schedule.hpp"

namespace pingmesh {

namespace {

PeerSet::Member::Recipe recipe_of(const PeerSpec& s, const PeerDefaults& d) {
  PeerSet::Member::Recipe r;
  r.url = s.url.display() + (s.url.query.empty() ? "" : "?" + s.url.query);
  r.identity = s.identity();
  r.location = s.location;
  r.address = s.address;
  r.delay_s = s.delay_s ? s.delay_s : d.delay_s;
  r.limit = s.limit.value_or(d.limit);
  r.max_failures = s.max_failures.value_or(d.max_failures);
  r.defaults = d;
  if (s.url.tls())
    r.tls = s.tls;
  else
    std::string().swap(r.tls.ca_file);  // its default, on the heap: nothing an http peer uses
  return r;
}

}  // namespace

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
  plan.lists = std::move(lists);
  plan.defaults = defaults;
  plan.max_peers = max_peers;
  // What each origin will want once the plan applies: the new lists, the others as they are.
  const std::vector<PeerSpec>* next[kOrigins];
  for (size_t o = 0; o < kOrigins; ++o) next[o] = &wanted_[o];
  for (const auto& [origin, specs] : plan.lists) next[size_t(origin)] = &specs;

  // The union, one spec per identity, in priority order, within the bound.
  struct Want {
    const PeerSpec* spec;
    Origin origin;
    Member::Recipe recipe;
  };
  std::vector<Want> wants;
  std::unordered_map<std::string, size_t> by_identity;
  uint64_t left_out = 0;
  for (size_t o = 0; o < kOrigins; ++o) {
    for (const auto& spec : *next[o]) {
      Member::Recipe r = recipe_of(spec, defaults);
      if (by_identity.count(r.identity)) continue;  // an earlier origin has it
      if (wants.size() >= max_peers) {
        ++left_out;
        continue;
      }
      by_identity.emplace(r.identity, wants.size());
      wants.push_back({&spec, Origin(o), std::move(r)});
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
    auto it = by_identity.find(m.recipe.identity);
    if (it == by_identity.end() || matched[it->second]) continue;
    const Want& w = wants[it->second];
    if (!(w.recipe == m.recipe)) continue;  // changed: a new peer replaces it
    matched[it->second] = true;
    plan.kept.push_back(j);
    plan.kept_origin.push_back(w.origin);
    // A renewed CA file (its time is in the TLS key) applies to a kept peer too.
    if (w.spec->url.tls() && (planned[size_t(w.origin)] || planned[size_t(m.origin)])) {
      Member::TlsKey key;
      auto config = tls_client_for(w.spec->tls, &key);
      if (!(key == m.tls_key)) plan.new_tls.push_back({j, key, std::move(config)});
    }
  }
  for (size_t i = 0; i < wants.size(); ++i) {
    if (matched[i]) continue;
    const PeerSpec& spec = *wants[i].spec;
    const Member::Recipe& r = wants[i].recipe;
    PeerSettings s;
    s.identity = r.identity;
    s.location = spec.location;
    s.address_override = spec.address;
    s.delay_ms = uint64_t(r.delay_s) * 1000;
    s.limit = r.limit;
    s.max_failures = r.max_failures;
    // Made with its recipe, not assigned one: a default recipe's strings would stay.
    Member m{nullptr, wants[i].origin, spec.place, false, std::move(wants[i].recipe), {}};
    if (spec.url.tls()) {
      auto config = tls_client_for(spec.tls, &m.tls_key);
      s.tls.conf = config->get();
      s.tls.owner = std::move(config);
      s.tls.verify = spec.tls.verify;
      s.tls.pin_sha256 = spec.tls.pin_sha256;
      s.tls.resume = spec.tls.resume;
    }
    Peer::Events& events = *this;
    m.peer = std::make_unique<Peer>(loop_, resolver_, spec.url, std::move(s), defaults.limits,
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
    members_[j].tls_key = key;
  }
  for (size_t k = 0; k < plan.kept.size(); ++k) members_[plan.kept[k]].origin = plan.kept_origin[k];
  std::vector<bool> kept(members_.size(), false);
  for (size_t j : plan.kept) kept[j] = true;
  size_t removed = 0;
  for (size_t j = 0; j < members_.size(); ++j) {
    Member& m = members_[j];
    if (m.removed || kept[j]) continue;
    m.removed = true;
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
    p.start(hashed ? 1000000000ull + pair_offset_ns(self_, m.recipe.identity, period)
                   : spread_offset_ns(i, added, period));
  }
  for (auto& [origin, specs] : plan.lists) {
    wanted_[size_t(origin)] = std::move(specs);
    wanted_[size_t(origin)].shrink_to_fit();  // a list read line by line grew up to twice
  }
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
    if (m.recipe.identity == identity && (!found || found->removed)) found = &m;
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
    gone.push_back(m.recipe.identity);
    return true;
  });
  std::erase_if(tls_clients_, [&](const auto& kv) {  // probes in flight keep theirs
    for (const auto& m : members_)
      if (m.tls_key == kv.first) return false;
    return true;
  });
  for (const auto& id : gone)
    if (!find(id)) events_.on_identity_gone(id);
}

}  // namespace pingmesh
