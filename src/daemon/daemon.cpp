#include "daemon/daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "export/json_sink.hpp"
#include "log/log.hpp"
#include "loop/clock.hpp"
#include "probe/schedule.hpp"

namespace pingmesh {

namespace {

log::Level level_for(int verbosity) {
  if (verbosity <= 0) return log::Level::warning;
  if (verbosity == 1) return log::Level::notice;
  if (verbosity == 2) return log::Level::info;
  return log::Level::debug;
}

// A lookup may take the whole probe timeout, as the README says, not c-ares' own 6 s.
Resolver::Options resolver_options(const Config& c) {
  return Resolver::options_for(c.dns_servers, uint64_t(c.timeout_s * 1000));
}

ProbeLimits limits_of(const Config& c) {
  ProbeLimits l;
  l.timeout_ms = uint64_t(c.timeout_s * 1000);
  l.connect_timeout_ms = uint64_t(c.connect_timeout_s * 1000);
  l.tls_timeout_ms = uint64_t(c.tls_timeout_s * 1000);
  return l;
}

std::string file_stamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

std::string local_ip_address() {
  uv_interface_address_t* ifs = nullptr;
  int count = 0;
  std::string v4, v6;
  if (uv_interface_addresses(&ifs, &count) == 0) {
    for (int i = 0; i < count; ++i) {
      if (ifs[i].is_internal) continue;
      char name[INET6_ADDRSTRLEN] = "";
      if (ifs[i].address.address4.sin_family == AF_INET && v4.empty()) {
        uv_ip4_name(&ifs[i].address.address4, name, sizeof name);
        v4 = name;
      } else if (ifs[i].address.address6.sin6_family == AF_INET6 && v6.empty()) {
        uv_ip6_name(&ifs[i].address.address6, name, sizeof name);
        v6 = name;
      }
    }
    uv_free_interface_addresses(ifs, count);
  }
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  return "127.0.0.1";
}

// Room for bursts (summaries at a reload of many peers) without holding much memory.
constexpr size_t kStdoutBuffer = 256 * 1024;
constexpr size_t kStderrBuffer = 64 * 1024;

Daemon::Daemon(Config config, Reload reload)
    : stdout_(loop_, 1, kStdoutBuffer),
      stderr_(loop_, 2, kStderrBuffer),
      log_to_(stderr_),
      config_(std::move(config)),
      reload_(std::move(reload)),
      start_unix_ns_(wall_unix_ns()),
      text_(stdout_, 1),
      resolver_(loop_, resolver_options(config_)),
      seed_(mono_ns()),
      sigint_(loop_, SIGINT, [this](int n) { on_signal(n); }),
      sigterm_(loop_, SIGTERM, [this](int n) { on_signal(n); }),
      sighup_(loop_, SIGHUP, [this](int) { on_reload(); }),
      grace_timer_(loop_,
                   [this] {
                     for (auto& e : peers_) e.peer->cancel();
                     finish_if_idle();
                   }),
      watchdog_(loop_,
                [this] {
                  notify_.send("WATCHDOG=1");
                  notify_status();  // only sent when it changed
                  watchdog_.start(notify_.watchdog_interval_ms());
                }),
      reaper_(loop_, [this] { reap_peers(); }) {
  if (config_.location.empty()) config_.location = local_ip_address();
  stdout_.on_recovered([](uint64_t n) {
    PM_LOG(warning, "%llu lines of output dropped: stdout's reader was too slow",
           (unsigned long long)n);
  });
  stderr_.on_recovered([](uint64_t n) {
    PM_LOG(warning, "%llu log lines dropped: stderr's reader was too slow", (unsigned long long)n);
  });
  sigint_.unref();
  sigterm_.unref();
  sighup_.unref();
  watchdog_.unref();
  apply_logging(config_);
  open_cloudwatch(config_);
  open_responder(config_);
}

void Daemon::open_cloudwatch(const Config& c) {
  if (!c.cloudwatch.enabled) return;
  const auto& cw = c.cloudwatch;
  CloudWatchOptions o;
  o.mode = cw.mode == Config::CloudWatch::Mode::compat ? CloudWatchBatch::Mode::compat
                                                       : CloudWatchBatch::Mode::full;
  o.region = cw.region;
  o.endpoint = cw.endpoint;
  o.metric_namespace = cw.metric_namespace;
  o.period_s = cw.period_s;
  o.dimensions = {cw.dimension_from, cw.dimension_to, cw.dimension_url};
  o.access_key_id = cw.access_key_id;
  o.secret_access_key = cw.secret_access_key;
  o.session_token = cw.session_token;
  if (cw.imds && (cw.access_key_id.empty() || cw.secret_access_key.empty()))
    o.imds_endpoint = cw.imds_endpoint;
  o.from_location = c.location;
  o.spool_dir = cw.spool_dir;
  o.spool_max_bytes = uint64_t(cw.spool_max_bytes);
  try {
    cloudwatch_ = std::make_unique<CloudWatchSink>(loop_, std::move(o));
  } catch (const std::exception& e) {
    throw ConfigError(e.what());  // no libcurl: enabling CloudWatch cannot work here
  }
  PM_LOG(notice, "publishing to CloudWatch (%s, every %d s) at %s",
         cw.mode == Config::CloudWatch::Mode::compat ? "compat" : "full", cw.period_s,
         cw.endpoint.c_str());
}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto wanted = wanted_peers(config_);
  if (wanted.empty()) {
    if (config_.format == Config::Format::text)
      text_.print("NOTE: not starting any pings, just serving\n");
  } else if (config_.verbosity > 1) {
    std::string urls;
    for (auto& p : wanted) urls += (urls.empty() ? "" : " ") + p.url.display();
    PM_LOG(info, "starting ping across [%s]", urls.c_str());
    text_.print_header();
  }
  sync_peers(config_);
  running_ = true;
  notify_.send("READY=1");
  notify_status();
  if (notify_.watchdog_interval_ms()) watchdog_.start(notify_.watchdog_interval_ms());
  finish_if_idle();  // nothing to probe and nothing to serve
  loop_.run();
  // A second signal during the last flush ends us at once, by default action.
  sigint_.close();
  sigterm_.close();
  flush_output(stop_deadline_ns_ ? stop_deadline_ns_
                                 : mono_ns() + uint64_t(config_.shutdown_timeout_s * 1e9));
  return exit_code_;
}

// What waits for a slow reader goes out within the stop timeout, never later.
void Daemon::flush_output(uint64_t deadline_ns) {
  stdout_.flush(deadline_ns);
  stderr_.flush(deadline_ns);
}

void Daemon::apply_logging(const Config& c) {
  log::set_level(level_for(c.verbosity));
  text_.set_verbosity(c.format == Config::Format::text ? c.verbosity : 0);
  json_.reset();
  samples_ = nullptr;
  if (c.format == Config::Format::text) samples_ = &text_;
  if (c.format == Config::Format::json) {
    json_ = std::make_unique<JsonSink>(stdout_, c.location);
    samples_ = json_.get();
  }
}

TlsRandom& Daemon::tls_random() {
  if (!tls_random_) tls_random_ = std::make_unique<TlsRandom>();
  return *tls_random_;
}

std::string Daemon::responder_key(const Config& c) const {
  std::string k =
      std::to_string(c.serve_port) + "|" + std::to_string(c.tls_port) + "|" + c.location + "|";
  for (const auto& a : c.listen) k += a + ",";
  if (c.tls_port)  // a renewed certificate reopens the TLS listener
    k += "|" + c.cert_file + "@" + file_stamp(c.cert_file) + "|" + c.key_file + "@" +
         file_stamp(c.key_file);
  return k;
}

std::unique_ptr<TlsServerConfig> Daemon::make_tls_server(const Config& c) {
  if (!c.tls_port) return nullptr;
  try {
    return std::make_unique<TlsServerConfig>(tls_random(), c.cert_file, c.key_file);
  } catch (const std::exception& e) {
    throw ConfigError(e.what());  // the files' contents are configuration
  }
}

void Daemon::open_responder(const Config& c) {
  responder_key_ = responder_key(c);
  tls_server_ = make_tls_server(c);
  responder_ = make_responder(c, tls_server_.get());
  log_listening(c);
}

std::unique_ptr<Responder> Daemon::make_responder(const Config& c, TlsServerConfig* tls) {
  if (!c.serve_port && !c.tls_port) return nullptr;
  Responder::Options ro;
  ro.addresses = c.listen;
  ro.plain = c.serve_port > 0;
  ro.port = uint16_t(c.serve_port);
  ro.tls = tls ? tls->get() : nullptr;
  ro.tls_port = uint16_t(c.tls_port);
  ro.location = c.location;
  auto r = std::make_unique<Responder>(loop_, ro, [this] { return peers_json(); });
  r->start();  // throws when a port cannot be bound
  return r;
}

void Daemon::log_listening(const Config& c) {
  if (c.serve_port) PM_LOG(notice, "starting server on port %d", c.serve_port);
  if (c.tls_port) PM_LOG(notice, "starting TLS server on port %d", c.tls_port);
}

// The configured peers, and the node itself when a service has none configured: a
// fresh install shows data at once.
std::vector<PeerSpec> Daemon::wanted_peers(const Config& c) const {
  std::vector<PeerSpec> out = c.peers;
  bool self =
      c.probe_self == Config::ProbeSelf::yes ||
      (c.probe_self == Config::ProbeSelf::automatic && !c.config_path.empty() && c.peers.empty());
  if (self && (c.serve_port || c.tls_port)) {
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
    p.origin = "self";
    out.push_back(std::move(p));
  }
  return out;
}

std::shared_ptr<const TlsClientConfig> Daemon::tls_client_for(const PeerTls& t, std::string* key) {
  // The file's time is in the key, so a renewed CA bundle is read again on reload.
  *key =
      (t.verify ? "v|" : "-|") + t.ca_file + "@" + file_stamp(t.ca_file) + (t.resume ? "|r" : "|-");
  auto& config = tls_clients_[*key];
  if (!config) {
    TlsClientOptions o;
    o.verify = t.verify;
    o.ca_file = t.ca_file;
    o.allow_resumption = t.resume;
    try {
      config = std::make_shared<TlsClientConfig>(tls_random(), o);
    } catch (const std::exception& e) {
      tls_clients_.erase(*key);
      throw ConfigError(e.what());
    }
  }
  return config;
}

void Daemon::sync_peers(const Config& c) {
  apply_peers(plan_peers(c));
}

// Builds what c needs and the running peers lack, touching nothing that runs: a TLS
// configuration that cannot be built throws here.
Daemon::PeerPlan Daemon::plan_peers(const Config& c) {
  auto wanted = wanted_peers(c);
  ProbeLimits limits = limits_of(c);
  auto key_of = [&](const PeerSpec& s) {
    int delay = s.delay_s ? s.delay_s : c.delay_s;
    return s.url.display() + "?" + s.url.query + "|" + s.identity() + "|" + s.location + "|" +
           s.address + "|" + std::to_string(delay) + "|" + std::to_string(c.limit) + "|" +
           std::to_string(c.max_failures) + "|" + std::to_string(limits.timeout_ms) + "|" +
           std::to_string(limits.connect_timeout_ms) + "|" + std::to_string(limits.tls_timeout_ms) +
           "|" + (s.tls.verify ? "v" : "-") + s.tls.ca_file + "|" + s.tls.pin_sha256 +
           (s.tls.resume ? "|r" : "|-");
  };
  PeerPlan plan;
  std::vector<bool> matched(wanted.size(), false);
  std::vector<std::string> keys;
  for (const auto& w : wanted) keys.push_back(key_of(w));
  for (size_t j = 0; j < peers_.size(); ++j) {
    if (peers_[j].removed) continue;
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (matched[i] || keys[i] != peers_[j].key) continue;
      matched[i] = true;
      plan.kept.push_back(j);
      // A renewed CA file (its time is in the TLS key) applies to a kept peer too.
      if (wanted[i].url.tls()) {
        std::string tls_key;
        auto config = tls_client_for(wanted[i].tls, &tls_key);
        if (tls_key != peers_[j].tls_key) plan.new_tls.push_back({j, tls_key, std::move(config)});
      }
      break;
    }
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (matched[i]) continue;
    const PeerSpec& spec = wanted[i];
    PeerSettings s;
    s.identity = spec.identity();
    s.location = spec.location;
    s.address_override = spec.address;
    s.delay_ms = uint64_t(spec.delay_s ? spec.delay_s : c.delay_s) * 1000;
    s.limit = c.limit;
    s.max_failures = c.max_failures;
    std::string tls_key;
    if (spec.url.tls()) {
      auto config = tls_client_for(spec.tls, &tls_key);
      s.tls.conf = config->get();
      s.tls.owner = std::move(config);
      s.tls.verify = spec.tls.verify;
      s.tls.pin_sha256 = spec.tls.pin_sha256;
      s.tls.resume = spec.tls.resume;
    }
    plan.fresh.push_back(
        {std::make_unique<Peer>(loop_, resolver_, spec.url, s, limits, *this, ++seed_), keys[i],
         tls_key, false});
  }
  return plan;
}

