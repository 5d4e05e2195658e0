// Samples to AWS CloudWatch: aggregated per period, sent as PutMetricData over the
// Query API, SigV4-signed, by our own client on the loop (src/aws), retried with
// exponential back-off and jitter on network errors, 5xx and throttling.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "aws/http_client.hpp"
#include "aws/sigv4.hpp"
#include "dns/resolver.hpp"
#include "export/cloudwatch_batch.hpp"
#include "export/imds.hpp"
#include "export/spool.hpp"
#include "log/log.hpp"
#include "loop/timer.hpp"
#include "pingmesh/sample.hpp"

namespace pingmesh {

struct CloudWatchOptions {
  CloudWatchBatch::Mode mode = CloudWatchBatch::Mode::full;
  std::string region;
  std::string endpoint;  // full URL
  std::string ca_file;   // empty: the system's CAs
  std::string metric_namespace = "pingmesh";
  int period_s = 60;
  CloudWatchBatch::Dimensions dimensions;
  std::string access_key_id, secret_access_key, session_token;
  std::string imds_endpoint;  // set: credentials come from the instance metadata service
  std::string from_location;
  size_t max_queued_requests = 64;  // in memory; the oldest is dropped past it
  std::string spool_dir;            // empty: memory only (lost at exit)
  uint64_t spool_max_bytes = 64ull << 20;
};

class CloudWatchSink final : public SampleSink {
 public:
  struct Counters {
    uint64_t requests_sent = 0;  // accepted by CloudWatch
    uint64_t datums_sent = 0;
    uint64_t retries = 0;
    uint64_t rejected = 0;  // 4xx other than throttling: set aside, never retried
    uint64_t dropped = 0;   // over the queue bound
  };

  // Throws std::runtime_error when the endpoint is not a URL.
  CloudWatchSink(Loop& loop, CloudWatchOptions options);
  ~CloudWatchSink() override;

  void on_sample(const Sample& s, int successes_so_far) noexcept override;
  void on_peer_summary(const PeerTotals&) noexcept override {}

  // Sends everything gathered, now; calls done once the queue is empty or the deadline
  // has passed (what is left is counted as dropped).
  void drain(uint64_t deadline_ms, std::function<void()> done);
  const Counters& counters() const { return counters_; }
  uint64_t spool_bytes() const { return spool_ ? spool_->bytes() : 0; }
  bool idle() const { return !current_ && queue_.empty() && (!spool_ || spool_->size() == 0); }

 private:
  struct Request {
    std::string body;
    size_t datums = 0;
    int attempts = 0;
    std::optional<Spool::Entry> file;  // where it is stored, when spooled
  };
  bool next_request();  // loads the oldest waiting request into current_
  void done_with_current(bool delivered);
  bool split_current(const std::string& aws_message);

  void on_period();
  void enqueue(std::vector<MetricDatum> datums);
  void send_next();
  void on_response(HttpClient::Response r);
  void retry_later(const std::string& why);
  void finish_drain();
  void use_credentials(const AwsCredentials& c);

  Loop& loop_;
  CloudWatchOptions options_;
  Url endpoint_;
  Resolver resolver_;
  HttpClient client_;
  SigV4Signer signer_;
  bool have_credentials_ = false;
  std::unique_ptr<ImdsCredentials> imds_;  // after resolver_: it goes first
  CloudWatchBatch batch_;
  Timer period_timer_, retry_timer_, drain_timer_;
  std::unique_ptr<Spool> spool_;
  std::deque<Request> queue_;       // in memory, when there is no spool or it refused a write
  std::optional<Request> current_;  // being sent, or waiting for its retry
  bool in_flight_ = false;
  std::function<void()> drained_;
  Counters counters_;
  log::Once dropped_logged_;
};

// <Code>…</Code> or <Message>…</Message> from AWS's XML error document; empty if absent.
std::string xml_field(const std::string& xml, const std::string& tag);

}  // namespace pingmesh
