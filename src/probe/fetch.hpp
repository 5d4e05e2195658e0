// One GET whose answer is read rather than timed: a peer's /v1/peers, for peer exchange,
// addpeers and `pingmesh peers URL`. The same stack as a probe (DNS, TCP, TLS, HTTP),
// with the body kept up to a bound.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "probe/probe.hpp"

namespace pingmesh {

class Fetch {
 public:
  // The sample says how it went (ok() and http_code 200 for a usable body). A Fetch is
  // never destroyed inside done: its owner defers that to a later loop turn.
  using Done = std::function<void(const Sample& s, std::string_view body)>;

  // address: connect there instead of resolving the URL's host (a peer's `address`).
  Fetch(Loop& loop, Resolver& resolver, Url url, TlsTarget tls, ProbeLimits limits, size_t max_body,
        Done done, std::string address = {});

  void start();
  void cancel() { probe_.cancel(); }
  bool running() const { return probe_.running(); }
  const std::string& url() const { return target_.display_url; }

 private:
  ProbeTarget target_;
  Done done_;
  Probe probe_;
};

}  // namespace pingmesh