// Swaps the plan in: new peers start, peers c no longer has stop, kept ones keep their
// statistics and schedule.
void Daemon::apply_peers(PeerPlan plan) {
  for (auto& [j, key, config] : plan.new_tls) {
    peers_[j].peer->use_tls_config(config->get(), config);  // from its next probe on
    peers_[j].tls_key = key;
  }
  size_t removed = 0;
  for (size_t j = 0; j < peers_.size(); ++j) {
    PeerEntry& e = peers_[j];
    if (e.removed || std::find(plan.kept.begin(), plan.kept.end(), j) != plan.kept.end()) continue;
    e.removed = true;
    ++removed;
    if (e.peer->ended())
      reaper_.start(0);
    else
      e.peer->stop();  // it prints its summary once its probe in flight is done
  }
  if (!plan.new_tls.empty()) reaper_.start(0);  // the configurations no peer uses any more

  // New peers start spread over their period, so they never fire together.
  size_t added = plan.fresh.size();
  for (size_t i = 0; i < added; ++i) {
    Peer& p = *plan.fresh[i].peer;
    peers_.push_back(std::move(plan.fresh[i]));
    PM_LOG(info, "ping %s", p.url().c_str());
    p.start(spread_offset_ns(i, added, p.settings().delay_ms * 1000000));
  }
  if (running_)
    PM_LOG(notice, "peers: %zu added, %zu removed, %zu kept", added, removed, plan.kept.size());
}

