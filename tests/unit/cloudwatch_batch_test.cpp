// Aggregation and the PutMetricData limits, without a network.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "export/cloudwatch_batch.hpp"

using namespace pingmesh;

namespace {

Sample ok_sample(int64_t unix_s, double tcp_ms, bool tls = false, std::string peer = "There") {
  Sample s;
  s.peer = std::move(peer);
  s.location = "what the reply said";
  s.start_unix_ns = unix_s * 1000000000LL + 123456789;
  s.t.tcp = uint64_t(tcp_ms * 1e6);
  s.t.total = uint64_t(tcp_ms * 2e6);
  s.http_code = 200;
  if (tls) s.tls_version = "TLSv1.2";
  return s;
}

double counted(const std::vector<MetricDatum>& ds, const std::string& name) {
  double n = 0;
  for (const auto& d : ds)
    if (d.name == name)
      for (const auto& [v, c] : d.values) n += c;
  return n;
}

std::map<std::string, std::string> form(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t amp = body.find('&', at);
    std::string kv = body.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    out[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    if (amp == std::string::npos) break;
    at = amp + 1;
  }
  return out;
}

}  // namespace

TEST(CloudWatchBatch, AggregatesPerPeerAndPeriodAndCountsEverySample) {
  CloudWatchBatch b(CloudWatchBatch::Mode::full, "Here", 60);
  for (int i = 0; i < 100; ++i) b.add(ok_sample(1800000000 + i % 60, 0.1 + (i % 7) * 0.01));
  Sample fail;
  fail.peer = "There";
  fail.location = "unknown";  // a failure has no reply: the identity still holds
  fail.start_unix_ns = 1800000000LL * 1000000000;
  fail.reason = FailureReason::connect_refused;
  b.add(fail);
  b.add(fail);
  auto ds = b.take();
  EXPECT_EQ(counted(ds, "TCP"), 100);
  EXPECT_EQ(counted(ds, "Total"), 100);
  EXPECT_EQ(counted(ds, "TLS"), 0) << "no TLS datum for http";
  EXPECT_EQ(counted(ds, "Failures"), 2);
  for (const auto& d : ds) {
    EXPECT_EQ(d.dimensions[1], (std::pair<std::string, std::string>{"To", "There"}))
        << d.name << ": one peer, one To, for its failures as for its latencies";
    if (d.name != "TCP") continue;
    EXPECT_EQ(d.values.size(), 7u) << "distinct values, each with its count";
    EXPECT_EQ(d.dimensions[0], (std::pair<std::string, std::string>{"From", "Here"}));
    EXPECT_EQ(d.dimensions[1], (std::pair<std::string, std::string>{"To", "There"}));
    EXPECT_EQ(d.timestamp_ms % 60000, 0) << "the period's start";
  }
  EXPECT_TRUE(b.take().empty()) << "taken once";
}

TEST(CloudWatchBatch, NeverMoreThan150ValuesPerDatum) {
  CloudWatchBatch b(CloudWatchBatch::Mode::full, "Here", 60);
  for (int i = 0; i < 400; ++i) b.add(ok_sample(1800000000, 0.1 + i * 0.001));
  auto ds = b.take();
  size_t tcp_datums = 0;
  for (const auto& d : ds) {
    EXPECT_LE(d.values.size(), CloudWatchBatch::kMaxValuesPerDatum);
    tcp_datums += d.name == "TCP";
  }
  EXPECT_EQ(tcp_datums, 3u);
  EXPECT_EQ(counted(ds, "TCP"), 400) << "split, not dropped";
}

TEST(CloudWatchBatch, RequestsStayWithinCountAndSize) {
  std::vector<MetricDatum> ds(2500);
  for (size_t i = 0; i < ds.size(); ++i) {
    ds[i].name = "TCP";
    ds[i].dimensions = {{"From", "a"}, {"To", "b" + std::to_string(i)}};
    ds[i].timestamp_ms = 1800000000000;
    for (int v = 0; v < 150; ++v) ds[i].values.emplace_back(0.001 * v, 1);
  }
  auto bodies = put_metric_data_bodies("pingmesh", ds);
  size_t total = 0;
  for (const auto& body : bodies) {
    EXPECT_LE(body.size(), CloudWatchBatch::kMaxRequestBytes);
    auto f = form(body);
    size_t n = 0;
    while (f.count("MetricData.member." + std::to_string(n + 1) + ".MetricName")) ++n;
    EXPECT_LE(n, CloudWatchBatch::kMaxDatumsPerRequest);
    EXPECT_GT(n, 0u);
    total += n;
  }
  EXPECT_EQ(total, ds.size()) << "every datum, numbered from 1 in each request";
}

