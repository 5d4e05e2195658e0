// AWS Signature Version 4 for one service in one region: the canonical request, the
// string to sign, and the signing key, derived once a day (it depends only on the date,
// region, service and secret) and kept. HMAC-SHA256 and SHA-256 from mbedTLS.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pingmesh {

struct AwsCredentials {
  std::string access_key_id, secret_access_key, session_token;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

namespace sigv4 {

std::string sha256_hex(std::string_view data);
// The derived key: HMAC chain over "AWS4"+secret, the date, region, service, "aws4_request".
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// A path as sent, encoded once more as SigV4 wants it for every service but S3
// (unreserved characters and '/' kept); a query as sent, its parameters sorted.
std::string canonical_path(std::string_view path);
std::string canonical_query(std::string_view query);

// "20150830T123600Z" for a Unix time.
std::string amz_date(int64_t unix_s);

// What is signed. path is already URI-encoded; query is the canonical query string
// (sorted, encoded; empty for our POSTs). headers: every header to sign, Host included.
struct Request {
  std::string_view method, path, query;
  HttpHeaders headers;
  std::string_view body;
};

// The canonical request and the names of the signed headers ("host;x-amz-date").
std::pair<std::string, std::string> canonical_request(const Request& r);
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical);

}  // namespace sigv4

class SigV4Signer {
 public:
  SigV4Signer(std::string region, std::string service)
      : region_(std::move(region)), service_(std::move(service)) {}

  void set_credentials(AwsCredentials c);
  bool has_credentials() const { return !credentials_.access_key_id.empty(); }

  // Adds X-Amz-Date, X-Amz-Security-Token (with a session token) and Authorization to
  // r.headers, signed at unix_s; r.headers must hold Host and what else is to be signed.
  void sign(sigv4::Request& r, int64_t unix_s);

 private:
  std::string region_, service_;
  AwsCredentials credentials_;
  std::string key_date_, key_;  // the derived key and the day it is for
};

}  // namespace pingmesh
