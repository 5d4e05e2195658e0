// The daemon owns the loop first, then every component on it. One thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "export/text_sink.hpp"
#include "tls/tls_config.hpp"
#include "http/responder.hpp"
#include "loop/loop.hpp"
#include "loop/signal.hpp"
#include "probe/peer.hpp"

namespace pingmesh {

class Daemon final : public Peer::Events {
 public:
  // Throws std::runtime_error for start-up failures (a port in use, say).
  explicit Daemon(Config config);
  ~Daemon();

  // Runs until interrupted, or until every peer is done when not serving.
  int run();

 private:
  void on_sample(Peer& peer, const Sample& s) noexcept override;
  void on_peer_ended(Peer& peer) noexcept override;
  void on_signal(int signum);
  void finish_if_idle();
  std::string peers_json() const;

  Loop loop_;  // first member: destroyed last, after every handle is closed
  Config config_;
  int64_t start_unix_ns_;
  TextSink text_;  // the original's stdout: samples in text mode, and its messages
  std::unique_ptr<SampleSink> json_;  // samples in json mode
  SampleSink* samples_;  // where samples go: text_ or json_
  std::unique_ptr<TlsRandom> tls_random_;
  std::unique_ptr<TlsClientConfig> tls_client_;
  std::unique_ptr<TlsServerConfig> tls_server_;
  Resolver resolver_;
  std::unique_ptr<Responder> responder_;
  std::vector<std::unique_ptr<Peer>> peers_;
  size_t ended_peers_ = 0;
  Signal sigint_, sigterm_;
  Timer grace_timer_;
  bool shutting_down_ = false;
};

// This host's first non-loopback address, the original's default location.
std::string local_ip_address();

}  // namespace pingmesh
