#include "export/json_sink.hpp"

#include <cstdio>

#include "export/json.hpp"

namespace pingmesh {

namespace {

std::string ms(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", double(ns) / 1e6);
  return buf;
}

void write_line(Output& out, std::string line) {
  line += '\n';
  out.write(line);
}

// Where each reported phase came from, both clocks' values, the peer's hold and the
// sample's quality.
std::string json_timing(const Sample& s) {
  std::string o = std::string(",\"timing\":") + (s.kernel_timing ? "\"kernel\"" : "\"user\"");
  std::string clock, user, kernel;
  for (const KernelTimedPhase& p : kKernelTimedPhases) {
    std::string name(p.name);
    const char* sep = user.empty() ? "" : ",";
    user += std::string(sep) + "\"" + name + "_ms\":" + ms(s.user.*p.value);
    if (p.bit != kKernelTls || s.tls_version)  // plain http has no handshake to time
      clock += std::string(clock.empty() ? "" : ",") + "\"" + name +
               "\":" + (s.reported_by_kernel(p.bit) ? "\"kernel\"" : "\"user\"");
    if (s.kernel_phases & p.bit)
      kernel +=
          std::string(kernel.empty() ? "" : ",") + "\"" + name + "_ms\":" + ms(s.kernel.*p.value);
  }
  o += ",\"clock\":{" + clock + "},\"user\":{" + user + "},\"kernel\":{" + kernel + "}";
  if (s.peer_hold_ns >= 0) {
    o += ",\"peer_ms\":" + ms(uint64_t(s.peer_hold_ns));
    uint64_t hold = uint64_t(s.peer_hold_ns);
    o += ",\"network_first_ms\":" + ms(s.t.first > hold ? s.t.first - hold : 0);
  }
  const SampleQuality& q = s.quality;
  auto flag = [](bool b) { return b ? "true" : "false"; };
  o += ",\"quality\":{\"loop_lag_ms\":" + ms(q.loop_lag_ns) +
       ",\"other_work_ms\":" + ms(q.other_work_ns);
  o += std::string(",\"disturbed\":") + flag(q.disturbed) +
       ",\"missing_stamps\":" + std::to_string(q.missing_stamps) +
       ",\"coalesced\":" + flag(q.coalesced) + ",\"retransmitted\":" + flag(q.retransmitted) + "}";
  return o;
}

}  // namespace

std::string json_sample(const Sample& s, const std::string& from) {
  std::string o = "{\"type\":\"sample\",\"time\":" + json_time(s.start_unix_ns);
  o += ",\"peer\":" + json_string(s.peer);
  o += ",\"url\":" + json_string(s.url);
  o += ",\"from\":" + json_string(from);
  o += ",\"location\":" + json_string(s.location);
  o += ",\"remote\":" + json_string(s.remote_addr);
  o += ",\"ok\":" + std::string(s.ok() ? "true" : "false");
  o += ",\"reason\":" + json_string(to_string(s.reason));
  if (!s.detail.empty()) o += ",\"detail\":" + json_string(s.detail);
  o += ",\"http_code\":" + std::to_string(s.http_code);
  o += ",\"size\":" + std::to_string(s.size);
  o += ",\"dns_ms\":" + ms(s.t.dns) + ",\"tcp_ms\":" + ms(s.t.tcp) + ",\"tls_ms\":" + ms(s.t.tls);
  o += ",\"first_ms\":" + ms(s.t.first) + ",\"lastb_ms\":" + ms(s.t.lastb);
  o += ",\"total_ms\":" + ms(s.t.total);
  o += json_timing(s);
  if (s.tls_version) {
    o += ",\"tls_version\":" + json_string(s.tls_version);
    o += ",\"tls_cipher\":" + json_string(s.tls_cipher ? s.tls_cipher : "");
    o += ",\"cert_days_left\":" + std::to_string(s.cert_days_left);
  }
  return o + "}";
}

std::string json_summary(const PeerTotals& p) {
  std::string o = "{\"type\":\"summary\",\"peer\":" + json_string(p.peer);
  o += ",\"url\":" + json_string(p.url);
  o += ",\"location\":" + json_string(p.location);
  o += ",\"successes\":" + std::to_string(p.successes);
  o += ",\"failures\":" + std::to_string(p.failures);
  if (p.successes > 0) {
    uint64_t n = uint64_t(p.successes);
    Timings m = p.mean();
    o += ",\"first\":" + json_time(p.first_start_unix_ns);
    o += ",\"avg_dns_ms\":" + ms(m.dns) + ",\"avg_tcp_ms\":" + ms(m.tcp);
    o += ",\"avg_tls_ms\":" + ms(m.tls) + ",\"avg_first_ms\":" + ms(m.first);
    o += ",\"avg_lastb_ms\":" + ms(m.lastb) + ",\"avg_total_ms\":" + ms(m.total);
    o += ",\"avg_size\":" + std::to_string(p.size_sum / n);
    o += ",\"averaged\":" + std::to_string(p.averaged) +
         ",\"disturbed\":" + std::to_string(p.disturbed);
  }
  return o + "}";
}

void JsonSink::on_sample(const Sample& s, int) noexcept {
  write_line(out_, json_sample(s, from_));
}

void JsonSink::on_peer_summary(const PeerTotals& totals) noexcept {
  write_line(out_, json_summary(totals));
}

}  // namespace pingmesh
