// TLS probes per second on one core: one Peer probing an https URL back to back
// (full handshakes), for a number of seconds. Prints "probes N seconds S rate R".
//   tls_probe_rate URL CA_FILE SECONDS
#include <cstdio>
#include <cstdlib>

#include "dns/resolver.hpp"
#include "loop/clock.hpp"
#include "probe/peer.hpp"
#include "tls/tls_config.hpp"

using namespace pingmesh;

namespace {

struct Counter : Peer::Events {
  int ok = 0, failed = 0;
  void on_sample(Peer&, const Sample& s) noexcept override { s.ok() ? ++ok : ++failed; }
  void on_peer_ended(Peer&) noexcept override {}
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL CA_FILE SECONDS\n", argv[0]);
    return 64;
  }
  std::string error;
  auto url = parse_url(argv[1], &error);
  if (!url) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 64;
  }
  Loop loop;
  Counter counter;
  uint64_t started = 0, ended = 0;
  {
    TlsRandom random;
    TlsClientOptions o;
    o.ca_file = argv[2];
    TlsClientConfig client(random, o);
    Resolver resolver(loop, {});
    PeerSettings s;
    s.delay_ms = 1;  // back to back: ticks due during a probe are skipped
    s.max_failures = 1000000;
    s.tls.conf = client.get();
    Peer peer(loop, resolver, *url, s, {}, counter, 1);
    Timer stop(loop, [&] { loop.stop(); });
    stop.start(uint64_t(std::atof(argv[3]) * 1000));
    started = mono_ns();
    peer.start(0);
    loop.run();
    ended = mono_ns();
    peer.cancel();
  }
  double secs = double(ended - started) / 1e9;
  std::printf("probes %d failed %d seconds %.2f rate %.1f\n", counter.ok, counter.failed, secs,
              counter.ok / secs);
  return counter.failed == 0 ? 0 : 1;
}
