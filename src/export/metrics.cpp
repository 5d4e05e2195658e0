#include "export/metrics.hpp"

#include <vector>

#include "export/exposition.hpp"

namespace pingmesh {

namespace ex = exposition;

void Metrics::on_sample(const Sample& s, int) noexcept {
  auto it = peers_.find(s.peer);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) {
      ++untracked_;
      if (untracked_logged_.first())
        PM_LOG(warning, "metrics: more than %zu peers; samples of the others are only counted",
               max_peers_);
      return;
    }
    it = peers_.emplace(s.peer, PeerSeries{}).first;
  }
  PeerSeries& p = it->second;
  p.last_sample_unix_ns = s.start_unix_ns;
  p.last_http_code = s.http_code;
  if (s.cert_not_after_unix != 0) p.cert_not_after_unix = s.cert_not_after_unix;
  if (!s.ok()) {
    ++p.failed;
    ++p.failures[size_t(s.reason) - 1];
    return;
  }
  ++p.ok;
  const Timings& t = s.t;
  if (t.dns != 0) p.phases[size_t(PhaseIndex::dns)].add(t.dns);
  p.phases[size_t(PhaseIndex::tcp)].add(t.tcp);
  if (s.tls_version) p.phases[size_t(PhaseIndex::tls)].add(t.tls);
  p.phases[size_t(PhaseIndex::first)].add(t.first);
  p.phases[size_t(PhaseIndex::lastb)].add(t.lastb);
  p.phases[size_t(PhaseIndex::total)].add(t.total);
}

void Metrics::forget(std::string_view peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) peers_.erase(it);
}

const PeerSeries* Metrics::find(std::string_view peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

namespace {

// `name{peer="…"` with the label value escaped; the caller closes the braces.
void open_series(std::string& out, std::string_view name, const std::string& peer) {
  out += name;
  out += "{peer=\"";
  ex::label_value(out, peer);
  out += '"';
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

}  // namespace

void Metrics::render_histograms(std::string& out) const {
  constexpr std::string_view name = "pingmesh_probe_phase_seconds";
  ex::family(out, name, "histogram",
             "Time of each phase of successful probes, in the original pingmesh's definitions.");
  std::string labels;  // peer="…",phase="…"
  for (const auto& [peer, series] : peers_) {
    for (size_t ph = 0; ph < series.phases.size(); ++ph) {
      const Histogram& h = series.phases[ph];
      if (h.count() == 0) continue;
      labels = "peer=\"";
      ex::label_value(labels, peer);
      labels += "\",phase=\"";
      labels += kPhaseNames[ph];
      labels += '"';
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= Histogram::kBuckets; ++i) {
        cumulative += h.bucket(i);
        out += name;
        out += "_bucket{";
        out += labels;
        out += ",le=\"";
        out += i < Histogram::kBuckets ? Histogram::kUpperLabels[i] : "+Inf";
        out += '"';
        close_series(out, cumulative);
      }
      out += name;
      out += "_sum{";
      out += labels;
      close_series(out, h.sum_seconds());
      out += name;
      out += "_count{";
      out += labels;
      close_series(out, cumulative);
    }
  }
}

void Metrics::render_peer_families(std::string& out) const {
  constexpr std::string_view probes = "pingmesh_probes_total";
  ex::family(out, probes, "counter", "Probes by result.");
  for (const auto& [peer, s] : peers_) {
    open_series(out, probes, peer);
    out += ",result=\"ok\"";
    close_series(out, s.ok);
    open_series(out, probes, peer);
    out += ",result=\"failed\"";
    close_series(out, s.failed);
  }

  // Only the reasons that happened: most peers see none or one of the fourteen.
  constexpr std::string_view failures = "pingmesh_probe_failures_total";
  ex::family(out, failures, "counter", "Failed probes by reason.");
  for (const auto& [peer, s] : peers_) {
    for (size_t r = 0; r < s.failures.size(); ++r) {
      if (s.failures[r] == 0) continue;
      open_series(out, failures, peer);
      out += ",reason=\"";
      out += kFailureReasonNames[r + 1];
      out += '"';
      close_series(out, uint64_t(s.failures[r]));
    }
  }

  constexpr std::string_view code = "pingmesh_last_http_code";
  ex::family(out, code, "gauge", "HTTP status of the latest probe; 502 for a transport failure.");
  for (const auto& [peer, s] : peers_) {
    open_series(out, code, peer);
    close_series(out, int64_t(s.last_http_code));
  }

  constexpr std::string_view expiry = "pingmesh_tls_cert_expiry_timestamp_seconds";
  ex::family(out, expiry, "gauge", "NotAfter of the peer's latest TLS certificate, unix time.");
  for (const auto& [peer, s] : peers_) {
    if (s.cert_not_after_unix == 0) continue;
    open_series(out, expiry, peer);
    close_series(out, s.cert_not_after_unix);
  }

  constexpr std::string_view last = "pingmesh_last_sample_timestamp_seconds";
  ex::family(out, last, "gauge", "Start of the latest probe, unix time.");
  for (const auto& [peer, s] : peers_) {
    open_series(out, last, peer);
    close_series(out, double(s.last_sample_unix_ns) / 1e9);
  }
}

void Metrics::render(std::string& out, const ProcessFigures& p) const {
  // About 2.5 KB a peer with five phases observed: one allocation for a scrape.
  out.reserve(out.size() + 4096 + peers_.size() * 3072);
  ex::family(out, "pingmesh_build_info", "gauge", "The running version; always 1.");
  out += "pingmesh_build_info{version=\"";
  ex::label_value(out, PINGMESH_VERSION);
  out += "\"} 1\n";

  render_histograms(out);
  render_peer_families(out);
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
