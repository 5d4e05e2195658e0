// TLS probes per second on one core: one Peer probing an https URL back to back
// (full handshakes), for a number of seconds. Prints "probes N failed F seconds S rate R
// cpu_ms C": C is this process's CPU (user + system, getrusage) per probe.
//   tls_probe_rate URL CA_FILE SECONDS
#include <sys/resource.h>

#include <algorithm>
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

double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return double(t.tv_sec) * 1e3 + double(t.tv_usec) / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

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
  double cpu_started = 0, cpu_ended = 0;
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
    cpu_started = cpu_ms();  // after loading the CA file: start-up is not per probe
    peer.start(0);
    loop.run();
    ended = mono_ns();
    cpu_ended = cpu_ms();
    peer.cancel();
  }
  double secs = double(ended - started) / 1e9;
  std::printf("probes %d failed %d seconds %.2f rate %.1f cpu_ms %.3f\n", counter.ok,
              counter.failed, secs, counter.ok / secs,
              (cpu_ended - cpu_started) / std::max(counter.ok + counter.failed, 1));
  return counter.failed == 0 ? 0 : 1;
}
