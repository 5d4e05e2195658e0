// Many full TLS handshakes against our own TLS responder, in one process: the heap in
// use must not grow once warm. (Under AddressSanitizer, LeakSanitizer checks leaks
// exactly and the allocator's figures mean nothing, so fewer probes run there.)
// PINGMESH_SOAK_PROBES sets the count: 1,000 in the normal suite, 10,000 in the slow
// tier (meson -Dslow_tests=true), about 5 ms of CPU each (client and responder).
#include <malloc.h>

#include <algorithm>
#include <cstdlib>

#include "harness.hpp"
#include "test_routes.hpp"
#include "tls_harness.hpp"

#include "dns/resolver.hpp"
#include "http/responder.hpp"
#include "tls/tls_config.hpp"

using namespace pingmesh;
using namespace pingmesh::testing;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultProbes = 500;
constexpr bool kMeasureHeap = false;
#else
constexpr int kDefaultProbes = 1000;
constexpr bool kMeasureHeap = true;
#endif
const int kProbes = [] {
  const char* v = std::getenv("PINGMESH_SOAK_PROBES");
  int n = v ? std::atoi(v) : 0;
  return n >= 100 ? n : kDefaultProbes;
}();
// Warm once the responder's session cache (256 entries, one per full handshake) is full.
const int kWarm = std::max(kProbes / 10, 300);

namespace {

struct HeapWatcher : Recorder {
  size_t warm_bytes = 0, end_bytes = 0;
  int seen = 0, failures = 0;
  void on_sample(Peer&, const Sample& s) noexcept override {
    ++seen;
    if (!s.ok()) ++failures;
    if (seen == kWarm) warm_bytes = mallinfo2().uordblks;
    if (seen == kProbes) end_bytes = mallinfo2().uordblks;
  }
};

}  // namespace

TEST(TlsSoak, ManyProbesNoHeapGrowth) {
  Loop loop;
  {
    TlsRandom random;
    TlsClientOptions co;
    co.ca_file = cert("ca.pem");
    TlsClientConfig client(random, co);
    TlsServerConfig server_config(random, cert("server.pem"), cert("server.key"));
    Responder::Options o;
    o.addresses = {"127.0.0.1"};
    o.plain = false;
    o.tls = server_config.get();
    o.handshake_rate_per_client = 1e9;  // every handshake from one address, back to back
    o.handshake_burst_per_client = 1e9;
    TestRoutes responder_routes("Soak", [] { return "{}"; });
    Responder responder(loop, o, responder_routes.table);
    responder.start();
    Resolver resolver(loop, {});
    HeapWatcher watch;
    PeerSettings s;
    s.delay_ms = 1;  // as fast as the handshakes go; ticks due during a probe are skipped
    s.limit = kProbes;
    s.tls.conf = client.get();
    Peer peer(loop, resolver,
              url("https://127.0.0.1:" + std::to_string(responder.tls_port()) + "/v1/ping"), s, {},
              watch, 1);
    peer.start(0);
    ASSERT_TRUE(run_until(
        loop, [&] { return watch.seen >= kProbes; }, 600000));
    EXPECT_EQ(watch.failures, 0);
    run_until(
        loop, [&] { return responder.open_connections() == 0; }, 2000);
    EXPECT_EQ(responder.open_connections(), 0u);
    if (kMeasureHeap) {
      long growth = long(watch.end_bytes) - long(watch.warm_bytes);
      RecordProperty("heap_growth_bytes", std::to_string(growth));
      std::printf("heap in use after %d probes: %zu bytes; after %d: %zu bytes (%+ld)\n", kWarm,
                  watch.warm_bytes, kProbes, watch.end_bytes, growth);
      EXPECT_LT(growth, 16 * 1024) << "the heap grew over " << kProbes - kWarm << " probes";
    }
  }
  EXPECT_EQ(loop.close(), 0);
}
