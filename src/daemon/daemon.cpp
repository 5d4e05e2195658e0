#include "daemon/daemon.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "config/text_file.hpp"
#include "config/values.hpp"
#include "export/json_sink.hpp"
#include "http/ping_page.hpp"
#include "log/log.hpp"
#include "loop/clock.hpp"
#include "loop/timed_stream.hpp"
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

PeerApiOptions api_options(const Config& c) {
  return {c.api_token, c.state_dir, c.tls, self_filter(c), peer_defaults(c).limits};
}

DiscoveryOptions discovery_options(const Config& c) {
  DiscoveryOptions o;
  const auto& d = c.discovery;
  o.name = d.name;
  o.srv = d.name.starts_with("_");
  o.scheme = d.https ? "https" : "http";
  o.port = d.port ? d.port : d.https ? c.tls_port : c.serve_port;
  o.min_ttl_s = uint32_t(d.min_ttl_s);
  o.max_ttl_s = uint32_t(d.max_ttl_s);
  o.grace_s = uint32_t(d.grace_s);
  o.fanout = size_t(d.fanout);
  o.self = self_filter(c);
  o.tls = c.tls;
  return o;
}

ExchangeOptions exchange_options(const Config& c) {
  ExchangeOptions o;
  o.from = c.exchange_from;
  o.interval_ms = uint64_t(c.exchange_interval_s) * 1000;
  o.self = self_filter(c);
  o.tls = c.tls;
  o.limits = peer_defaults(c).limits;
  return o;
}

// /v1/peers is rebuilt at most this often, and the versions unsent answers hold are bounded.
constexpr uint64_t kPeersPageMaxAgeNs = 1'000'000'000;
constexpr size_t kPeersPageMaxHeld = 8 * 1024 * 1024;
// A scrape of 1,000 peers is about 14 MB; a few scrapers at once share one version.
constexpr uint64_t kMetricsMaxAgeNs = 1'000'000'000;
constexpr size_t kMetricsMaxHeld = 64 * 1024 * 1024;

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
      peers_(
          loop_, resolver_, *this, [this]() -> TlsRandom& { return tls_random(); },
          size_t(config_.max_peers)),
      api_(loop_, resolver_, peers_, api_options(config_)),
      exchange_(loop_, resolver_, peers_),
      discovery_(loop_, resolver_, peers_),
      peers_page_(
          "/v1/peers", [this] { return peers_json(); }, kPeersPageMaxAgeNs, kPeersPageMaxHeld),
      metrics_(size_t(config_.max_peers)),
      metrics_page_(
          "/metrics", [this] { return metrics_text(); }, kMetricsMaxAgeNs, kMetricsMaxHeld),
      mesh_(loop_, resolver_, peers_, metrics_, routes_),
      sigint_(loop_, SIGINT, [this](int n) { on_signal(n); }),
      sigterm_(loop_, SIGTERM, [this](int n) { on_signal(n); }),
      sighup_(loop_, SIGHUP, [this](int) { on_reload(); }),
      grace_timer_(loop_,
                   [this] {
                     peers_.cancel_all();
                     finish_if_idle();
                   }),
      watchdog_(loop_,
                [this] {
                  notify_.send("WATCHDOG=1");
                  notify_status();  // only sent when it changed
                  watchdog_.start(notify_.watchdog_interval_ms());
                }),
      finisher_(loop_, [this] { finish(); }) {
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
  open_metrics_listener(config_);  // before the routes: /metrics goes to one or the other
  set_routes(config_);
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
  o.ca_file = cw.ca_file;
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
    throw ConfigError(e.what());  // an endpoint that is no URL: enabling CloudWatch cannot work
  }
  PM_LOG(notice, "publishing to CloudWatch (%s, every %d s) at %s",
         cw.mode == Config::CloudWatch::Mode::compat ? "compat" : "full", cw.period_s,
         cw.endpoint.c_str());
}

Daemon::~Daemon() = default;

