#include <gtest/gtest.h>

#include "http/url.hpp"

using namespace pingmesh;

TEST(Url, SeedUrl) {
  std::string err;
  auto u = parse_url("http://localhost:8080/v1/ping", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/v1/ping");
  EXPECT_EQ(u->authority, "localhost:8080");
  EXPECT_EQ(u->display(), "http://localhost:8080/v1/ping");
  EXPECT_FALSE(u->tls());
}

TEST(Url, DefaultsAndForms) {
  auto u = parse_url("example.com", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/");
  EXPECT_EQ(u->display(), "http://example.com/");

  u = parse_url("HTTPS://[::1]:8443/a/b?x=1&y=2#frag", nullptr);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->authority, "[::1]:8443");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target(), "/a/b?x=1&y=2");
  EXPECT_EQ(u->display(), "https://[::1]:8443/a/b");

  u = parse_url("https://h", nullptr);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 443);
}

TEST(Url, BadUrlsSayWhy) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "empty"},
      {"ftp://host/", "scheme 'ftp' is not http or https"},
      {"http://", "no host"},
      {"http://:80/", "no host"},
      {"http://host:0/", "port '0'"},
      {"http://host:99999/", "port '99999'"},
      {"http://host:8x/", "port '8x'"},
      {"http://[::1/", "unclosed '['"},
      {"http://::1:80/", "brackets"},
      {"http://a b/", "spaces"},
      {"http://user@host/", "user info"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_FALSE(parse_url(c.text, &err)) << c.text;
    EXPECT_NE(err.find(c.why), std::string::npos) << c.text << " -> " << err;
    EXPECT_NE(err.find("bad URL"), std::string::npos) << err;
  }
}

TEST(Url, PeerArgLocation) {
  auto a = split_peer_arg("http://h:1/v1/ping#Chicago,US");
  EXPECT_EQ(a.url, "http://h:1/v1/ping");
  EXPECT_EQ(a.location, "Chicago,US");
  a = split_peer_arg("http://h/");
  EXPECT_EQ(a.url, "http://h/");
  EXPECT_EQ(a.location, "");
}
