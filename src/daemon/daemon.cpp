#include "daemon/daemon.hpp"

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

Resolver::Options resolver_options(const Config& c) {
  Resolver::Options o;
  o.servers = c.dns_servers;
  return o;
}

// In-flight probes get this long to finish after a signal before they are dropped.
constexpr uint64_t kShutdownGraceMs = 2000;

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

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      start_unix_ns_(wall_unix_ns()),
      text_(stdout, config_.format == Config::Format::text ? config_.verbosity : 0),
      samples_(&text_),
      resolver_(loop_, resolver_options(config_)),
      sigint_(loop_, SIGINT, [this](int n) { on_signal(n); }),
      sigterm_(loop_, SIGTERM, [this](int n) { on_signal(n); }),
      grace_timer_(loop_, [this] {
        for (auto& p : peers_) p->cancel();
        finish_if_idle();
      }) {
  log::set_level(level_for(config_.verbosity));
  if (config_.location.empty()) config_.location = local_ip_address();
  sigint_.unref();
  sigterm_.unref();
  if (config_.format == Config::Format::json) {
    json_ = std::make_unique<JsonSink>(stdout, config_.location);
    samples_ = json_.get();
  }

  // TLS state is made once, here, and only when something speaks TLS.
  bool https_peers = config_.any_https_peer();
  if (https_peers || config_.tls_port) tls_random_ = std::make_unique<TlsRandom>();
  if (https_peers) {
    TlsClientOptions o;
    o.verify = config_.tls_verify;
    o.ca_file = config_.ca_file;
    o.allow_resumption = config_.tls_resume;
    tls_client_ = std::make_unique<TlsClientConfig>(*tls_random_, o);
  }
  if (config_.tls_port)
    tls_server_ =
        std::make_unique<TlsServerConfig>(*tls_random_, config_.cert_file, config_.key_file);

  if (config_.serve_port > 0 || tls_server_) {
    Responder::Options ro;
    ro.plain = config_.serve_port > 0;
    ro.port = uint16_t(config_.serve_port);
    ro.tls = tls_server_ ? tls_server_->get() : nullptr;
    ro.tls_port = uint16_t(config_.tls_port);
    ro.location = config_.location;
    responder_ = std::make_unique<Responder>(loop_, ro, [this] { return peers_json(); });
    responder_->start();
    if (ro.plain) PM_LOG(notice, "starting server on port %d", config_.serve_port);
    if (ro.tls) PM_LOG(notice, "starting TLS server on port %d", config_.tls_port);
  }

  ProbeLimits limits;
  limits.timeout_ms = uint64_t(config_.timeout_s * 1000);
  limits.connect_timeout_ms = uint64_t(config_.connect_timeout_s * 1000);
  limits.tls_timeout_ms = uint64_t(config_.tls_timeout_s * 1000);
  uint64_t seed = mono_ns();
  for (const auto& spec : config_.peers) {
    PeerSettings s;
    s.location = spec.location;
    s.address_override = config_.ip_override;
    s.delay_ms = uint64_t(config_.delay_s) * 1000;
    s.limit = config_.limit;
    s.max_failures = config_.max_failures;
    if (spec.url.tls()) {
      s.tls.conf = tls_client_->get();
      s.tls.verify = config_.tls_verify;
      s.tls.pin_sha256 = config_.pin_sha256;
      s.tls.resume = config_.tls_resume;
    }
    peers_.push_back(std::make_unique<Peer>(loop_, resolver_, spec.url, s, limits, *this, ++seed));
  }
}

Daemon::~Daemon() = default;

int Daemon::run() {
  if (config_.cloudwatch)
    PM_LOG(warning, "CloudWatch publishing is not built into this version yet; -c is ignored");
  if (peers_.empty()) {
    text_.print("NOTE: not starting any pings, just serving\n");
  } else if (config_.verbosity > 1) {
    std::string urls;
    for (auto& p : peers_) urls += (urls.empty() ? "" : " ") + p->url();
    PM_LOG(info, "starting ping across [%s]", urls.c_str());
    text_.print_header();
  }
  uint64_t delay_ns = uint64_t(config_.delay_s) * 1000000000;
  for (size_t i = 0; i < peers_.size(); ++i) {
    PM_LOG(info, "ping %s", peers_[i]->url().c_str());
    peers_[i]->start(spread_offset_ns(i, peers_.size(), delay_ns));
  }
  loop_.run();
  return exit_ok;
}

void Daemon::on_sample(Peer& peer, const Sample& s) noexcept {
  samples_->on_sample(s, peer.totals().successes);
}

void Daemon::on_peer_ended(Peer& peer) noexcept {
  ++ended_peers_;
  samples_->on_peer_summary(peer.totals());
  finish_if_idle();
}

void Daemon::on_signal(int signum) {
  if (shutting_down_) {
    std::fflush(stdout);
    std::_Exit(exit_failure);  // a second signal: out at once
  }
  shutting_down_ = true;
  // The words of Go's signal names, as the original prints them.
  const char* name = signum == SIGINT ? "interrupt" : "terminated";
  if (json_)
    PM_LOG(notice, "received %s signal, terminating", name);
  else
    text_.print(std::string("\nreceived ") + name + " signal, terminating\n");
  // Probes in flight, our own self-probe among them, may finish: stop accepting, but
  // keep answering open connections until the peers are done.
  if (responder_) responder_->stop_listening();
  for (auto& p : peers_) p->stop();
  grace_timer_.start(kShutdownGraceMs);
  finish_if_idle();
}

// Ends the loop once every peer has ended, unless the responder should keep serving.
void Daemon::finish_if_idle() {
  if (ended_peers_ < peers_.size()) return;
  if (responder_ && !shutting_down_) return;
  grace_timer_.stop();
  if (responder_) responder_->stop();
  loop_.stop();
}

}  // namespace pingmesh
