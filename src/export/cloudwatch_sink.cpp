#include "export/cloudwatch_sink.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <random>

#include "loop/clock.hpp"
#include "text/printable.hpp"

namespace pingmesh {

namespace {

constexpr size_t kMaxResponseBytes = 64 * 1024;

// Milliseconds until the next multiple of the period on the wall clock.
uint64_t ms_to_period_end(int period_s) {
  int64_t now_ms = wall_unix_ns() / 1000000;
  int64_t period_ms = int64_t(period_s) * 1000;
  return uint64_t(period_ms - now_ms % period_ms);
}

// The datums in a request body: its "….MetricName=" members.
size_t count_datums(const std::string& body) {
  size_t n = 0;
  for (size_t pos = 0; (pos = body.find(".MetricName=", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// AWS's message, as it may be logged: SignatureDoesNotMatch's quotes the canonical
// request, whose x-amz-security-token line is a secret (cut there); what AWS says is
// bounded and shown as data.
std::string message_for_log(std::string_view message) {
  constexpr std::string_view kSecret = "x-amz-security-token";
  auto it = std::search(message.begin(), message.end(), kSecret.begin(), kSecret.end(),
                        [](char a, char b) { return std::tolower(uint8_t(a)) == b; });
  bool cut = it != message.end();
  if (cut) message = message.substr(0, size_t(it - message.begin()));
  std::string shown = printable_text(message, 300);
  if (cut || shown.size() < message.size()) shown += "…";
  return shown;
}

}  // namespace

std::string xml_field(const std::string& xml, const std::string& tag) {
  auto a = xml.find("<" + tag + ">");
  if (a == std::string::npos) return {};
  a += tag.size() + 2;
  auto b = xml.find("</" + tag + ">", a);
  return b == std::string::npos ? std::string() : xml.substr(a, b - a);
}

Url endpoint_url(const std::string& text) {
  std::string why;
  auto url = parse_url(text, &why);
  if (!url) throw std::runtime_error("CloudWatch endpoint '" + text + "': " + why);
  return *url;
}

HttpClient::Options client_options(const CloudWatchOptions& o) {
  HttpClient::Options c;
  c.connect_timeout_ms = 5000;
  c.timeout_ms = 15000;
  c.ca_file = o.ca_file;
  c.max_body = kMaxResponseBytes;
  return c;
}

CloudWatchSink::CloudWatchSink(Loop& loop, CloudWatchOptions options)
    : loop_(loop),
      options_(std::move(options)),
      endpoint_(endpoint_url(options_.endpoint)),
      resolver_(loop, Resolver::options_for("", 15000)),
      client_(loop, resolver_, client_options(options_)),
      signer_(options_.region, "monitoring"),
      batch_(options_.mode, options_.from_location, options_.period_s, options_.dimensions),
      period_timer_(loop, [this] { on_period(); }),
      retry_timer_(loop, [this] { send_next(); }),
      drain_timer_(loop, [this] { finish_drain(); }) {
  if (!options_.spool_dir.empty()) {
    try {
      spool_ = std::make_unique<Spool>(options_.spool_dir, options_.spool_max_bytes);
    } catch (const std::exception& e) {
      PM_LOG(error, "CloudWatch: %s; keeping unsent data in memory only", e.what());
    }
  }
  period_timer_.start(ms_to_period_end(options_.period_s));
  if (options_.imds_endpoint.empty()) {
    use_credentials({options_.access_key_id, options_.secret_access_key, options_.session_token});
  } else {
    imds_ =
        std::make_unique<ImdsCredentials>(loop_, resolver_, options_.imds_endpoint,
                                          [this](const AwsCredentials& c) { use_credentials(c); });
  }
}

// Each request is signed as it leaves: renewed credentials apply from the next one.
void CloudWatchSink::use_credentials(const AwsCredentials& c) {
  signer_.set_credentials(c);
  have_credentials_ = true;
  send_next();  // what waited for them, and what a previous run left in the spool
}

CloudWatchSink::~CloudWatchSink() = default;

void CloudWatchSink::on_sample(const Sample& s, int) noexcept {
  batch_.add(s);
}

void CloudWatchSink::on_period() {
  period_timer_.start(ms_to_period_end(options_.period_s));
  enqueue(batch_.take());
}

void CloudWatchSink::enqueue(std::vector<MetricDatum> datums) {
  if (datums.empty()) return;
  int64_t now = wall_unix_ns();
  for (auto& body : put_metric_data_bodies(options_.metric_namespace, datums)) {
    if (spool_ && spool_->put(body, now)) continue;  // on disk before it is sent
    Request r;
    r.datums = count_datums(body);
    r.body = std::move(body);
    queue_.push_back(std::move(r));
  }
  while (queue_.size() > options_.max_queued_requests) {
    ++counters_.dropped;
    if (dropped_logged_.first())
      PM_LOG(warning,
             "CloudWatch: more than %zu requests waiting in memory, dropping the oldest "
             "(logged once)",
             options_.max_queued_requests);
    queue_.pop_front();
  }
  send_next();
}

// Oldest first: what the spool kept from before, then what is waiting in memory.
bool CloudWatchSink::next_request() {
  if (current_) return true;
  while (spool_) {
    auto e = spool_->oldest(wall_unix_ns());
    if (!e) break;
    auto body = spool_->read(*e);
    if (!body) {
      if (errno != ENOENT) return false;  // a passing error (EMFILE, EIO): try again later
      spool_->remove(*e);                 // gone from under us
      continue;
    }
    spool_->pin(e->name);  // the size bound must not delete what is being sent
    current_ = Request{std::move(*body), 0, 0, e};
    current_->datums = count_datums(current_->body);
    return true;
  }
  if (queue_.empty()) return false;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

// Puts the two halves of the current request first in line, in its place (on disk when
// it was spooled). False when it holds a single datum.
bool CloudWatchSink::split_current(const std::string& message) {
  // "The value … for parameter MetricData.member.3.Dimensions…": straight to it.
  size_t culprit = 0;
  if (auto at = message.find("MetricData.member."); at != std::string::npos)
    culprit = std::strtoul(message.c_str() + at + 18, nullptr, 10);
  auto halves = split_put_metric_data(current_->body, culprit);
  if (!halves) return false;
  std::string* parts[] = {&halves->first, &halves->second};
  size_t on_disk = 0;  // the halves keep the original's age: they sort before anything newer
  if (current_->file) {
    spool_->pin("");
    while (on_disk < 2 && spool_->put(*parts[on_disk], current_->file->unix_ns)) ++on_disk;
    spool_->remove(*current_->file);
  }
  for (size_t i = 2; i-- > on_disk;) {  // what the disk did not take waits in memory
    Request r;
    r.datums = count_datums(*parts[i]);
    r.body = std::move(*parts[i]);
    queue_.push_front(std::move(r));
  }
  return true;
}

void CloudWatchSink::done_with_current(bool delivered) {
  if (spool_) spool_->pin("");
  if (current_->file) {
    if (delivered)
      spool_->remove(*current_->file);
    else
      spool_->set_aside(*current_->file);
  }
  current_.reset();
}

void CloudWatchSink::send_next() {
  if (!have_credentials_ || in_flight_ || retry_timer_.pending() || !next_request()) return;
  in_flight_ = true;
  // Request holds views: the canonical texts live here, through the signing.
  const std::string path = sigv4::canonical_path(endpoint_.path);
  const std::string query = sigv4::canonical_query(endpoint_.query);
  sigv4::Request r{"POST",
                   path,
                   query,
                   {{"Host", HttpClient::host_header(endpoint_)},
                    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                   current_->body};
  signer_.sign(r, wall_unix_ns() / 1000000000);
  r.headers.erase(r.headers.begin());  // Host: the client writes it
  // Not copied (a body is up to 1 MB): current_ keeps it, unchanged, until on_response.
  if (!client_.send("POST", endpoint_, std::move(r.headers), current_->body,
                    [this](HttpClient::Response answer) { on_response(std::move(answer)); })) {
    in_flight_ = false;  // cannot happen: one request at a time is ours to keep
    retry_later("the client is busy");
  }
}

void CloudWatchSink::on_response(HttpClient::Response answer) {
  in_flight_ = false;
  long status = answer.status;
  const std::string& body = answer.body;
  if (!answer.error.empty()) {
    retry_later(answer.error);
  } else if (status == 200) {
    ++counters_.requests_sent;
    counters_.datums_sent += current_->datums;
    done_with_current(true);
  } else {
    std::string code = printable_text(xml_field(body, "Code"), 64);  // logged, too
    std::string message = xml_field(body, "Message");
    std::string shown = message_for_log(message);
    bool throttled = status == 429 || code == "Throttling" || code == "ThrottlingException";
    // Credentials that are wrong, expired or not yet renewed, or a skewed clock: the data
    // is fine, so it waits (with back-off) rather than being set aside.
    bool credentials = code == "ExpiredToken" || code == "ExpiredTokenException" ||
                       code == "RequestExpired" || code == "InvalidClientTokenId" ||
                       code == "SignatureDoesNotMatch" || code == "UnrecognizedClientException" ||
                       code == "InvalidSignatureException" || code == "AccessDenied" ||
                       code == "AccessDeniedException";
    if (credentials) {
      PM_LOG(error,
             "CloudWatch refused a batch of %zu datums: HTTP %ld %s: %s (kept; check "
             "the credentials and the clock)",
             current_->datums, status, code.c_str(), shown.c_str());
      retry_later("HTTP " + std::to_string(status) + " " + code);
    } else if (status >= 500 || throttled) {
      retry_later("HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code));
    } else if ((status == 400 || status == 413) && split_current(message)) {
      // Refused as invalid: the parts go next, until only the datum at fault is refused.
      PM_LOG(info, "CloudWatch refused %zu datums as invalid (HTTP %ld %s): sending them in parts",
             current_->datums, status, code.c_str());
      current_.reset();
    } else {
      ++counters_.rejected;
      PM_LOG(error,
             "CloudWatch refused a batch of %zu datums: HTTP %ld %s: %s (set aside, not retried)",
             current_->datums, status, code.c_str(), shown.c_str());
      done_with_current(false);
    }
  }
  if (drained_ && (idle() || retry_timer_.pending())) {
    finish_drain();  // nothing more can go now: what is left stays spooled
    return;
  }
  send_next();
}

// Exponential back-off with jitter, from 1 s to 5 min; the request stays first in line.
void CloudWatchSink::retry_later(const std::string& why) {
  ++counters_.retries;
  int attempt = std::min(++current_->attempts, 9);
  static std::minstd_rand rng{uint32_t(mono_ns())};
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  uint64_t delay_ms = uint64_t(std::min(300000.0, 1000.0 * (1 << (attempt - 1)) * jitter(rng)));
  PM_LOG(warning, "CloudWatch: %s; retrying in %.1f s (attempt %d)", why.c_str(),
         double(delay_ms) / 1000, current_->attempts + 1);
  retry_timer_.start(delay_ms);
}

void CloudWatchSink::drain(uint64_t deadline_ms, std::function<void()> done) {
  period_timer_.stop();
  enqueue(batch_.take());
  drained_ = std::move(done);
  if (idle()) {
    finish_drain();
    return;
  }
  // A retry waiting for its back-off goes now: the deadline is what bounds us.
  if (retry_timer_.pending()) {
    retry_timer_.stop();
    send_next();
  }
  drain_timer_.start(deadline_ms);
}

void CloudWatchSink::finish_drain() {
  drain_timer_.stop();
  retry_timer_.stop();
  size_t left = queue_.size() + (current_ && !current_->file ? 1 : 0);
  if (left) {
    counters_.dropped += left;
    PM_LOG(warning, "CloudWatch: %zu requests not sent before the stop timeout", left);
  }
  if (spool_ && spool_->size())
    PM_LOG(notice, "CloudWatch: %zu requests stay in the spool for the next start", spool_->size());
  auto done = std::move(drained_);
  drained_ = nullptr;
  if (done) done();
}

}  // namespace pingmesh