void Daemon::on_sample(Peer& peer, const Sample& s) noexcept {
  if (!s.ok()) last_error_ = peer.identity() + ": " + std::string(to_string(s.reason));
  if (samples_) samples_->on_sample(s, peer.totals().successes);
  if (cloudwatch_) cloudwatch_->on_sample(s, peer.totals().successes);
}

void Daemon::on_peer_ended(Peer& peer) noexcept {
  if (samples_) samples_->on_peer_summary(peer.totals());
  for (auto& e : peers_)
    if (e.peer.get() == &peer && e.removed) reaper_.start(0);
  notify_status();
  finish_if_idle();
}

// Frees peers removed by a reload once they have ended (never inside their callbacks),
// and the TLS configurations nobody uses any more.
void Daemon::reap_peers() {
  std::erase_if(peers_, [](const PeerEntry& e) { return e.removed && e.peer->ended(); });
  std::erase_if(tls_clients_, [&](const auto& kv) {  // probes in flight keep theirs
    for (const auto& e : peers_)
      if (e.tls_key == kv.first) return false;
    return true;
  });
}

void Daemon::on_signal(int signum) {
  if (shutting_down_) {
    flush_output(mono_ns());  // a second signal: what can go without waiting, then out
    stdout_.restore_shared_flags();
    stderr_.restore_shared_flags();
    std::_Exit(exit_failure);
  }
  // The words of Go's signal names, as the original prints them.
  const char* name = signum == SIGINT ? "interrupt" : "terminated";
  if (config_.format == Config::Format::text)
    text_.print(std::string("\nreceived ") + name + " signal, terminating\n");
  else
    PM_LOG(notice, "received %s signal, terminating", name);
  begin_stop();
}

