#include "export/cloudwatch_batch.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <tuple>

namespace pingmesh {

namespace {

// Microsecond steps, rounded half up in integers (std::round would bring in libm, which
// the static build otherwise does without).
double ms(uint64_t ns) {
  return double((ns + 500) / 1000) / 1e3;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string iso8601(int64_t unix_ms) {
  time_t secs = time_t(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(unix_ms % 1000));
  return buf;
}

}  // namespace

std::string form_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void CloudWatchBatch::add(const Sample& s) {
  const std::string& to = s.peer;
  int64_t t_ms = s.start_unix_ns / 1000000;
  if (mode_ == Mode::compat) {
    // The original: successes only, "TCP RTT" in ms, TestUrl / HTTP Resp Code / FromLocation.
    if (!s.ok() || !s.counts_in_statistics()) return;
    MetricDatum d;
    d.name = "TCP RTT";
    char code[8];
    std::snprintf(code, sizeof code, "%03d", s.http_code);
    d.dimensions = {{"TestUrl", to}, {"HTTP Resp Code", code}, {"FromLocation", from_}};
    d.timestamp_ms = t_ms;
    d.values = {{double(s.t.tcp) / 1e6, 1}};  // full precision, as the original
    compat_.push_back(std::move(d));
    return;
  }
  int64_t period_ms = int64_t(period_s_) * 1000;
  int64_t start = t_ms / period_ms * period_ms;
  const std::string& url = dims_.url ? s.url : std::string();
  if (!s.ok()) {
    aggregated_[{"Failures", to, url, std::string(to_string(s.reason)), start}][1.0] += 1;
    return;
  }
  if (!s.counts_in_statistics()) return;  // disturbed, and no kernel time to fall back on
  const std::pair<const char*, uint64_t> phases[] = {{"DNS", s.t.dns},     {"TCP", s.t.tcp},
                                                     {"TLS", s.t.tls},     {"First", s.t.first},
                                                     {"LastB", s.t.lastb}, {"Total", s.t.total}};
  for (const auto& [name, ns] : phases) {
    if (std::string_view(name) == "TLS" && !s.tls_version) continue;
    aggregated_[{name, to, url, "", start}][ms(ns)] += 1;
  }
}

std::vector<MetricDatum> CloudWatchBatch::take() {
  std::vector<MetricDatum> out = std::move(compat_);
  compat_.clear();
  for (auto& [key, values] : aggregated_) {
    // More than 150 distinct values: several datums of the same metric, so every value
    // is kept and CloudWatch's percentiles stay right.
    MetricDatum d;
    d.name = key.metric;
    if (dims_.from) d.dimensions.emplace_back("From", from_);
    if (dims_.to) d.dimensions.emplace_back("To", key.to);
    if (dims_.url) d.dimensions.emplace_back("Url", key.url);
    if (!key.reason.empty()) d.dimensions.emplace_back("Reason", key.reason);
    d.unit = key.metric == "Failures" ? "Count" : "Milliseconds";
    d.timestamp_ms = key.period_start_ms;
    d.storage_resolution = period_s_ < 60 ? 1 : 60;
    for (auto& [value, count] : values) {
      d.values.emplace_back(value, count);
      if (d.values.size() == kMaxValuesPerDatum) {
        out.push_back(d);
        d.values.clear();
      }
    }
    if (!d.values.empty()) out.push_back(std::move(d));
  }
  aggregated_.clear();
  return out;
}

namespace {

std::string encode_datum(const MetricDatum& d, size_t index) {
  std::string one;
  std::string p = "&MetricData.member." + std::to_string(index) + ".";
  one += p + "MetricName=" + form_encode(d.name);
  for (size_t i = 0; i < d.dimensions.size(); ++i) {
    std::string q = p + "Dimensions.member." + std::to_string(i + 1) + ".";
    one += q + "Name=" + form_encode(d.dimensions[i].first);
    one += q + "Value=" + form_encode(d.dimensions[i].second);
  }
  if (d.values.size() == 1 && d.values[0].second == 1) {
    one += p + "Value=" + number(d.values[0].first);
  } else {
    for (size_t i = 0; i < d.values.size(); ++i) {
      one += p + "Values.member." + std::to_string(i + 1) + "=" + number(d.values[i].first);
      one += p + "Counts.member." + std::to_string(i + 1) + "=" + number(d.values[i].second);
    }
  }
  one += p + "Unit=" + d.unit;
  one += p + "Timestamp=" + form_encode(iso8601(d.timestamp_ms));
  if (d.storage_resolution == 1) one += p + "StorageResolution=1";
  return one;
}

}  // namespace

std::vector<std::string> put_metric_data_bodies(const std::string& ns,
                                                const std::vector<MetricDatum>& datums) {
  std::vector<std::string> bodies;
  const std::string head = "Action=PutMetricData&Version=2010-08-01&Namespace=" + form_encode(ns);
  std::string body = head;
  size_t in_body = 0;
  for (const auto& d : datums) {
    std::string one = encode_datum(d, in_body + 1);
    if (in_body > 0 && (in_body == CloudWatchBatch::kMaxDatumsPerRequest ||
                        body.size() + one.size() > CloudWatchBatch::kMaxRequestBytes)) {
      bodies.push_back(std::move(body));
      body = head;
      in_body = 0;
      one = encode_datum(d, 1);
    }
    body += one;
    ++in_body;
  }
  if (in_body > 0) bodies.push_back(std::move(body));
  return bodies;
}

std::optional<std::pair<std::string, std::string>> split_put_metric_data(std::string_view body,
                                                                         size_t culprit) {
  constexpr std::string_view kMember = "MetricData.member.";
  std::string head;
  std::map<unsigned long, std::vector<std::string_view>> datums;  // index -> its fields after "N."
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view param = body.substr(0, amp);
    body.remove_prefix(amp == std::string_view::npos ? body.size() : amp + 1);
    size_t dot = param.find('.', kMember.size());
    if (param.starts_with(kMember) && dot != std::string_view::npos) {
      auto index = std::strtoul(std::string(param.substr(kMember.size())).c_str(), nullptr, 10);
      datums[index].push_back(param.substr(dot + 1));
    } else {
      head += (head.empty() ? "" : "&") + std::string(param);
    }
  }
  if (datums.size() < 2) return std::nullopt;
  bool named = datums.count(culprit) > 0;  // the others first, then it alone
  std::string halves[2] = {head, head};
  size_t i = 0, first_half = (datums.size() + 1) / 2;
  size_t numbers[2] = {0, 0};
  for (const auto& [index, fields] : datums) {
    bool second = named ? index == culprit : i++ >= first_half;
    std::string prefix = std::string(kMember) + std::to_string(++numbers[second]) + ".";
    for (auto f : fields) halves[second] += "&" + prefix + std::string(f);
  }
  return std::make_pair(std::move(halves[0]), std::move(halves[1]));
}

}  // namespace pingmesh
