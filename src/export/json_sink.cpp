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
  if (s.kernel_rtt_us) o += ",\"kernel_rtt_ms\":" + ms(uint64_t(s.kernel_rtt_us) * 1000);
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
    o += ",\"first\":" + json_time(p.first_start_unix_ns);
    o += ",\"avg_dns_ms\":" + ms(p.sum.dns / n) + ",\"avg_tcp_ms\":" + ms(p.sum.tcp / n);
    o += ",\"avg_tls_ms\":" + ms(p.sum.tls / n) + ",\"avg_first_ms\":" + ms(p.sum.first / n);
    o += ",\"avg_lastb_ms\":" + ms(p.sum.lastb / n) + ",\"avg_total_ms\":" + ms(p.sum.total / n);
    o += ",\"avg_size\":" + std::to_string(p.size_sum / n);
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
