// Samples as JSON lines on stdout: one object per probe, one per peer summary.
#pragma once

#include <string>

#include "log/output.hpp"
#include "pingmesh/sample.hpp"

namespace pingmesh {

// {"type":"sample","timestamp":…,"url":…,"dns_ms":…,…,"tls_version":…} without newline.
std::string json_sample(const Sample& s, const std::string& from_location);
std::string json_summary(const PeerTotals& p);

class JsonSink final : public SampleSink {
 public:
  JsonSink(Output& out, std::string from_location) : out_(out), from_(std::move(from_location)) {}
  void on_sample(const Sample& s, int successes_so_far) noexcept override;
  void on_peer_summary(const PeerTotals& totals) noexcept override;

 private:
  Output& out_;
  std::string from_;
};

}  // namespace pingmesh
