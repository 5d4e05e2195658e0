// Our https responder alone, for `openssl s_time -new` to handshake with: the daemon's
// Responder and TlsServerConfig with the daemon's ping page, on 127.0.0.1, without the
// per-address handshake rate (the daemon allows one address 4 a second; every s_time
// connection comes from 127.0.0.1). Prints "port N", then serves for SECONDS.
//   tls_responder CERT KEY SECONDS
#include <cstdio>
#include <cstdlib>

#include "http/ping_page.hpp"
#include "http/responder.hpp"
#include "http/routes.hpp"
#include "loop/loop.hpp"
#include "loop/timer.hpp"
#include "tls/tls_config.hpp"

using namespace pingmesh;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s CERT KEY SECONDS\n", argv[0]);
    return 64;
  }
  Loop loop;
  {
    TlsRandom random;
    TlsServerConfig server(random, argv[1], argv[2]);
    Routes routes;
    Routes::Route ping;
    ping.path = "/v1/ping";
    ping.handler = [page = ping_page("bench")](const Request&) {
      Reply r;
      r.content_type = "text/html; charset=utf-8";
      r.body = page;
      return r;
    };
    routes.set(std::move(ping));
    Responder::Options o;
    o.addresses = {"127.0.0.1"};
    o.plain = false;
    o.tls = server.get();
    o.handshake_rate_per_client = 1e9;
    o.handshake_burst_per_client = 1e9;
    Responder responder(loop, o, routes);
    responder.start();
    std::printf("port %d\n", responder.tls_port());
    std::fflush(stdout);
    Timer stop(loop, [&] { loop.stop(); });
    stop.start(uint64_t(std::atof(argv[3]) * 1000));
    loop.run();
  }
  return loop.close() == 0 ? 0 : 1;  // runs the closes of what the block ended
}
