// The exposition read by Prometheus' own tool: `promtool check metrics` (parser and lint)
// finds nothing to say, and PromQL's histogram_quantile over our buckets (`promtool test
// rules`) gives the same numbers as Histogram::quantile.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "export/metrics.hpp"

#ifndef PINGMESH_PROMTOOL
#error "PINGMESH_PROMTOOL: the path of promtool (Debian's prometheus package)"
#endif

using namespace pingmesh;

namespace {

struct ToolRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Writes text to a temporary file and runs `promtool ARGS` with "@" replaced by its path.
ToolRun promtool(const std::string& args, const std::string& text, const char* suffix = "") {
  std::string dir = testing::TempDir();
  std::string path = dir + "/pingmesh-metrics-" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary) << text;
  std::string cmd = std::string(PINGMESH_PROMTOOL) + " " + args;
  cmd.replace(cmd.find('@'), 1, path);
  ToolRun r;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) r.output.append(buf, n);
  r.status = pclose(f);
  unlink(path.c_str());
  return r;
}

// Bytes outside printable ASCII as \xNN: a failure's message goes into gtest's XML,
// where raw invalid UTF-8 would break the report instead of showing the failure.
std::string visible(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 0x20 && c < 0x7f) || c == '\n') {
      out += char(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

Sample sample(const std::string& peer, uint64_t tcp_ns, bool tls) {
  Sample s;
  s.peer = peer;
  s.start_unix_ns = 1'700'000'000'000'000'000;
  s.http_code = 200;
  s.t.dns = tcp_ns / 3;
  s.t.tcp = tcp_ns;
  s.t.first = 2 * tcp_ns;
  s.t.lastb = tcp_ns / 10;
  s.t.total = 4 * tcp_ns;
  if (tls) {
    s.tls_version = "TLSv1.2";
    s.t.tls = 3 * tcp_ns;
    s.cert_not_after_unix = 1'771'000'000;
  }
  return s;
}

void fill(Metrics& m, const std::string& peer, uint64_t base_ns, bool tls) {
  for (uint64_t i = 1; i <= 50; ++i) m.on_sample(sample(peer, base_ns * i, tls), int(i));
}

}  // namespace

TEST(MetricsPromtool, CheckMetricsIsClean) {
  Metrics m(100);
  const std::string awkward[] = {
      "plain",       "with space",          "say \"hi\"", "C:\\path\\",
      "line\nbreak", "Zürich 東京 🙂", "\xff\xfe",   "http://[::1]:8080/v1/ping?x=1",
      "trailing\\",  "tab\tinside",
  };
  bool tls = false;
  for (const std::string& peer : awkward) {
    fill(m, peer, 40'000, tls = !tls);
    Sample f = sample(peer, 0, false);
    f.reason = FailureReason::tls_verify;
    f.http_code = 502;
    m.on_sample(f, 0);
  }
  ProcessFigures p = read_process_figures();
  p.loop_lag_seconds = 0.0004;
  p.cloudwatch = true;
  p.cloudwatch_spool_bytes = 1 << 20;
  p.cloudwatch_requests_ok = 7;
  p.peers = std::size(awkward);
  p.max_peers = 100;
  std::string text;
  m.render(text, p);
  ToolRun r = promtool("check metrics < @", text);
  EXPECT_EQ(r.status, 0) << visible(r.output);
  EXPECT_EQ(visible(r.output), "") << "promtool said something of:\n" << visible(text);
}

// The harness itself fails on what promtool finds: a counter without _total.
TEST(MetricsPromtool, CheckMetricsWouldComplain) {
  ToolRun r = promtool("check metrics < @",
                       "# HELP pingmesh_probes Probes.\n# TYPE pingmesh_probes counter\n"
                       "pingmesh_probes 1\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("_total"), std::string::npos) << visible(r.output);
  r = promtool("check metrics < @", "broken{peer=\"a} 1\n");
  EXPECT_NE(r.status, 0) << visible(r.output);
}

TEST(MetricsPromtool, PromqlQuantilesAreOurs) {
  Metrics m(10);
  fill(m, "near", 30'000, false);   // 30 us .. 1.5 ms
  fill(m, "far", 2'000'000, true);  // 2 ms .. 100 ms
  std::string text;
  m.render(text, {});

  std::ostringstream yml;
  yml.precision(17);
  yml << "rule_files: []\ntests:\n  - interval: 1m\n    input_series:\n";
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("pingmesh_probe_phase_seconds_bucket{", 0) != 0) continue;
    size_t space = line.rfind(' ');
    yml << "      - series: '" << line.substr(0, space) << "'\n        values: '"
        << line.substr(space + 1) << "'\n";
  }
  yml << "    promql_expr_test:\n";
  int expected = 0;
  for (double q : {0.5, 0.9, 0.99}) {
    yml << "      - expr: histogram_quantile(" << q << ", pingmesh_probe_phase_seconds_bucket)\n"
        << "        eval_time: 0\n        exp_samples:\n";
    for (const char* peer : {"near", "far"}) {
      const PeerSeries* s = m.find(peer);
      ASSERT_NE(s, nullptr);
      for (size_t ph = 0; ph < kPhaseNames.size(); ++ph) {
        if (s->phases[ph].count() == 0) continue;
        yml << "          - labels: '{peer=\"" << peer << "\",phase=\"" << kPhaseNames[ph]
            << "\"}'\n            value: " << s->phases[ph].quantile(q) << "\n";
        ++expected;
      }
    }
  }
  EXPECT_EQ(expected, 3 * (6 + 5)) << "far has tls, near does not";
  ToolRun r = promtool("test rules @", yml.str(), ".yml");
  EXPECT_EQ(r.status, 0) << r.output << "\n" << yml.str();
}

// A scrape in parts, with peers forgotten and added between them, is still one valid
// exposition: every family once, its series together.
TEST(MetricsPromtool, PartsWithPeersComingAndGoingAreClean) {
  Metrics m(100);
  for (int i = 0; i < 20; ++i) fill(m, "peer " + std::to_string(i), 100'000, i % 2);
  std::string text;
  MetricsCursor c;
  int part = 0;
  while (m.render_part(text, read_process_figures(), c, 4096) && ++part < 1000) {
    m.forget("peer " + std::to_string(part % 20));
    fill(m, "new " + std::to_string(part), 100'000, part % 2);
  }
  EXPECT_LT(part, 1000) << "finished";
  EXPECT_GT(part, 5) << "in parts";
  ToolRun r = promtool("check metrics < @", text);
  EXPECT_EQ(r.status, 0) << visible(r.output);
  EXPECT_EQ(visible(r.output), "");
}
