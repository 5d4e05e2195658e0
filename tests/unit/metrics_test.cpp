// Samples as Prometheus metrics: what is kept per peer, and the exposition's exact text.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "export/exposition.hpp"
#include "export/metrics.hpp"

using namespace pingmesh;

namespace {

Sample ok_sample(std::string peer, uint64_t tcp_ns = 200'000) {
  Sample s;
  s.peer = std::move(peer);
  s.start_unix_ns = 1'700'000'000'250'000'000;
  s.http_code = 200;
  s.t.tcp = tcp_ns;
  s.t.first = 1'000'000;
  s.t.lastb = 0;
  s.t.total = tcp_ns + 1'000'000;
  return s;
}

Sample failed_sample(std::string peer, FailureReason r) {
  Sample s;
  s.peer = std::move(peer);
  s.start_unix_ns = 1'700'000'001'000'000'000;
  s.http_code = r == FailureReason::http_status ? 404 : 502;
  s.reason = r;
  s.t.tcp = 3'000'000'000;
  return s;
}

std::string render(const Metrics& m, const ProcessFigures& p = {}) {
  std::string out;
  m.render(out, p);
  return out;
}

// The lines that start with prefix, in order.
std::vector<std::string> lines_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
  return found;
}

}  // namespace

TEST(Metrics, ExactExpositionOfOneFailedPeer) {
  Metrics m(10);
  m.on_sample(failed_sample("a", FailureReason::connect_refused), 0);
  ProcessFigures p;
  p.resident_memory_bytes = 2'500'000;
  p.open_fds = 9;
  p.loop_lag_seconds = 0.00125;
  p.stdout_dropped_lines = 3;
  p.peers = 1;
  p.max_peers = 1000;
  EXPECT_EQ(render(m, p),
            "# HELP pingmesh_build_info The running version; always 1.\n"
            "# TYPE pingmesh_build_info gauge\n"
            "pingmesh_build_info{version=\"" PINGMESH_VERSION
            "\"} 1\n"
            "# HELP pingmesh_probe_phase_seconds Time of each phase of successful probes: the "
            "kernel's where it timed the phase (timing = kernel), else the daemon's; disturbed "
            "samples without kernel times are left out.\n"
            "# TYPE pingmesh_probe_phase_seconds histogram\n"
            "# HELP pingmesh_probes_total Probes by result.\n"
            "# TYPE pingmesh_probes_total counter\n"
            "pingmesh_probes_total{peer=\"a\",result=\"ok\"} 0\n"
            "pingmesh_probes_total{peer=\"a\",result=\"failed\"} 1\n"
            "# HELP pingmesh_probe_failures_total Failed probes by reason.\n"
            "# TYPE pingmesh_probe_failures_total counter\n"
            "pingmesh_probe_failures_total{peer=\"a\",reason=\"connect_refused\"} 1\n"
            "# HELP pingmesh_last_http_code HTTP status of the latest probe; 502 for a "
            "transport failure.\n"
            "# TYPE pingmesh_last_http_code gauge\n"
            "pingmesh_last_http_code{peer=\"a\"} 502\n"
            "# HELP pingmesh_tls_cert_expiry_timestamp_seconds NotAfter of the peer's latest "
            "TLS certificate, unix time.\n"
            "# TYPE pingmesh_tls_cert_expiry_timestamp_seconds gauge\n"
            "# HELP pingmesh_last_sample_timestamp_seconds Start of the latest probe, unix "
            "time.\n"
            "# TYPE pingmesh_last_sample_timestamp_seconds gauge\n"
            "pingmesh_last_sample_timestamp_seconds{peer=\"a\"} 1700000001\n"
            "# HELP pingmesh_sample_flags_total Samples disturbed by the daemon's own work, "
            "kernel stamps missing, first bytes whose stamp is a later segment's, SYNs "
            "retransmitted.\n"
            "# TYPE pingmesh_sample_flags_total counter\n"
            "# HELP pingmesh_probe_kernel_timed_total Successful probes whose phase is reported "
            "as the kernel timed it.\n"
            "# TYPE pingmesh_probe_kernel_timed_total counter\n"
            "# HELP pingmesh_probe_loop_lag_seconds How late the loop ran the latest probe's "
            "callbacks after their events, at most.\n"
            "# TYPE pingmesh_probe_loop_lag_seconds gauge\n"
            "pingmesh_probe_loop_lag_seconds{peer=\"a\"} 0\n"
            "# HELP pingmesh_probe_other_work_seconds The loop's other work while the latest "
            "probe was in flight.\n"
            "# TYPE pingmesh_probe_other_work_seconds gauge\n"
            "pingmesh_probe_other_work_seconds{peer=\"a\"} 0\n"
            "# HELP pingmesh_metrics_untracked_samples_total Samples of peers beyond the "
            "metrics' bound, not kept.\n"
            "# TYPE pingmesh_metrics_untracked_samples_total counter\n"
            "pingmesh_metrics_untracked_samples_total 0\n"
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\n"
            "process_resident_memory_bytes 2500000\n"
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\n"
            "process_open_fds 9\n"
            "# HELP pingmesh_loop_lag_seconds How late the event loop ran its latest check.\n"
            "# TYPE pingmesh_loop_lag_seconds gauge\n"
            "pingmesh_loop_lag_seconds 0.00125\n"
            "# HELP pingmesh_output_dropped_lines_total Lines not written because the reader "
            "of stdout or stderr was too slow.\n"
            "# TYPE pingmesh_output_dropped_lines_total counter\n"
            "pingmesh_output_dropped_lines_total{stream=\"stdout\"} 3\n"
            "pingmesh_output_dropped_lines_total{stream=\"stderr\"} 0\n"
            "# HELP pingmesh_peers Peers being probed.\n"
            "# TYPE pingmesh_peers gauge\n"
            "pingmesh_peers 1\n"
            "# HELP pingmesh_max_peers The bound on peers (max_peers).\n"
            "# TYPE pingmesh_max_peers gauge\n"
            "pingmesh_max_peers 1000\n");
}

