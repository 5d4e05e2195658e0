#include "export/imds.hpp"

#include <algorithm>
#include <ctime>

#include "log/log.hpp"
#include "text/json_reader.hpp"

namespace pingmesh {

namespace {

// "2026-11-25T18:00:00Z" → seconds from now; -1 if unreadable.
long seconds_until(const std::string& iso) {
  struct tm tm {};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
  return long(timegm(&tm) - time(nullptr));
}

}  // namespace

std::string json_string_field(const std::string& json, const std::string& key) {
  return json::top_level_string(json, key).value_or("");
}

// The metadata service is a link-local neighbour: never through a proxy, quick to answer.
HttpClient::Options imds_client_options() {
  HttpClient::Options o;
  o.connect_timeout_ms = 3000;
  o.timeout_ms = 3000;
  o.use_proxy = false;
  o.max_body = 16384;
  return o;
}

ImdsCredentials::ImdsCredentials(Loop& loop, Resolver& resolver, std::string endpoint, Ready ready)
    : client_(loop, resolver, imds_client_options()),
      endpoint_(std::move(endpoint)),
      ready_(std::move(ready)),
      timer_(loop, [this] { start(Step::token); }) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  start(Step::token);
}

void ImdsCredentials::start(Step step) {
  step_ = step;
  const std::string base = endpoint_ + "/latest/";
  std::string text = step == Step::token ? base + "api/token"
                                         : base + "meta-data/iam/security-credentials/" +
                                               (step == Step::keys ? role_ : "");
  std::string why;
  auto url = parse_url(text, &why);
  if (!url) return fail(why);
  HttpHeaders headers;
  if (step == Step::token)
    headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  else
    headers.emplace_back("X-aws-ec2-metadata-token", token_);
  if (!client_.send(step == Step::token ? "PUT" : "GET", *url, std::move(headers), {},
                    [this](HttpClient::Response r) { on_done(std::move(r)); }))
    fail("a request is already under way");
}

void ImdsCredentials::on_done(HttpClient::Response r) {
  if (!r.error.empty() || r.status != 200) {
    fail(!r.error.empty() ? r.error : "HTTP " + std::to_string(r.status));
    return;
  }
  const std::string& body = r.body;
  switch (step_) {
    case Step::token:
      token_ = body;
      start(Step::role);
      return;
    case Step::role:
      role_ = body.substr(0, body.find('\n'));
      if (role_.empty()) return fail("the instance has no IAM role");
      start(Step::keys);
      return;
    case Step::keys: {
      AwsCredentials c{json_string_field(body, "AccessKeyId"),
                       json_string_field(body, "SecretAccessKey"),
                       json_string_field(body, "Token")};
      if (c.access_key_id.empty() || c.secret_access_key.empty())
        return fail("no keys in the metadata service's answer");
      failures_ = 0;
      long left = seconds_until(json_string_field(body, "Expiration"));
      // Renew five minutes before they expire (at least a minute from now, at most an hour).
      timer_.start(uint64_t(std::clamp(left - 300, 60L, 3600L)) * 1000);
      PM_LOG(notice, "CloudWatch: credentials from the instance metadata service (role %s)",
             role_.c_str());
      ready_(c);
      return;
    }
  }
}

void ImdsCredentials::fail(const std::string& why) {
  uint64_t delay_s = std::min<uint64_t>(300, 5ull << std::min(failures_++, 6));
  PM_LOG(warning, "CloudWatch: the instance metadata service at %s: %s; trying again in %llu s",
         endpoint_.c_str(), why.c_str(), (unsigned long long)delay_s);
  timer_.start(delay_s * 1000);
}

}  // namespace pingmesh
