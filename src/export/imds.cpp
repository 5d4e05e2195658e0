#include "export/imds.hpp"

#include <algorithm>
#include <ctime>

#include "log/log.hpp"
#include "text/json_reader.hpp"

namespace pingmesh {

namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 16384) out->append(data, size * n);
  return size * n;
}

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

ImdsCredentials::ImdsCredentials(Loop& loop, const CurlApi& api, CurlMulti& multi,
                                 std::string endpoint, Ready ready)
    : api_(api),
      multi_(multi),
      endpoint_(std::move(endpoint)),
      ready_(std::move(ready)),
      easy_(api.easy_init()),
      timer_(loop, [this] { start(Step::token); }) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  start(Step::token);
}

ImdsCredentials::~ImdsCredentials() {
  if (in_flight_) multi_.remove(easy_);
  api_.easy_cleanup(easy_);
  if (headers_) api_.slist_free_all(headers_);
}

void ImdsCredentials::start(Step step) {
  step_ = step;
  body_.clear();
  if (headers_) api_.slist_free_all(headers_);
  const std::string base = endpoint_ + "/latest/";
  std::string url;
  if (step == Step::token) {
    url = base + "api/token";
    headers_ = api_.slist_append(nullptr, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    api_.easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    url = base + "meta-data/iam/security-credentials/" + (step == Step::keys ? role_ : "");
    headers_ = api_.slist_append(nullptr, ("X-aws-ec2-metadata-token: " + token_).c_str());
    api_.easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, nullptr);
  }
  api_.easy_setopt(easy_, CURLOPT_URL, url.c_str());
  api_.easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  api_.easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &collect);
  api_.easy_setopt(easy_, CURLOPT_WRITEDATA, &body_);
  api_.easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  api_.easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 3000L);
  api_.easy_setopt(easy_, CURLOPT_NOPROXY, "*");  // the metadata service is never proxied
  api_.lean_transfer(easy_, "");
  in_flight_ = multi_.add(easy_, [this](CURL*, CURLcode result) { on_done(result); });
  if (!in_flight_) fail("cannot start a transfer");
}

void ImdsCredentials::on_done(CURLcode result) {
  in_flight_ = false;
  long status = 0;
  api_.easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  if (result != CURLE_OK || status != 200) {
    fail(result != CURLE_OK ? api_.easy_strerror(result) : "HTTP " + std::to_string(status));
    return;
  }
  switch (step_) {
    case Step::token:
      token_ = body_;
      start(Step::role);
      return;
    case Step::role:
      role_ = body_.substr(0, body_.find('\n'));
      if (role_.empty()) return fail("the instance has no IAM role");
      start(Step::keys);
      return;
    case Step::keys: {
      AwsCredentials c{json_string_field(body_, "AccessKeyId"),
                       json_string_field(body_, "SecretAccessKey"),
                       json_string_field(body_, "Token")};
      if (c.access_key_id.empty() || c.secret_access_key.empty())
        return fail("no keys in the metadata service's answer");
      failures_ = 0;
      long left = seconds_until(json_string_field(body_, "Expiration"));
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
