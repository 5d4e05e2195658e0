#include "probe/fetch.hpp"

namespace pingmesh {

Fetch::Fetch(Loop& loop, Resolver& resolver, Url url, TlsTarget tls, ProbeLimits limits,
             size_t max_body, Done done, std::string address)
    : target_(std::move(url), std::move(address), std::move(tls)),
      done_(std::move(done)),
      probe_(loop, resolver, (target_.keep_body_bytes = max_body, target_), limits,
             [this](const Sample& s) {
               // A body cut at the bound is not the document: say so rather than parse half.
               bool whole = s.size <= target_.keep_body_bytes;
               done_(s, whole ? probe_.body() : std::string_view());
             }) {}

void Fetch::start() {
  probe_.start();
}

}  // namespace pingmesh
