// GET /v1/peers: the daemon's state with the original's field names.
#include <iterator>
#include <string>
#include <tuple>

#include "daemon/daemon.hpp"
#include "export/json.hpp"

namespace pingmesh {

namespace {

void field(std::string& out, const char* indent, const char* name, const std::string& value,
           bool last = false) {
  out += indent;
  out += '"';
  out += name;
  out += "\": ";
  out += value;
  out += last ? "\n" : ",\n";
}

// How far the samples can be trusted: how many went into the averages, the flags' counts,
// how many of each phase the kernel timed, and the latest sample's loop lag and other
// work (ns).
std::string quality_json(const PeerTotals& t, const PeerSeries* series) {
  std::string o = "{\"Averaged\": " + std::to_string(t.averaged);
  if (series) {
    // kSampleFlagNames, in /v1/peers' spelling.
    const char* names[] = {"Disturbed", "MissingStamps", "Coalesced", "Retransmitted"};
    static_assert(std::size(names) == std::tuple_size_v<decltype(series->flags)>);
    for (size_t i = 0; i < series->flags.size(); ++i)
      o += std::string(", \"") + names[i] + "\": " + std::to_string(series->flags[i]);
    std::string timed;
    for (size_t ph = 0; ph < series->kernel_timed.size(); ++ph)
      timed += std::string(timed.empty() ? "" : ", ") + json_string(kKernelTimedPhases[ph].name) +
               ": " + std::to_string(series->kernel_timed[ph]);
    o += ", \"KernelTimed\": {" + timed + "}";
    o += ", \"LoopLag\": " + std::to_string(uint64_t(series->last_loop_lag_us) * 1000);
    o += ", \"OtherWork\": " + std::to_string(uint64_t(series->last_other_work_us) * 1000);
  }
  return o + "}";
}

// Ours: failures by reason, the last error, and percentiles (ns) from the histograms.
std::string statistics_json(const PeerSet::Member& m, const Metrics& metrics, const char* in) {
  std::string o;
  const Peer& p = *m.peer;
  const PeerSeries* series = metrics.find(p.identity());
  std::string failures = "{";
  if (series) {
    for (size_t i = 0; i < series->failures.size(); ++i) {
      if (!series->failures[i]) continue;
      failures += (failures.size() > 1 ? ", " : "") + json_string(kFailureReasonNames[i + 1]) +
                  ": " + std::to_string(series->failures[i]);
    }
  }
  field(o, in, "Failures", failures + "}");
  field(o, in, "LastError", json_string(p.last_error()));
  field(o, in, "LastErrorTime",
        p.last_error_unix_ns() ? json_time(p.last_error_unix_ns()) : "null");
  std::string pct = "{";
  for (size_t ph = 0; series && ph < kPhaseNames.size(); ++ph) {
    const Histogram& h = series->phases[ph];
    if (h.count() == 0) continue;
    auto ns = [&](double q) { return std::to_string(int64_t(h.quantile(q) * 1e9)); };
    pct += std::string(pct.size() > 1 ? ", " : "") + json_string(kPhaseNames[ph]) +
           ": {\"P50\": " + ns(0.5) + ", \"P90\": " + ns(0.9) + ", \"P99\": " + ns(0.99) + "}";
  }
  field(o, in, "Percentiles", pct + "}");
  field(o, in, "Quality", quality_json(p.totals(), series));
  return o;
}

std::string peer_json(const PeerSet::Member& m, const Config& c, const Metrics& metrics) {
  const Peer& p = *m.peer;
  const PeerTotals& t = p.totals();
  const char* in = "      ";
  std::string o = "    {\n";
  field(o, in, "Url", json_string(p.url()));
  field(o, in, "Host", json_string(c.hostname));
  field(o, in, "Limit", std::to_string(p.limit()));
  field(o, in, "Delay", std::to_string(p.delay_ms() / 1000));
  field(o, in, "Maxfail", std::to_string(p.max_failures()));
  field(o, in, "Location", json_string(p.location()));
  field(o, in, "PeerIP", json_string(p.peer_ip()));
  field(o, in, "FirstPing", json_time(t.first_start_unix_ns / 1000000000 * 1000000000));
  field(o, in, "LatestPing", json_time(p.latest_unix_ns() / 1000000000 * 1000000000));
  field(o, in, "Pings", std::to_string(t.successes));
  field(o, in, "Fails", std::to_string(t.failures));
  const char* in2 = "        ";
  std::string totals = "{\n";
  field(totals, in2, "Start", json_time(t.first_start_unix_ns));
  // The original's readers divide these sums by Pings.
  auto sum = [&](uint64_t Timings::*phase) { return std::to_string(t.sum_over_successes(phase)); };
  field(totals, in2, "DnsLk", sum(&Timings::dns));
  field(totals, in2, "TcpHs", sum(&Timings::tcp));
  field(totals, in2, "TlsHs", sum(&Timings::tls));
  field(totals, in2, "Reply", sum(&Timings::first));
  field(totals, in2, "Close", sum(&Timings::lastb));
  field(totals, in2, "Total", sum(&Timings::total));
  field(totals, in2, "DestUrl", json_string(p.url()));
  field(totals, in2, "Location", json_string(p.location()));
  field(totals, in2, "Remote", json_string(p.peer_ip()));
  field(totals, in2, "RespCode", t.successes ? "200" : "0");
  field(totals, in2, "Size", std::to_string(t.size_sum), true);
  totals += "      }";
  field(o, in, "PingTotals", totals);
  // Ours, after the original's.
  field(o, in, "Identity", json_string(p.identity()));
  field(o, in, "Origin", json_string(to_string(m.origin)));
  o += statistics_json(m, metrics, in);
  field(o, in, "Place", json_string(m.place()), true);
  o += "    }";
  return o;
}

}  // namespace

std::string Daemon::peers_json() const {
  std::string active, deleted;
  size_t num_active = 0, num_deleted = 0;
  peers_.for_each([&](const PeerSet::Member& m) {
    // A peer that ended (its limits, or a reload) is the original's "deleted" peer.
    bool ended = m.peer->ended();
    std::string& list = ended ? deleted : active;
    (ended ? num_deleted : num_active)++;
    list += list.empty() ? "\n" : ",\n";
    list += peer_json(m, config_, metrics_);
  });
  auto array = [](const std::string& items) {
    return items.empty() ? "[]" : "[" + items + "\n  ]";
  };
  const char* in = "  ";
  std::string o = "{\n";
  field(o, in, "Start", json_time(start_unix_ns_));
  field(o, in, "SrvLoc", json_string(config_.location));
  field(o, in, "SrvHost", json_string(config_.hostname));
  field(o, in, "SrvPort",
        std::to_string(config_.report_port ? config_.report_port : config_.serve_port));
  field(o, in, "Peers", array(active));
  field(o, in, "Requests", std::to_string(responder_ ? responder_->counters().requests : 0));
  field(o, in, "NumActive", std::to_string(num_active));
  field(o, in, "NumDeleted", std::to_string(num_deleted));
  field(o, in, "DelPeers", array(deleted));
  // Ours, after the original's fields.
  field(o, in, "StdoutDropped", std::to_string(stdout_.dropped_lines()));
  field(o, in, "StderrDropped", std::to_string(stderr_.dropped_lines()), true);
  o += "}\n";
  return o;
}

}  // namespace pingmesh
