// Metrics as the Prometheus text exposition: families in a fixed order, each family's
// series together, peers in identity order (the map's), so no scrape sorts anything.
#include <array>
#include <cstdint>
#include <iterator>
#include <span>
#include <utility>

#include "export/exposition.hpp"
#include "export/metrics.hpp"

namespace pingmesh {

namespace ex = exposition;

namespace {

// `name{peer="…"` (label: the escaped `peer="…"`); close_series ends the line.
void open_series(std::string& out, std::string_view name, const std::string& label) {
  out += name;
  out += '{';
  out += label;
}

template <typename T>
void close_series(std::string& out, T v) {
  out += "} ";
  ex::value(out, v);
  out += '\n';
}

// A family of one series without labels.
template <typename T>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            T v) {
  ex::family(out, name, type, help);
  out += name;
  out += ' ';
  ex::value(out, v);
  out += '\n';
}

constexpr std::string_view kPhaseSeconds = "pingmesh_probe_phase_seconds";

// A phase never observed (tls for http, dns for an IP literal) has no series.
void phase_histograms(std::string& out, const std::string& label, const PeerSeries& s) {
  for (size_t ph = 0; ph < s.phases.size(); ++ph) {
    const Histogram& h = s.phases[ph];
    if (h.count() == 0) continue;
    auto open = [&](std::string_view suffix) {
      out += kPhaseSeconds;
      out += suffix;
      out += '{';
      out += label;
      out += ",phase=\"";
      out += kPhaseNames[ph];
      out += '"';
    };
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= Histogram::kBuckets; ++i) {
      cumulative += h.bucket(i);
      open("_bucket");
      out += ",le=\"";
      out += i < Histogram::kBuckets ? Histogram::kUpperLabels[i] : "+Inf";
      out += '"';
      close_series(out, cumulative);
    }
    open("_sum");
    close_series(out, h.sum_seconds());
    open("_count");
    close_series(out, cumulative);
  }
}

void probes(std::string& out, const std::string& label, const PeerSeries& s) {
  open_series(out, "pingmesh_probes_total", label);
  out += ",result=\"ok\"";
  close_series(out, s.ok);
  open_series(out, "pingmesh_probes_total", label);
  out += ",result=\"failed\"";
  close_series(out, s.failed);
}

// One series for each count that is not 0, labelled key="its name": most peers see
// few of the flags, like the failure reasons.
void nonzero_counts(std::string& out, std::string_view family, const std::string& label,
                    std::string_view key, std::span<const std::string_view> names,
                    std::span<const uint32_t> counts) {
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    open_series(out, family, label);
    out += ',';
    out += key;
    out += "=\"";
    out += names[i];
    out += '"';
    close_series(out, uint64_t(counts[i]));
  }
}

void failures(std::string& out, const std::string& label, const PeerSeries& s) {
  for (size_t r = 0; r < s.failures.size(); ++r) {
    if (s.failures[r] == 0) continue;
    open_series(out, "pingmesh_probe_failures_total", label);
    out += ",reason=\"";
    out += kFailureReasonNames[r + 1];
    out += '"';
    close_series(out, uint64_t(s.failures[r]));
  }
}

void http_code(std::string& out, const std::string& label, const PeerSeries& s) {
  open_series(out, "pingmesh_last_http_code", label);
  close_series(out, int64_t(s.last_http_code));
}

void cert_expiry(std::string& out, const std::string& label, const PeerSeries& s) {
  if (s.cert_not_after_unix == 0) return;
  open_series(out, "pingmesh_tls_cert_expiry_timestamp_seconds", label);
  close_series(out, s.cert_not_after_unix);
}

void last_sample(std::string& out, const std::string& label, const PeerSeries& s) {
  open_series(out, "pingmesh_last_sample_timestamp_seconds", label);
  close_series(out, double(s.last_sample_unix_ns) / 1e9);
}

void sample_flags(std::string& out, const std::string& label, const PeerSeries& s) {
  nonzero_counts(out, "pingmesh_sample_flags_total", label, "flag", kSampleFlagNames, s.flags);
}

constexpr auto kKernelPhaseNames = [] {
  std::array<std::string_view, std::size(kKernelTimedPhases)> names{};
  for (size_t i = 0; i < names.size(); ++i) names[i] = kKernelTimedPhases[i].name;
  return names;
}();

void kernel_timed(std::string& out, const std::string& label, const PeerSeries& s) {
  nonzero_counts(out, "pingmesh_probe_kernel_timed_total", label, "phase", kKernelPhaseNames,
                 s.kernel_timed);
}

void probe_loop_lag(std::string& out, const std::string& label, const PeerSeries& s) {
  open_series(out, "pingmesh_probe_loop_lag_seconds", label);
  close_series(out, double(s.last_loop_lag_us) / 1e6);
}

void probe_other_work(std::string& out, const std::string& label, const PeerSeries& s) {
  open_series(out, "pingmesh_probe_other_work_seconds", label);
  close_series(out, double(s.last_other_work_us) / 1e6);
}

struct PeerFamily {
  std::string_view name, type, help;
  void (*write)(std::string& out, const std::string& label, const PeerSeries& s);
};