TEST(CloudWatchBatch, CompatIsTheOriginalsDatum) {
  CloudWatchBatch b(CloudWatchBatch::Mode::compat, "Chicago,US", 60);
  b.add(ok_sample(1800000000, 1.374769, false, "Dallas,US"));
  auto bodies = put_metric_data_bodies("pingmesh", b.take());
  ASSERT_EQ(bodies.size(), 1u);
  auto f = form(bodies[0]);
  EXPECT_EQ(f["Action"], "PutMetricData");
  EXPECT_EQ(f["Version"], "2010-08-01");
  EXPECT_EQ(f["Namespace"], "pingmesh");
  EXPECT_EQ(f["MetricData.member.1.MetricName"], "TCP+RTT");
  EXPECT_EQ(f["MetricData.member.1.Unit"], "Milliseconds");
  EXPECT_EQ(f["MetricData.member.1.Value"], "1.374769");
  EXPECT_EQ(f["MetricData.member.1.Dimensions.member.1.Name"], "TestUrl");
  EXPECT_EQ(f["MetricData.member.1.Dimensions.member.1.Value"], "Dallas%2CUS");
  EXPECT_EQ(f["MetricData.member.1.Dimensions.member.2.Name"], "HTTP+Resp+Code");
  EXPECT_EQ(f["MetricData.member.1.Dimensions.member.2.Value"], "200");
  EXPECT_EQ(f["MetricData.member.1.Dimensions.member.3.Name"], "FromLocation");
  EXPECT_EQ(f["MetricData.member.1.Timestamp"], "2027-01-15T08%3A00%3A00.123Z");
}

TEST(CloudWatchBatch, DimensionsAreConfigurable) {
  CloudWatchBatch b(CloudWatchBatch::Mode::full, "Here", 60, {false, true, true});
  Sample s = ok_sample(1800000000, 0.2);
  s.url = "http://a.example/v1/ping";
  b.add(s);
  s.url = "http://b.example/v1/ping";
  b.add(s);
  auto ds = b.take();
  size_t tcp = 0;
  for (const auto& d : ds) {
    if (d.name != "TCP") continue;
    ++tcp;
    ASSERT_EQ(d.dimensions.size(), 2u);
    EXPECT_EQ(d.dimensions[0].first, "To");
    EXPECT_EQ(d.dimensions[1].first, "Url");
  }
  EXPECT_EQ(tcp, 2u) << "with the url dimension, peers of one location stay apart";
}

TEST(CloudWatchBatch, SplitHalvesARequestAndRenumbersItsDatums) {
  std::vector<MetricDatum> ds(5);
  for (size_t i = 0; i < ds.size(); ++i) {
    ds[i].name = "TCP";
    ds[i].dimensions = {{"From", "a"}, {"To", "peer" + std::to_string(i)}};
    ds[i].timestamp_ms = 1800000000000;
    ds[i].values = {{0.5, 2}};
  }
  auto bodies = put_metric_data_bodies("pingmesh", ds);
  ASSERT_EQ(bodies.size(), 1u);
  auto halves = split_put_metric_data(bodies[0]);
  ASSERT_TRUE(halves);
  // Each half is exactly what put_metric_data_bodies makes of those datums alone.
  std::vector<MetricDatum> first(ds.begin(), ds.begin() + 3), second(ds.begin() + 3, ds.end());
  EXPECT_EQ(halves->first, put_metric_data_bodies("pingmesh", first)[0]);
  EXPECT_EQ(halves->second, put_metric_data_bodies("pingmesh", second)[0]);
  // CloudWatch named datum 2: the others, then it alone.
  auto named = split_put_metric_data(bodies[0], 2);
  ASSERT_TRUE(named);
  std::vector<MetricDatum> others = {ds[0], ds[2], ds[3], ds[4]};
  EXPECT_EQ(named->first, put_metric_data_bodies("pingmesh", others)[0]);
  EXPECT_EQ(named->second, put_metric_data_bodies("pingmesh", {ds[1]})[0]);
  // Down to one datum: nothing more to split.
  auto one = split_put_metric_data(put_metric_data_bodies("pingmesh", {ds[0]})[0]);
  EXPECT_FALSE(one);
}

TEST(CloudWatchBatch, DisturbedSamplesWithoutKernelTimesAreLeftOut) {
  CloudWatchBatch b(CloudWatchBatch::Mode::full, "Here", 60);
  Sample kernel = ok_sample(1800000000, 0.1);
  kernel.kernel_phases = kKernelTcp | kKernelFirst;
  kernel.quality.disturbed = true;  // the loop was late, but the kernel timed tcp and first
  b.add(kernel);
  Sample user = ok_sample(1800000001, 9.0);
  user.quality.disturbed = true;  // and nothing to fall back on: left out
  b.add(user);
  Sample user_mode = kernel;
  user_mode.kernel_timing = false;  // timing = user: its times are the disturbed clock's
  b.add(user_mode);
  auto ds = b.take();
  EXPECT_EQ(counted(ds, "TCP"), 1);
  EXPECT_EQ(counted(ds, "Total"), 1);

  CloudWatchBatch compat(CloudWatchBatch::Mode::compat, "Here", 60);
  compat.add(kernel);
  compat.add(user);
  EXPECT_EQ(compat.take().size(), 1u);
}
