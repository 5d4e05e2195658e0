// The daemon owns the loop first, then every component on it. One thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/notify.hpp"
#include "dns/resolver.hpp"
#include "export/cloudwatch_sink.hpp"
#include "export/metrics.hpp"
#include "export/text_sink.hpp"
#include "http/responder.hpp"
#include "http/routes.hpp"
#include "log/log.hpp"
#include "loop/fd_output.hpp"
#include "loop/loop.hpp"
#include "loop/signal.hpp"
#include "mesh/dns_discovery.hpp"
#include "mesh/mesh_view.hpp"
#include "mesh/peer_api.hpp"
#include "mesh/peer_exchange.hpp"
#include "mesh/peer_set.hpp"
#include "tls/tls_config.hpp"

namespace pingmesh {

class Daemon final : private PeerSet::Events {
 public:
  // Re-reads the configuration for SIGHUP: file, environment and command line.
  using Reload = std::function<LoadedConfig()>;

  // Throws std::runtime_error for start-up failures (a port in use, say).
  Daemon(Config config, Reload reload);
  ~Daemon();

  // Runs until interrupted, or until every peer is done when not serving.
  int run();

 private:
  void on_sample(Peer& peer, const Sample& s) noexcept override;
  void on_peer_ended(Peer& peer) noexcept override;
  void on_identity_gone(const std::string& identity) noexcept override;
  void on_members_changed() noexcept override;
  void on_signal(int signum);
  void begin_stop();  // peers finish within shutdown_timeout, then the loop ends
  void on_reload();
  void apply_reload();
  void finish_if_idle();
  void finish();

  void apply_logging(const Config& c);
  void open_cloudwatch(const Config& c);
  std::unique_ptr<TlsServerConfig> make_tls_server(const Config& c);  // throws ConfigError
  void open_responder(const Config& c);                               // throws
  void open_metrics_listener(const Config& c);                        // throws
  std::unique_ptr<Responder> make_responder(const Config& c, TlsServerConfig* tls);  // throws
  bool swap_responder(const Config& next, std::unique_ptr<TlsServerConfig> tls, std::string* why);
  void log_listening(const Config& c);
  std::string responder_key(const Config& c) const;
  void set_routes(const Config& c);
  // The configured peers and, when wanted, ourselves: what a reload reconciles. Takes
  // c.peers: after it, c holds none.
  PeerSet::Plan plan_config_peers(Config& c);  // throws ConfigError
  TlsRandom& tls_random();
  void notify_status();
  std::string peers_json() const;
  std::string metrics_text() const;

  // Installs the daemon's stderr for logging while it lives.
  struct LogTo {
    explicit LogTo(Output& o) { log::set_output(&o); }
    ~LogTo() { log::set_output(nullptr); }
  };
  void flush_output(uint64_t deadline_ns);

  Loop loop_;                 // first member: destroyed last, after every handle is closed
  FdOutput stdout_, stderr_;  // never block the loop; bounded
  LogTo log_to_;
  Config config_;
  Reload reload_;
  int64_t start_unix_ns_;
  Notifier notify_;
  TextSink text_;  // the original's stdout: samples in text mode, and its messages
  std::unique_ptr<SampleSink> json_;  // samples in json mode
  SampleSink* samples_ = nullptr;     // where samples go: text_, json_, or nowhere
  std::unique_ptr<TlsRandom> tls_random_;
  std::unique_ptr<TlsServerConfig> tls_server_;
  Resolver resolver_;
  PeerSet peers_;
  PeerApi api_;
  PeerExchange exchange_;
  DnsDiscovery discovery_;
  Routes routes_;  // outlives the responders that answer them
  SharedPage peers_page_;
  Metrics metrics_;
  SharedPage metrics_page_;
  Routes metrics_routes_;  // [prometheus] listen's only route
  std::unique_ptr<Responder> metrics_responder_;
  MeshView mesh_;  // the page at /
  std::unique_ptr<CloudWatchSink> cloudwatch_;
  bool cloudwatch_draining_ = false, cloudwatch_drained_ = false;
  uint64_t stop_deadline_ns_ = 0;  // when the shutdown must be over
  std::unique_ptr<Responder> responder_;
  std::string responder_key_;
  std::string last_error_;
  std::string last_status_;
  Signal sigint_, sigterm_, sighup_;
  Timer grace_timer_, watchdog_;
  Timer finisher_;  // ends the loop on a turn of its own
  bool running_ = false;
  bool reloading_ = false;
  bool shutting_down_ = false;
  int exit_code_ = exit_ok;
};

// This host's first non-loopback address, the original's default location.
std::string local_ip_address();

}  // namespace pingmesh