void Daemon::begin_stop() {
  if (shutting_down_) return;
  shutting_down_ = true;
  notify_.send("STOPPING=1");
  // Probes in flight may finish, within shutdown_timeout. The listeners stay open until
  // they have: closing them now would reset a probe of ourselves still in the accept
  // queue, a failure of our own making.
  for (auto& e : peers_) e.peer->stop();
  grace_timer_.start(uint64_t(config_.shutdown_timeout_s * 1000));
  stop_deadline_ns_ = mono_ns() + uint64_t(config_.shutdown_timeout_s * 1e9);
  finish_if_idle();
}

void Daemon::on_reload() {
  if (shutting_down_ || !reload_) return;
  notify_.send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(mono_ns() / 1000));
  PM_LOG(notice, "SIGHUP: reloading %s",
         config_.config_path.empty() ? "the configuration" : config_.config_path.c_str());
  reloading_ = true;  // peers stopped on the way must not end the loop
  apply_reload();
  reloading_ = false;
  if (!shutting_down_) notify_.send("READY=1");
  last_status_.clear();
  notify_status();
  finish_if_idle();
}

// All or nothing: everything the new configuration needs is built (certificates and CA
// files parsed, peers made, listeners bound) before anything running changes; then swapped.
void Daemon::apply_reload() {
  auto refuse = [this](const char* what, const std::string& why) {
    last_error_ = "reload: " + why;
    PM_LOG(error, "reload failed, %s: %s", what, why.c_str());
    reaper_.start(0);  // the TLS configurations the refused plan made
  };
  LoadedConfig loaded;
  std::unique_ptr<TlsServerConfig> tls;
  bool listeners_change = false;
  PeerPlan plan;
  try {
    loaded = reload_();
    if (loaded.config.location.empty()) loaded.config.location = local_ip_address();
    listeners_change = responder_key(loaded.config) != responder_key_;
    if (listeners_change) tls = make_tls_server(loaded.config);
    plan = plan_peers(loaded.config);
  } catch (const std::exception& e) {
    return refuse("the running configuration stays", e.what());
  }
  for (const auto& n : loaded.notices) PM_LOG(warning, "%s", n.c_str());
  Config next = std::move(loaded.config);
  if (listeners_change) {
    std::string why;
    if (!swap_responder(next, std::move(tls), &why))
      return refuse("the running configuration stays", why);
  }
  apply_peers(std::move(plan));
  // What is built once: say so rather than ignore it silently.
  if (!(config_.cloudwatch == next.cloudwatch))
    PM_LOG(warning, "reload: the [cloudwatch] settings changed; they apply at the next start");
  if (config_.dns_servers != next.dns_servers)
    PM_LOG(warning, "reload: dns_servers changed; it applies at the next start");
  apply_logging(next);
  config_ = std::move(next);
}