constexpr PeerFamily kPeerFamilies[] = {
    {kPhaseSeconds, "histogram",
     "Time of each phase of successful probes: the kernel's where it timed the phase (timing "
     "= kernel), else the daemon's; disturbed samples without kernel times are left out.",
     phase_histograms},
    {"pingmesh_probes_total", "counter", "Probes by result.", probes},
    {"pingmesh_probe_failures_total", "counter", "Failed probes by reason.", failures},
    {"pingmesh_last_http_code", "gauge",
     "HTTP status of the latest probe; 502 for a transport failure.", http_code},
    {"pingmesh_tls_cert_expiry_timestamp_seconds", "gauge",
     "NotAfter of the peer's latest TLS certificate, unix time.", cert_expiry},
    {"pingmesh_last_sample_timestamp_seconds", "gauge", "Start of the latest probe, unix time.",
     last_sample},
    {"pingmesh_sample_flags_total", "counter",
     "Samples disturbed by the daemon's own work, kernel stamps missing, first bytes whose "
     "stamp is a later segment's, SYNs retransmitted.",
     sample_flags},
    {"pingmesh_probe_kernel_timed_total", "counter",
     "Successful probes whose phase is reported as the kernel timed it.", kernel_timed},
    {"pingmesh_probe_loop_lag_seconds", "gauge",
     "How late the loop ran the latest probe's callbacks after their events, at most.",
     probe_loop_lag},
    {"pingmesh_probe_other_work_seconds", "gauge",
     "The loop's other work while the latest probe was in flight.", probe_other_work},
};

// Stages of a scrape: the head, one per peer family, the tail.
constexpr size_t kTailStage = std::size(kPeerFamilies) + 1;

}  // namespace

bool Metrics::render_part(std::string& out, const ProcessFigures& p, MetricsCursor& c,
                          size_t max_bytes) const {
  size_t start = out.size();
  if (c.stage == 0) {
    ex::family(out, "pingmesh_build_info", "gauge", "The running version; always 1.");
    out += "pingmesh_build_info{version=\"";
    ex::label_value(out, PINGMESH_VERSION);
    out += "\"} 1\n";
    c.stage = 1;
  }
  std::string label;  // peer="…", escaped once per peer and family
  while (c.stage < kTailStage) {
    const PeerFamily& f = kPeerFamilies[c.stage - 1];
    if (!std::exchange(c.family_open, true)) ex::family(out, f.name, f.type, f.help);
    // At least one peer a part, so every call makes progress.
    for (auto it = peers_.lower_bound(c.next_peer); it != peers_.end();) {
      label = "peer=\"";
      ex::label_value(label, it->first.str());
      label += '"';
      f.write(out, label, it->second);
      if (++it != peers_.end() && out.size() - start >= max_bytes) {
        c.next_peer = it->first.str();
        return true;
      }
    }
    ++c.stage;
    c.family_open = false;
    c.next_peer.clear();
  }
  if (c.stage == kTailStage) {
    render_tail(out, p);
    ++c.stage;
  }
  return false;
}

void Metrics::render(std::string& out, const ProcessFigures& p) const {
  // About 14 KB a peer with all six phases observed and a 40-byte identity: one allocation for a
  // scrape.
  out.reserve(out.size() + 4096 + peers_.size() * 14336);
  MetricsCursor c;
  render_part(out, p, c, SIZE_MAX);
}

void Metrics::render_tail(std::string& out, const ProcessFigures& p) const {
  single(out, "pingmesh_metrics_untracked_samples_total", "counter",
         "Samples of peers beyond the metrics' bound, not kept.", untracked_);

  if (p.resident_memory_bytes >= 0)
    single(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           p.resident_memory_bytes);
  if (p.open_fds >= 0)
    single(out, "process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  if (p.max_fds >= 0)
    single(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  if (p.cpu_seconds >= 0)
    single(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  if (p.loop_lag_seconds >= 0)
    single(out, "pingmesh_loop_lag_seconds", "gauge",
           "How late the event loop ran its latest check.", p.loop_lag_seconds);

  ex::family(out, "pingmesh_output_dropped_lines_total", "counter",
             "Lines not written because the reader of stdout or stderr was too slow.");
  out += "pingmesh_output_dropped_lines_total{stream=\"stdout\"} ";
  ex::value(out, p.stdout_dropped_lines);
  out += "\npingmesh_output_dropped_lines_total{stream=\"stderr\"} ";
  ex::value(out, p.stderr_dropped_lines);
  out += '\n';

  if (p.cloudwatch) {
    single(out, "pingmesh_cloudwatch_spool_bytes", "gauge",
           "Bytes of CloudWatch requests waiting on disk.", p.cloudwatch_spool_bytes);
    ex::family(out, "pingmesh_cloudwatch_requests_total", "counter",
               "CloudWatch PutMetricData requests by result.");
    const std::pair<std::string_view, uint64_t> results[] = {
        {"ok", p.cloudwatch_requests_ok},
        {"retried", p.cloudwatch_requests_retried},
        {"rejected", p.cloudwatch_requests_rejected},
        {"dropped", p.cloudwatch_requests_dropped}};
    for (const auto& [result, n] : results) {
      out += "pingmesh_cloudwatch_requests_total{result=\"";
      out += result;
      out += "\"} ";
      ex::value(out, n);
      out += '\n';
    }
  }

  single(out, "pingmesh_peers", "gauge", "Peers being probed.", p.peers);
  single(out, "pingmesh_max_peers", "gauge", "The bound on peers (max_peers).", p.max_peers);
}

}  // namespace pingmesh
