// Credentials from the EC2 instance metadata service, IMDSv2 token flow, on the loop:
// PUT /latest/api/token, then GET …/iam/security-credentials/ (the role) and
// …/security-credentials/<role> (keys, token, expiry). Used only when configured.
#pragma once

#include <functional>
#include <string>

#include "aws/http_client.hpp"
#include "aws/sigv4.hpp"
#include "loop/timer.hpp"

namespace pingmesh {

class ImdsCredentials {
 public:
  using Ready = std::function<void(const AwsCredentials&)>;

  // endpoint: "http://169.254.169.254" on EC2; fetches at once, then before each expiry.
  ImdsCredentials(Loop& loop, Resolver& resolver, std::string endpoint, Ready ready);

 private:
  enum class Step { token, role, keys };
  void start(Step step);
  void on_done(HttpClient::Response r);
  void fail(const std::string& why);

  HttpClient client_;
  std::string endpoint_;
  Ready ready_;
  Step step_ = Step::token;
  std::string token_, role_;
  Timer timer_;
  int failures_ = 0;
};

// The string value of the top-level member "key", escapes decoded; empty when absent.
std::string json_string_field(const std::string& json, const std::string& key);

}  // namespace pingmesh