// The new listeners are bound while the old ones still answer; where they want the same
// port, the old ones go first and come back if the new ones cannot be bound.
bool Daemon::swap_responder(const Config& next, std::unique_ptr<TlsServerConfig> tls,
                            std::string* why) {
  std::unique_ptr<Responder> fresh;
  try {
    fresh = make_responder(next, tls.get());
  } catch (const std::exception&) {
    responder_.reset();  // frees the ports for the new listeners
    try {
      fresh = make_responder(next, tls.get());
    } catch (const std::exception& e) {
      *why = e.what();
      try {
        responder_ = make_responder(config_, tls_server_.get());
      } catch (const std::exception& again) {
        // Nothing answers any more, so the mesh sees us as down: stop, and say so with
        // the exit code, so that systemd's Restart=on-failure brings the node back.
        PM_LOG(error, "cannot reopen the previous listeners either: %s; stopping", again.what());
        responder_key_.clear();
        exit_code_ = exit_failure;
        begin_stop();
      }
      return false;
    }
  }
  responder_ = std::move(fresh);
  tls_server_ = std::move(tls);
  responder_key_ = responder_key(next);
  log_listening(next);
  return true;
}

void Daemon::notify_status() {
  if (!notify_.enabled()) return;
  size_t active = 0, failing = 0;
  for (const auto& e : peers_) {
    if (e.removed || e.peer->ended()) continue;
    ++active;
    if (e.peer->totals().failures > 0 && e.peer->totals().successes == 0) ++failing;
  }
  std::string status =
      "STATUS=" + std::to_string(active) + " peers, " + std::to_string(failing) + " never reached";
  if (!last_error_.empty()) status += "; last error: " + last_error_;
  if (status == last_status_) return;
  last_status_ = status;
  notify_.send(status);
}

// Ends the loop once every peer has ended, unless the responder should keep serving.
void Daemon::finish_if_idle() {
  if (!running_ || reloading_) return;
  for (const auto& e : peers_)
    if (!e.peer->ended() && (shutting_down_ || !e.removed)) return;
  if (responder_ && !shutting_down_) return;
  if (cloudwatch_ && !cloudwatch_drained_) {
    if (cloudwatch_draining_) return;  // finish_if_idle runs again once it is done
    // The last samples go out before we stop, within what is left of the stop timeout.
    uint64_t now = mono_ns();
    uint64_t left_ms = stop_deadline_ns_ > now ? (stop_deadline_ns_ - now) / 1000000 : 0;
    if (!stop_deadline_ns_) left_ms = uint64_t(config_.shutdown_timeout_s * 1000);
    cloudwatch_draining_ = true;
    cloudwatch_->drain(std::max<uint64_t>(left_ms, 500), [this] {
      cloudwatch_drained_ = true;
      finish_if_idle();
    });
    return;
  }
  grace_timer_.stop();
  watchdog_.stop();
  if (responder_) responder_->stop();
  loop_.stop();
}

}  // namespace pingmesh
