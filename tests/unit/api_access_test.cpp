#include "mesh/api_access.hpp"

#include <gtest/gtest.h>

namespace pingmesh {
namespace {

const std::vector<std::string> kNames = {"node7"};

Request from_curl(std::string_view host) {
  Request r;
  r.host = host;
  return r;
}

TEST(ApiAccessTest, SiteHostOfEveryForm) {
  EXPECT_EQ(site_host("http://a.example:8080/x?y"), "a.example");
  EXPECT_EQ(site_host("https://user@b.example/"), "b.example");
  EXPECT_EQ(site_host("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(site_host("[::1]:8080"), "::1");
  EXPECT_EQ(site_host("http://[fe80::1]/"), "fe80::1");
  EXPECT_EQ(site_host("[::1"), "::1");
  EXPECT_EQ(site_host(""), "");
}

TEST(ApiAccessTest, ALocalToolNamingThisNodeIsLocal) {
  for (const char* host : {"127.0.0.1:80", "[::1]:8080", "localhost:8080", "LOCALHOST.",
                           "api.localhost:1", "node7:8080", "NODE7", "198.18.0.1:80", ""})
    EXPECT_EQ(why_not_local(from_curl(host), kNames), "") << host;
}

TEST(ApiAccessTest, ARebindingNameIsNot) {
  for (const char* host :
       {"evil.example:8080", "localhost.evil.example", "node7.evil:80", "xlocalhost"})
    EXPECT_NE(why_not_local(from_curl(host), kNames), "") << host;
}

TEST(ApiAccessTest, ABrowserOnlyFromTheSameOrigin) {
  Request r = from_curl("127.0.0.1:8080");
  r.fetch_site = "same-origin";
  r.origin = "http://127.0.0.1:8080";
  r.referer = "http://127.0.0.1:8080/v1/addpeer";
  EXPECT_EQ(why_not_local(r, kNames), "");
  r.fetch_site = "none";  // typed into the address bar
  EXPECT_EQ(why_not_local(r, kNames), "");
  for (const char* site : {"cross-site", "same-site"}) {
    Request c = r;
    c.fetch_site = site;
    EXPECT_NE(why_not_local(c, kNames), "") << site;
  }
  Request o = r;
  o.origin = "http://evil.example";
  EXPECT_NE(why_not_local(o, kNames), "");
  o.origin = "null";  // a sandboxed frame or a file:// page
  EXPECT_NE(why_not_local(o, kNames), "");
  Request f = r;
  f.referer = "https://evil.example/page";
  EXPECT_NE(why_not_local(f, kNames), "");
}

TEST(ApiAccessTest, AProxiedRequestIsNot) {
  Request r = from_curl("127.0.0.1:8080");
  r.forwarded = true;
  EXPECT_NE(why_not_local(r, kNames), "");
}

}  // namespace
}  // namespace pingmesh
