#include "daemon/daemon.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>

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
      text_(stdout, config_.verbosity),
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

  if (config_.serve_port > 0) {
    Responder::Options ro;
    ro.port = uint16_t(config_.serve_port);
    ro.location = config_.location;
    responder_ = std::make_unique<Responder>(loop_, ro, [this] { return peers_json(); });
    responder_->start();
    PM_LOG(notice, "starting server on port %d", config_.serve_port);
  }

  ProbeLimits limits;
  limits.timeout_ms = uint64_t(config_.timeout_s * 1000);
  limits.connect_timeout_ms = uint64_t(config_.connect_timeout_s * 1000);
  uint64_t seed = mono_ns();
  for (const auto& spec : config_.peers) {
    PeerSettings s;
    s.location = spec.location;
    s.address_override = config_.ip_override;
    s.delay_ms = uint64_t(config_.delay_s) * 1000;
    s.limit = config_.limit;
    s.max_failures = config_.max_failures;
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
  text_.on_sample(s, peer.totals().successes);
}

void Daemon::on_peer_ended(Peer& peer) noexcept {
  ++ended_peers_;
  text_.print_summary(peer.totals());
  finish_if_idle();
}

void Daemon::on_signal(int signum) {
  if (shutting_down_) {
    std::fflush(stdout);
    std::_Exit(exit_failure);  // a second signal: out at once
  }
  shutting_down_ = true;
  // The words of Go's signal names, as the original prints them.
  text_.print(std::string("\nreceived ") + (signum == SIGINT ? "interrupt" : "terminated") +
              " signal, terminating\n");
  if (responder_) responder_->stop();
  for (auto& p : peers_) p->stop();
  grace_timer_.start(kShutdownGraceMs);
  finish_if_idle();
}

// Ends the loop once every peer has ended, unless the responder should keep serving.
void Daemon::finish_if_idle() {
  if (ended_peers_ < peers_.size()) return;
  if (responder_ && !shutting_down_) return;
  grace_timer_.stop();
  loop_.stop();
}

}  // namespace pingmesh
