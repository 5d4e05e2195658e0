// Samples to stdout in the original's formats, by verbosity:
// 0 nothing per ping; 1 the short line (failures as "N row"); 2+ "N row" for every ping.
#pragma once

#include <string>

#include "log/output.hpp"
#include "pingmesh/sample.hpp"

namespace pingmesh {

class TextSink final : public SampleSink {
 public:
  TextSink(Output& out, int verbosity) : out_(out), verbosity_(verbosity) {}

  void set_verbosity(int v) { verbosity_ = v; }
  void print_header();
  void on_sample(const Sample& s, int successes_so_far) noexcept override;
  void on_peer_summary(const PeerTotals& totals) noexcept override;
  void print(const std::string& text);

 private:
  Output& out_;
  int verbosity_;
};

}  // namespace pingmesh
