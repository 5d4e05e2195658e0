// SigV4 against AWS's published Signature Version 4 test suite (credentials AKIDEXAMPLE,
// 2015-08-30T12:36:00Z, us-east-1, service "service"): get-vanilla,
// get-vanilla-query-order-key-case, post-vanilla, post-x-www-form-urlencoded and
// post-sts-header-after (session token), each value as AWS publishes it and as botocore
// computes it. The daemon's requests are also checked by botocore itself
// (tests/system/cloudwatch_endpoint.py).
#include <gtest/gtest.h>

#include "aws/sigv4.hpp"

using namespace pingmesh;

namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr int64_t kWhen = 1440938160;  // 20150830T123600Z
constexpr const char* kToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlz"
    "m8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

std::string header(const sigv4::Request& r, const std::string& name) {
  for (auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

std::string signature_of(const std::string& authorization) {
  auto at = authorization.find("Signature=");
  return at == std::string::npos ? "" : authorization.substr(at + 10);
}

std::string sign(sigv4::Request r, const std::string& token = "") {
  SigV4Signer s("us-east-1", "service");
  s.set_credentials({"AKIDEXAMPLE", kSecret, token});
  s.sign(r, kWhen);
  return header(r, "Authorization");
}

}  // namespace

TEST(SigV4, DerivedKeyAndDate) {
  std::string key = sigv4::signing_key(kSecret, "20150830", "us-east-1", "service");
  std::string hex;
  for (unsigned char c : key) {
    char b[3];
    snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  EXPECT_EQ(hex, "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
  EXPECT_EQ(sigv4::amz_date(kWhen), "20150830T123600Z");
}

TEST(SigV4, GetVanilla) {
  sigv4::Request r{"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  auto [canonical, names] = sigv4::canonical_request(r);
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(names, "host;x-amz-date");
  EXPECT_EQ(sigv4::string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                                  canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sign({"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""}),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, QueryOrder) {
  std::string query = sigv4::canonical_query("Param2=value2&Param1=value1");
  EXPECT_EQ(query, "Param1=value1&Param2=value2");
  EXPECT_EQ(signature_of(sign({"GET", "/", query, {{"Host", "example.amazonaws.com"}}, ""})),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, PostVanillaAndForm) {
  EXPECT_EQ(signature_of(sign({"POST", "/", "", {{"Host", "example.amazonaws.com"}}, ""})),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  sigv4::Request form{
      "POST",
      "/",
      "",
      {{"Host", "example.amazonaws.com"}, {"Content-Type", "application/x-www-form-urlencoded"}},
      "Param1=value1"};
  std::string auth = sign(form);
  EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date,"), std::string::npos) << auth;
  EXPECT_EQ(signature_of(auth), "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, SessionTokenIsSentAndSigned) {
  sigv4::Request r{"POST", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  SigV4Signer s("us-east-1", "service");
  s.set_credentials({"AKIDEXAMPLE", kSecret, kToken});
  s.sign(r, kWhen);
  EXPECT_EQ(header(r, "X-Amz-Security-Token"), kToken);
  std::string auth = header(r, "Authorization");
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos);
  EXPECT_EQ(signature_of(auth), "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

// The derived key is kept for the day: a new day, or a new secret, derives it again.
TEST(SigV4, KeyFollowsTheDayAndTheSecret) {
  SigV4Signer s("us-east-1", "service");
  s.set_credentials({"AKIDEXAMPLE", kSecret, ""});
  sigv4::Request a{"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  s.sign(a, kWhen);
  EXPECT_EQ(signature_of(header(a, "Authorization")),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  sigv4::Request b{"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  s.sign(b, kWhen + 86400);
  EXPECT_NE(header(b, "Authorization").find("/20150831/us-east-1/service/"), std::string::npos);
  // The next day's signature, from a signer that never saw the first day.
  SigV4Signer fresh("us-east-1", "service");
  fresh.set_credentials({"AKIDEXAMPLE", kSecret, ""});
  sigv4::Request c{"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  fresh.sign(c, kWhen + 86400);
  EXPECT_EQ(header(b, "Authorization"), header(c, "Authorization"));
  s.set_credentials({"AKIDEXAMPLE", "another secret", ""});
  sigv4::Request d{"GET", "/", "", {{"Host", "example.amazonaws.com"}}, ""};
  s.sign(d, kWhen + 86400);
  EXPECT_NE(signature_of(header(d, "Authorization")), signature_of(header(c, "Authorization")));
}

TEST(SigV4, HeaderValuesTrimmedAndPathEncoded) {
  sigv4::Request r{
      "GET", "/", "", {{"Host", "example.amazonaws.com"}, {"My-Header1", "  a   b  c "}}, ""};
  EXPECT_NE(sigv4::canonical_request(r).first.find("\nmy-header1:a b c\n"), std::string::npos);
  EXPECT_EQ(sigv4::canonical_path("/a b/%41~"), "/a%20b/%2541~");
  EXPECT_EQ(sigv4::canonical_path(""), "/");
}