TEST(Metrics, ExactHistogramOfOnePhase) {
  Metrics m(10);
  m.on_sample(ok_sample("a", 200'000), 1);
  m.on_sample(ok_sample("a", 50'000), 2);
  m.on_sample(ok_sample("a", 40'000'000'000), 3);
  std::string text = render(m);
  std::vector<std::string> want;
  const char* cumulative[] = {"1", "1", "2", "2", "2", "2", "2", "2", "2", "2",
                              "2", "2", "2", "2", "2", "2", "2", "2", "3"};
  for (size_t i = 0; i <= Histogram::kBuckets; ++i)
    want.push_back("pingmesh_probe_phase_seconds_bucket{peer=\"a\",phase=\"tcp\",le=\"" +
                   std::string(i < Histogram::kBuckets ? Histogram::kUpperLabels[i] : "+Inf") +
                   "\"} " + cumulative[i]);
  want.push_back("pingmesh_probe_phase_seconds_sum{peer=\"a\",phase=\"tcp\"} 40.00025");
  want.push_back("pingmesh_probe_phase_seconds_count{peer=\"a\",phase=\"tcp\"} 3");
  std::vector<std::string> got;
  for (const char* part : {"_bucket{", "_sum{", "_count{"})
    for (auto& line : lines_with(
             text, std::string("pingmesh_probe_phase_seconds") + part + "peer=\"a\",phase=\"tcp\""))
      got.push_back(line);
  EXPECT_EQ(got, want);
  // Each series' buckets, sum and count come together: tcp's block is contiguous.
  EXPECT_NE(text.find(want.front() + "\n" + want[1] + "\n"), std::string::npos);
  EXPECT_NE(text.find(want[Histogram::kBuckets] + "\n" + want[Histogram::kBuckets + 1] + "\n" +
                      want.back() + "\n"),
            std::string::npos);
}

TEST(Metrics, PhasesObservedOnlyWhereTheyHappened) {
  Metrics m(10);
  m.on_sample(ok_sample("literal"), 1);  // dns exactly 0: no lookup
  Sample named = ok_sample("named");
  named.t.dns = 300'000;
  named.tls_version = "TLSv1.2";
  named.t.tls = 2'000'000;
  named.cert_not_after_unix = 1'800'000'000;
  m.on_sample(named, 1);
  m.on_sample(failed_sample("named", FailureReason::read_timeout), 1);
  m.on_sample(failed_sample("named", FailureReason::http_status), 1);

  const PeerSeries* lit = m.find("literal");
  ASSERT_NE(lit, nullptr);
  EXPECT_EQ(lit->phase(PhaseIndex::dns).count(), 0u);
  EXPECT_EQ(lit->phase(PhaseIndex::tls).count(), 0u);
  EXPECT_EQ(lit->phase(PhaseIndex::lastb).count(), 1u) << "0 is a real lastb";
  const PeerSeries* n = m.find("named");
  ASSERT_NE(n, nullptr);
  for (auto ph : {PhaseIndex::dns, PhaseIndex::tcp, PhaseIndex::tls, PhaseIndex::total})
    EXPECT_EQ(n->phase(ph).count(), 1u) << "failures are not observed";
  EXPECT_EQ(n->ok, 1u);
  EXPECT_EQ(n->failed, 2u);
  EXPECT_EQ(n->last_http_code, 404);
  EXPECT_EQ(m.find("nobody"), nullptr);

  std::string text = render(m);
  EXPECT_TRUE(lines_with(text, "pingmesh_probe_phase_seconds_count{peer=\"literal\",phase=\"dns\"")
                  .empty());
  EXPECT_EQ(lines_with(text, "pingmesh_probe_phase_seconds_count{peer=\"named\",phase=\"tls\"}"),
            std::vector<std::string>{
                "pingmesh_probe_phase_seconds_count{peer=\"named\",phase=\"tls\"} 1"});
  EXPECT_EQ(lines_with(text, "pingmesh_probe_failures_total{peer=\"named\""),
            (std::vector<std::string>{
                "pingmesh_probe_failures_total{peer=\"named\",reason=\"http_status\"} 1",
                "pingmesh_probe_failures_total{peer=\"named\",reason=\"read_timeout\"} 1"}));
  EXPECT_EQ(lines_with(text, "pingmesh_tls_cert_expiry_timestamp_seconds{"),
            std::vector<std::string>{
                "pingmesh_tls_cert_expiry_timestamp_seconds{peer=\"named\"} 1800000000"})
      << "a certificate seen stays after a failure";
  EXPECT_EQ(lines_with(text, "pingmesh_last_http_code{"),
            (std::vector<std::string>{"pingmesh_last_http_code{peer=\"literal\"} 200",
                                      "pingmesh_last_http_code{peer=\"named\"} 404"}));
}

// Values in few digits that read back as the same double (snprintf and strtod, not
// std::to_chars: see exposition.cpp).
TEST(Metrics, DoubleValuesAreShortAndExact) {
  auto text = [](double v) {
    std::string out;
    exposition::value(out, v);
    return out;
  };
  EXPECT_EQ(text(0.00125), "0.00125");
  EXPECT_EQ(text(40.00025), "40.00025");
  EXPECT_EQ(text(0.1 + 0.2), "0.30000000000000004") << "17 digits where 15 do not read back";
  EXPECT_EQ(text(1.0 / 3), "0.3333333333333333") << "16 digits where they suffice";
  EXPECT_EQ(text(1e-300), "1e-300");
  EXPECT_EQ(text(-2.5), "-2.5");
  EXPECT_EQ(text(0.0), "0");
  for (double v : {0.1 + 0.2, 1.0 / 3, 2.0 / 3, 5e-324, 1.7976931348623157e308, 123456.789e-9,
                   0.000158, 1e21 + 1e5}) {
    std::string t = text(v);
    EXPECT_EQ(std::strtod(t.c_str(), nullptr), v) << t;
    EXPECT_LE(t.size(), 24u) << t;
  }
}

TEST(Metrics, LabelValuesAreEscaped) {
  auto esc = [](std::string_view v) {
    std::string out;
    exposition::label_value(out, v);
    return out;
  };
  EXPECT_EQ(esc("plain"), "plain");
  EXPECT_EQ(esc("a\"b"), "a\\\"b");
  EXPECT_EQ(esc("a\\b"), "a\\\\b");
  EXPECT_EQ(esc("a\nb"), "a\\nb");
  EXPECT_EQ(esc("\\n"), "\\\\n") << "a backslash and an n are not a newline";
  EXPECT_EQ(esc("tab\there"), "tab\there");
  EXPECT_EQ(esc("Zürich 東京 🙂"), "Zürich 東京 🙂");
  EXPECT_EQ(esc("\xff"
                "a\xc0\xaf"),
            "\xef\xbf\xbd"
            "a\xef\xbf\xbd\xef\xbf\xbd")
      << "invalid bytes and an overlong '/'";
  EXPECT_EQ(esc("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "a surrogate";
  EXPECT_EQ(esc("ab\xe6\x9d"), "ab\xef\xbf\xbd\xef\xbf\xbd") << "truncated at the end";

  Metrics m(10);
  m.on_sample(failed_sample("say \"hi\"\\\n", FailureReason::reset), 0);
  EXPECT_EQ(
      lines_with(render(m), "pingmesh_last_http_code{"),
      std::vector<std::string>{"pingmesh_last_http_code{peer=\"say \\\"hi\\\"\\\\\\n\"} 502"});
}

TEST(Metrics, ForgetDropsEveryOneOfAPeersSeries) {
  Metrics m(10);
  m.on_sample(ok_sample("keep"), 1);
  m.on_sample(ok_sample("gone"), 1);
  m.on_sample(failed_sample("gone", FailureReason::reset), 1);
  EXPECT_EQ(m.size(), 2u);
  m.forget("gone");
  m.forget("never there");
  EXPECT_EQ(m.size(), 1u);
  std::string text = render(m);
  EXPECT_EQ(text.find("gone"), std::string::npos);
  EXPECT_NE(text.find("peer=\"keep\""), std::string::npos);
  m.on_sample(ok_sample("gone"), 1);
  EXPECT_EQ(m.find("gone")->failed, 0u) << "back from zero";
}

TEST(Metrics, BoundedPeersCountWhatTheyDoNotKeep) {
  Metrics m(2);
  m.on_sample(ok_sample("a"), 1);
  m.on_sample(ok_sample("b"), 1);
  m.on_sample(ok_sample("c"), 1);
  m.on_sample(ok_sample("c"), 2);
  m.on_sample(ok_sample("a"), 2);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.untracked_samples(), 2u);
  EXPECT_EQ(m.find("c"), nullptr);
  EXPECT_EQ(m.find("a")->ok, 2u) << "peers kept go on";
  std::string text = render(m);
  EXPECT_EQ(lines_with(text, "pingmesh_metrics_untracked_samples_total "),
            std::vector<std::string>{"pingmesh_metrics_untracked_samples_total 2"});
  m.forget("b");
  m.on_sample(ok_sample("c"), 3);
  EXPECT_NE(m.find("c"), nullptr) << "room again after forget";
}

TEST(Metrics, ProcessFiguresOfThisProcess) {
  ProcessFigures before = read_process_figures();
  EXPECT_GT(before.resident_memory_bytes, 100'000);
  EXPECT_GE(before.open_fds, 3);
  EXPECT_GT(before.max_fds, before.open_fds);
  EXPECT_GE(before.cpu_seconds, 0.0);
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_process_figures().open_fds, before.open_fds + 1);
  close(fd);
}

// An http peer by IP address that always answers has no dns, no tls and no failure to
// count: its series holds no storage for them (at 10,000 peers and more, a good part of
// the per-peer budget), reads them as empty and renders no series for them, as before.
TEST(Metrics, APlainPeerThatAnswersHoldsOnlyWhatItUses) {
  constexpr int kPeers = 1000;
  std::vector<SharedString> names;  // as the peers hold them
  for (int i = 0; i < kPeers; ++i) names.emplace_back("p" + std::to_string(1000 + i));
  Metrics m(kPeers);
  size_t before = mallinfo2().uordblks;
  for (const SharedString& name : names) m.on_sample(ok_sample(name.str()), name);
  size_t after = mallinfo2().uordblks;
  if (after == before) GTEST_SKIP() << "no mallinfo2 from this allocator (a sanitizer)";
  double per_peer = double(after - before) / kPeers;
  std::printf("metrics: %.0f heap bytes a plain peer (sizeof PeerSeries %zu)\n", per_peer,
              sizeof(PeerSeries));
  // Four histograms of 56 bytes, counters, the page's ring of 136 (in a map of its own
  // it cost 256 more), a map node keyed by the peer's own copy of its name and malloc's
  // own: about 510 (with 32-bit buckets, a key of its own and without the ring about
  // 530; with all six phases and the failure counters inline, 700).
  EXPECT_LT(per_peer, 540);
  const PeerSeries* s = m.find("p1000");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->phase(PhaseIndex::dns).count(), 0u);
  EXPECT_EQ(s->phase(PhaseIndex::tls).count(), 0u);
  EXPECT_EQ(s->phase(PhaseIndex::tcp).count(), 1u);
  for (size_t r = 0; r < s->failures.size(); ++r) EXPECT_EQ(s->failures[r], 0u);
  std::string out;
  m.render(out, ProcessFigures{});
  EXPECT_NE(out.find("phase=\"tcp\""), std::string::npos);
  EXPECT_EQ(out.find("phase=\"dns\""), std::string::npos) << "never observed: no series, as before";
  EXPECT_EQ(out.find("phase=\"tls\""), std::string::npos);
}

// The series' key is the peer's own copy of its identity, not another one.
TEST(Metrics, TheSeriesKeepsThePeersCopyOfItsName) {
  constexpr int kPeers = 1000;
  auto heap_a_peer = [](bool shared) {
    std::vector<SharedString> names;
    for (int i = 0; i < kPeers; ++i)
      names.emplace_back("http://127.1.0." + std::to_string(i) + ":12345/v1/ping");
    Metrics m(kPeers);
    size_t before = mallinfo2().uordblks;
    for (const SharedString& name : names) {
      if (shared)
        m.on_sample(ok_sample(name.str()), name);
      else
        m.on_sample(ok_sample(name.str()), 1);
    }
    double per_peer = double(mallinfo2().uordblks - before) / kPeers;
    EXPECT_EQ(m.find(names[7].str())->ok, 1u);
    return per_peer;
  };
  double own = heap_a_peer(false), shared = heap_a_peer(true);
  if (own == 0) GTEST_SKIP() << "no mallinfo2 from this allocator (a sanitizer)";
  EXPECT_LT(shared + 48, own) << "the name's 33 bytes and its holder, once";
}

// The page's sparklines read each peer's recent totals from its series: every sample,
// ok or failed (disturbed ones too), gone with the series.
TEST(Metrics, RecentTotalsRideInTheSeries) {
  Metrics m(10);
  Sample ok = ok_sample("a");
  ok.t.total = 1'234'000;
  m.on_sample(ok, 1);
  m.on_sample(failed_sample("a", FailureReason::connect_timeout), 1);
  Sample disturbed = ok;
  disturbed.quality.disturbed = true;
  disturbed.t.total = 70'000'000;  // 70 ms: the ring widens
  m.on_sample(disturbed, 2);
  const PeerSeries* s = m.find("a");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->recent.size(), 3u);
  EXPECT_EQ(s->recent.at(0), 1234u);
  EXPECT_EQ(s->recent.at(1), RecentTotals::kFailed);
  EXPECT_EQ(s->recent.at(2), 70'000u);
  m.forget("a");
  EXPECT_FALSE(m.find("a"));
}

// The figures of the report: heap per peer with every phase observed, and a scrape's
// time and size at 1,000 peers.
TEST(Metrics, FootprintAndRenderTimeAtAThousandPeers) {
  constexpr int kPeers = 1000;
  std::vector<std::string> names;
  for (int i = 0; i < kPeers; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "https://peer-%04d.mesh.example.net:8443/", i);
    names.push_back(name);
  }
  Metrics m(kPeers);
  size_t before = mallinfo2().uordblks;
  for (const std::string& name : names) {
    Sample s = ok_sample(name);
    s.t.dns = 400'000;
    s.tls_version = "TLSv1.2";
    s.t.tls = 3'000'000;
    m.on_sample(s, 1);
    m.on_sample(failed_sample(name, FailureReason::connect_timeout), 1);
  }
  size_t after = mallinfo2().uordblks;
  if (after == before) {
    std::printf("metrics: no mallinfo2 from this allocator (a sanitizer): no heap figure\n");
  } else {
    double per_peer = double(after - before) / kPeers;
    std::printf("metrics: %.0f heap bytes a peer (identity of %zu bytes, sizeof PeerSeries %zu)\n",
                per_peer, names[0].size(), sizeof(PeerSeries));
    EXPECT_LT(per_peer, 1024);
  }

  std::string out;
  auto t0 = std::chrono::steady_clock::now();
  m.render(out, read_process_figures());
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("metrics: render of %d peers: %.2f ms, %zu bytes, %zu lines\n", kPeers, ms,
              out.size(), size_t(std::count(out.begin(), out.end(), '\n')));
  EXPECT_LT(ms, 1000) << "bounded generously: debug and sanitizer builds";
}

TEST(Metrics, APartialRenderIsTheWholeInPieces) {
  Metrics m(100);
  for (const char* peer : {"a", "b", "c", "d"}) {
    m.on_sample(ok_sample(peer), 1);
    m.on_sample(failed_sample(peer, FailureReason::reset), 1);
  }
  std::string whole = render(m);
  for (size_t budget : {size_t(1), size_t(700), size_t(5000), whole.size()}) {
    std::string joined, part;
    MetricsCursor c;
    int parts = 0;
    size_t largest = 0;
    bool more = true;
    while (more && parts < 1000) {
      part.clear();
      more = m.render_part(part, {}, c, budget);
      largest = std::max(largest, part.size());
      joined += part;
      ++parts;
    }
    EXPECT_EQ(joined, whole) << "budget " << budget;
    EXPECT_FALSE(m.render_part(part, {}, c, budget)) << "done stays done";
    if (budget == 1) {
      EXPECT_GE(parts, 4 * 4) << "about a peer a part";
    }
    if (budget == 5000) {
      EXPECT_LT(largest, 5000 + 4000u) << "a budget and one peer's series";
    }
  }
}

TEST(Metrics, PeersComingAndGoingBetweenParts) {
  Metrics m(100);
  for (const char* peer : {"a", "b", "c", "d"}) m.on_sample(ok_sample(peer), 1);
  std::string out;
  MetricsCursor c;
  // The histograms of a, then of b: the cursor is at c.
  ASSERT_TRUE(m.render_part(out, {}, c, 1));
  ASSERT_TRUE(m.render_part(out, {}, c, 1));
  m.forget("c");
  m.on_sample(ok_sample("0 first"), 1);
  m.on_sample(ok_sample("cc"), 1);
  for (int part = 0; part < 1000 && m.render_part(out, {}, c, 1); ++part) {
  }
  auto count = [&](const std::string& prefix) { return lines_with(out, prefix).size(); };
  EXPECT_EQ(count("pingmesh_probe_phase_seconds_count{peer=\"c\""), 0u) << "forgotten";
  EXPECT_EQ(count("pingmesh_probe_phase_seconds_count{peer=\"cc\""), 4u) << "after the cursor";
  EXPECT_EQ(count("pingmesh_probe_phase_seconds_count{peer=\"d\""), 4u);
  EXPECT_EQ(count("pingmesh_probe_phase_seconds_count{peer=\"0 first\""), 0u) << "before it";
  EXPECT_EQ(count("pingmesh_probes_total{peer=\"0 first\""), 2u) << "in the later families";
  EXPECT_EQ(count("# TYPE pingmesh_probes_total"), 1u);
}

TEST(Metrics, QualityIsCountedAndDisturbedUserTimesStayOutOfHistograms) {
  Metrics m(10);
  Sample kernel = ok_sample("a", 100'000);
  kernel.kernel_phases = kKernelTcp | kKernelFirst | kKernelLastb | kKernelTotal;
  kernel.quality.coalesced = true;
  kernel.quality.loop_lag_ns = 2'500'000;
  m.on_sample(kernel, 1);
  Sample late = ok_sample("a", 50'000'000);  // the loop's clock, disturbed: no kernel time
  late.quality.disturbed = true;
  late.quality.missing_stamps = 2;
  late.quality.other_work_ns = 40'000'000;
  m.on_sample(late, 2);
  const PeerSeries* s = m.find("a");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->ok, 2u);
  EXPECT_EQ(s->phase(PhaseIndex::tcp).count(), 1u) << "the disturbed user-space time is left out";
  std::string out = render(m);
  EXPECT_EQ(
      lines_with(out, "pingmesh_sample_flags_total{"),
      (std::vector<std::string>{"pingmesh_sample_flags_total{peer=\"a\",flag=\"disturbed\"} 1",
                                "pingmesh_sample_flags_total{peer=\"a\",flag=\"missing_stamps\"} 2",
                                "pingmesh_sample_flags_total{peer=\"a\",flag=\"coalesced\"} 1"}));
  EXPECT_EQ(lines_with(out, "pingmesh_probe_kernel_timed_total{"),
            (std::vector<std::string>{
                "pingmesh_probe_kernel_timed_total{peer=\"a\",phase=\"tcp\"} 1",
                "pingmesh_probe_kernel_timed_total{peer=\"a\",phase=\"first\"} 1",
                "pingmesh_probe_kernel_timed_total{peer=\"a\",phase=\"lastb\"} 1",
                "pingmesh_probe_kernel_timed_total{peer=\"a\",phase=\"total\"} 1"}));
  EXPECT_EQ(lines_with(out, "pingmesh_probe_other_work_seconds{"),
            (std::vector<std::string>{"pingmesh_probe_other_work_seconds{peer=\"a\"} 0.04"}));
}
