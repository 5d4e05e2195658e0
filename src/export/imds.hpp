// Credentials from the EC2 instance metadata service, IMDSv2 token flow, on the loop:
// PUT /latest/api/token, then GET …/iam/security-credentials/ (the role) and
// …/security-credentials/<role> (keys, token, expiry). Used only when configured.
#pragma once

#include <functional>
#include <string>

#include "curl/curl_multi.hpp"
#include "loop/timer.hpp"

namespace pingmesh {

struct AwsCredentials {
  std::string access_key_id, secret_access_key, session_token;
};

class ImdsCredentials {
 public:
  using Ready = std::function<void(const AwsCredentials&)>;

  // endpoint: "http://169.254.169.254" on EC2; fetches at once, then before each expiry.
  ImdsCredentials(Loop& loop, const CurlApi& api, CurlMulti& multi, std::string endpoint,
                  Ready ready);
  ~ImdsCredentials();

 private:
  enum class Step { token, role, keys };
  void start(Step step);
  void on_done(CURLcode result);
  void fail(const std::string& why);

  const CurlApi& api_;
  CurlMulti& multi_;
  std::string endpoint_;
  Ready ready_;
  CURL* easy_;
  curl_slist* headers_ = nullptr;
  Step step_ = Step::token;
  std::string token_, role_, body_;
  Timer timer_;
  int failures_ = 0;
  bool in_flight_ = false;
};

// The string value of the top-level member "key", escapes decoded; empty when absent.
std::string json_string_field(const std::string& json, const std::string& key);

}  // namespace pingmesh