int Daemon::run() {
  TimedStream::keep_rx_stamps_on();  // before the first probe, which needs its stamps
  PeerSet::Plan plan = plan_config_peers(config_);
  if (plan.fresh.empty()) {
    if (config_.format == Config::Format::text)
      text_.print("NOTE: not starting any pings, just serving\n");
  } else if (config_.verbosity > 1) {
    std::string urls;
    for (auto& m : plan.fresh) urls += (urls.empty() ? "" : " ") + m.peer->url();
    PM_LOG(info, "starting ping across [%s]", urls.c_str());
    text_.print_header();
  }
  peers_.apply(std::move(plan));
  api_.set_options(api_options(config_));  // the location is known now
  peers_.set_self(config_.location);
  api_.restore();
  exchange_.configure(exchange_options(config_));
  discovery_.configure(discovery_options(config_));
  mesh_.configure(mesh_view_options(config_));
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

// The routes components answer. The table outlives every responder, so a reload that
// changes only the location changes a route, not the listeners.
void Daemon::set_routes(const Config& c) {
  Routes::Route ping;
  ping.path = "/v1/ping";
  ping.description = "the ping page";
  // Built once and shared by every answer (no copy per request).
  ping.handler = [page =
                      std::make_shared<const std::string>(ping_page(c.location))](const Request&) {
    Reply r;
    r.content_type = "text/html; charset=utf-8";
    r.shared = page;
    return r;
  };
  routes_.set(std::move(ping));
  auto metrics = shared_page_route("/metrics", "Prometheus metrics",
                                   "text/plain; version=0.0.4; charset=utf-8", metrics_page_);
  // On the responder, unless [prometheus] listen gives it a listener of its own.
  if (c.prometheus_enabled && metrics_responder_)
    metrics_routes_.set(metrics);
  else
    metrics_routes_.remove("/metrics");
  if (c.prometheus_enabled && !metrics_responder_)
    routes_.set(std::move(metrics));
  else
    routes_.remove("/metrics");
  api_.add_routes(routes_,
                  shared_page_route("/v1/peers", "", "application/json", peers_page_).handler);
  routes_.set(mesh_.route());
}

std::string Daemon::responder_key(const Config& c) const {
  std::string k = std::to_string(c.serve_port) + "|" + std::to_string(c.tls_port) + "|";
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

void Daemon::open_metrics_listener(const Config& c) {
  if (c.prometheus_listen.empty() || !c.prometheus_enabled) return;
  const std::string& l = c.prometheus_listen;
  auto at = values::ip_port(l);  // checked at load: an address and a port
  Responder::Options o;
  o.addresses = {std::string(at->ip)};
  o.port = uint16_t(*at->port);
  o.max_connections = 16;  // scrapers, not a mesh
  metrics_responder_ = std::make_unique<Responder>(loop_, o, metrics_routes_);
  metrics_responder_->start();  // throws when the port cannot be bound
  PM_LOG(notice, "serving /metrics on %s", l.c_str());
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
  ro.defer_accept = true;
  auto r = std::make_unique<Responder>(loop_, ro, routes_);
  r->start();  // throws when a port cannot be bound
  return r;
}

void Daemon::log_listening(const Config& c) {
  if (c.serve_port) PM_LOG(notice, "starting server on port %d", c.serve_port);
  if (c.tls_port) PM_LOG(notice, "starting TLS server on port %d", c.tls_port);
}

PeerSet::Plan Daemon::plan_config_peers(Config& c) {
  std::vector<PeerSpec> self;
  if (auto p = self_peer(c)) self.push_back(std::move(*p));  // asks whether c has peers
  std::vector<std::pair<Origin, std::vector<PeerSpec>>> lists;
  // Moved, not copied: the PeerSet keeps the configured peers (wanted(Origin::config)),
  // so each is held once, not also in config_ (a PeerSpec is about 600 bytes).
  lists.emplace_back(Origin::config, std::move(c.peers));
  c.peers.clear();
  lists.emplace_back(Origin::self, std::move(self));
  return peers_.plan(std::move(lists), peer_defaults(c), size_t(c.max_peers));
}

void Daemon::on_sample(Peer& peer, const Sample& s) noexcept {
  if (!s.ok()) last_error_ = peer.identity() + ": " + std::string(to_string(s.reason));
  int successes = peer.successes();
  if (samples_) samples_->on_sample(s, successes);
  if (cloudwatch_) cloudwatch_->on_sample(s, successes);
  metrics_.on_sample(s, peer.identity_text());
}

std::string Daemon::metrics_text() const {
  ProcessFigures f = read_process_figures();
  f.stdout_dropped_lines = stdout_.dropped_lines();
  f.stderr_dropped_lines = stderr_.dropped_lines();
  if (cloudwatch_) {
    const auto& c = cloudwatch_->counters();
    f.cloudwatch = true;
    f.cloudwatch_spool_bytes = cloudwatch_->spool_bytes();
    f.cloudwatch_requests_ok = c.requests_sent;
    f.cloudwatch_requests_retried = c.retries;
    f.cloudwatch_requests_rejected = c.rejected;
    f.cloudwatch_requests_dropped = c.dropped;
  }
  f.peers = peers_.size();
  f.max_peers = peers_.max_peers();
  std::string out;
  metrics_.render(out, f);
  return out;
}

void Daemon::on_peer_ended(Peer& peer) noexcept {
  if (samples_) samples_->on_peer_summary(peer.summary());
  peers_page_.invalidate();
  notify_status();
  finish_if_idle();
}

void Daemon::on_members_changed() noexcept {
  peers_page_.invalidate();  // a GET after a POST shows the new peer
}

void Daemon::on_identity_gone(const std::string& identity) noexcept {
  metrics_.forget(identity);  // its series go: labels stay bounded by max_peers
  mesh_.forget(identity);
  peers_page_.invalidate();
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
  peers_.stop_all();
  exchange_.stop();
  discovery_.stop();
  api_.stop();
  mesh_.stop();
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
  };
  LoadedConfig loaded;
  std::unique_ptr<TlsServerConfig> tls;
  bool listeners_change = false;
  PeerSet::Plan plan;
  try {
    loaded = reload_();
    if (loaded.config.location.empty()) loaded.config.location = local_ip_address();
    listeners_change = responder_key(loaded.config) != responder_key_;
    if (listeners_change) tls = make_tls_server(loaded.config);
    plan = plan_config_peers(loaded.config);
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
  auto change = peers_.apply(std::move(plan));
  PM_LOG(notice, "peers: %zu added, %zu removed, %zu kept", change.added, change.removed,
         change.kept);
  set_routes(next);
  api_.set_options(api_options(next));
  metrics_.set_max_peers(size_t(next.max_peers));
  peers_.set_self(next.location);
  exchange_.configure(exchange_options(next));
  discovery_.configure(discovery_options(next));
  mesh_.configure(mesh_view_options(next));
  peers_page_.invalidate();
  // What is built once: say so rather than ignore it silently.
  if (!(config_.cloudwatch == next.cloudwatch))
    PM_LOG(warning, "reload: the [cloudwatch] settings changed; they apply at the next start");
  if (config_.prometheus_listen != next.prometheus_listen)
    PM_LOG(warning, "reload: [prometheus] listen changed; it applies at the next start");
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
  peers_.for_each([&](const PeerSet::Member& m) {
    if (m.removed || m.peer->ended()) return;
    ++active;
    if (m.peer->failures() > 0 && m.peer->successes() == 0) ++failing;
  });
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
  if (!peers_.idle(shutting_down_)) return;
  // Serving, or waiting for members to come: only a signal ends us.
  if ((responder_ || discovery_.active() || exchange_.active()) && !shutting_down_) return;
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
  // Not here: this may run inside a responder's answer (a DELETE that ends the last
  // peer), and stopping the responder frees its connections.
  finisher_.start(0);
}

void Daemon::finish() {
  grace_timer_.stop();
  watchdog_.stop();
  if (responder_) responder_->stop();
  if (metrics_responder_) metrics_responder_->stop();
  loop_.stop();
}

}  // namespace pingmesh
