// What goes to CloudWatch: samples aggregated per peer and period into datums with
// Values/Counts arrays (or, in compat mode, the original's one datum per sample), and
// datums packed into PutMetricData requests within CloudWatch's limits.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "pingmesh/sample.hpp"

namespace pingmesh {

struct MetricDatum {
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  const char* unit = "Milliseconds";
  int64_t timestamp_ms = 0;
  std::vector<std::pair<double, double>> values;  // value, count; at most 150 distinct
  int storage_resolution = 60;
};

// Which dimensions full-mode datums carry (failures add Reason).
struct CloudWatchDimensions {
  bool from = true, to = true, url = false;
};

class CloudWatchBatch {
 public:
  static constexpr size_t kMaxValuesPerDatum = 150;
  static constexpr size_t kMaxDatumsPerRequest = 1000;
  static constexpr size_t kMaxRequestBytes = 1000 * 1000;

  enum class Mode { full, compat };
  using Dimensions = CloudWatchDimensions;
  CloudWatchBatch(Mode mode, std::string from_location, int period_s, Dimensions dims = {})
      : mode_(mode), from_(std::move(from_location)), period_s_(period_s), dims_(dims) {}

  // Under the sample's peer identity (Sample::peer): the To / TestUrl dimension.
  void add(const Sample& s);
  // Everything gathered so far, as datums; the batch is empty afterwards.
  std::vector<MetricDatum> take();

 private:
  struct Key {
    std::string metric, to, url, reason;
    int64_t period_start_ms;
    bool operator<(const Key& o) const {
      return std::tie(period_start_ms, metric, to, url, reason) <
             std::tie(o.period_start_ms, o.metric, o.to, o.url, o.reason);
    }
  };

  Mode mode_;
  std::string from_;
  int period_s_;
  Dimensions dims_;
  std::map<Key, std::map<double, double>> aggregated_;  // value -> count
  std::vector<MetricDatum> compat_;
};

// The form body of PutMetricData requests for these datums, each request within the
// count and size limits. Datums are never split across requests.
std::vector<std::string> put_metric_data_bodies(const std::string& metric_namespace,
                                                const std::vector<MetricDatum>& datums);

// A request body cut in two, its datums renumbered in each: how a datum CloudWatch
// refuses is found without losing the others. With culprit (a datum's number in the
// body, as CloudWatch's error message names it), the others, then it alone; else about
// half in each. nullopt for one datum.
std::optional<std::pair<std::string, std::string>> split_put_metric_data(std::string_view body,
                                                                         size_t culprit = 0);

// application/x-www-form-urlencoded, as the AWS SDKs send it (space as '+').
std::string form_encode(std::string_view s);

}  // namespace pingmesh
