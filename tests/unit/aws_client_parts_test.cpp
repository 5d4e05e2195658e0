// The client's pure parts: OpenSSL's subject hash (checked against every hashed name in
// the system's CA directory, which c_rehash made with OpenSSL itself), and the proxy
// variables' rules.
#include <dirent.h>
#include <gtest/gtest.h>
#include <mbedtls/x509_crt.h>

#include <unistd.h>

#include <cstdio>
#include <map>

#include "aws/proxy.hpp"
#include "aws/system_cas.hpp"

using namespace pingmesh;

TEST(SystemCas, SubjectHashIsOpensslsForEveryHashedCa) {
  DIR* dir = opendir("/etc/ssl/certs");
  if (!dir) GTEST_SKIP() << "no /etc/ssl/certs";
  int checked = 0;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.size() != 10 || name[8] != '.' || name.find_first_not_of("0123456789abcdef") < 8)
      continue;
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    std::string path = "/etc/ssl/certs/" + name;
    if (mbedtls_x509_crt_parse_file(&crt, path.c_str()) == 0) {
      uint32_t hash = 0;
      ASSERT_TRUE(openssl_name_hash(crt.subject_raw.p, crt.subject_raw.len, &hash)) << name;
      char hex[9];
      snprintf(hex, sizeof hex, "%08x", hash);
      EXPECT_EQ(std::string(hex), name.substr(0, 8)) << path;
      ++checked;
    }
    mbedtls_x509_crt_free(&crt);
  }
  closedir(dir);
  if (checked == 0) GTEST_SKIP() << "no hashed CA in /etc/ssl/certs";
  EXPECT_GT(checked, 50);
}

namespace {

Url url(const char* text) {
  std::string why;
  return *parse_url(text, &why);
}

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

TEST(Proxy, TheSchemesVariable) {
  std::string why;
  auto p = proxy_for(url("https://monitoring.us-east-1.amazonaws.com/"), &why,
                     env({{"https_proxy", "http://user:p%40ss@proxy.lan:3128/"}}));
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->host, "proxy.lan");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->authorization, "Basic dXNlcjpwQHNz");  // user:p@ss
  EXPECT_EQ(p->display, "http://proxy.lan:3128");
  EXPECT_TRUE(proxy_for(url("https://a.example/"), &why, env({{"HTTPS_PROXY", "[::1]:8080"}})));
  EXPECT_EQ(proxy_for(url("https://a.example/"), &why, env({{"HTTPS_PROXY", "[::1]:8080"}}))->host,
            "::1");
  EXPECT_EQ(proxy_for(url("https://a.example/"), &why, env({{"all_proxy", "p"}}))->port, 1080);
  // http goes by http_proxy, lowercase only, never https_proxy.
  EXPECT_FALSE(proxy_for(url("http://a.example/"), &why, env({{"https_proxy", "http://p:1"}})));
  EXPECT_FALSE(proxy_for(url("http://a.example/"), &why, env({{"HTTP_PROXY", "http://p:1"}})));
  EXPECT_TRUE(proxy_for(url("http://a.example/"), &why, env({{"http_proxy", "http://p:1"}})));
  EXPECT_FALSE(proxy_for(url("https://a.example/"), &why, env({})));
  EXPECT_TRUE(why.empty());
}

TEST(Proxy, UnusableProxiesAreErrors) {
  std::string why;
  EXPECT_FALSE(proxy_for(url("https://a.example/"), &why, env({{"https_proxy", "https://p:1"}})));
  EXPECT_NE(why.find("not supported"), std::string::npos) << why;
  why.clear();
  EXPECT_FALSE(
      proxy_for(url("https://a.example/"), &why, env({{"https_proxy", "http://p:99999"}})));
  EXPECT_FALSE(why.empty());
}

TEST(Proxy, NoProxy) {
  EXPECT_TRUE(no_proxy_matches("*", "anything"));
  EXPECT_TRUE(no_proxy_matches("example.com", "example.com"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "a.example.com"));
  EXPECT_TRUE(no_proxy_matches("localhost, example.com", "b.a.EXAMPLE.com"));
  EXPECT_FALSE(no_proxy_matches("example.com", "badexample.com"));
  EXPECT_TRUE(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
  EXPECT_TRUE(no_proxy_matches("169.254.169.254", "169.254.169.254"));
  EXPECT_TRUE(no_proxy_matches("fd00::/8", "fd12::1"));
  EXPECT_FALSE(no_proxy_matches("", "example.com"));
  std::string why;
  EXPECT_FALSE(proxy_for(url("https://monitoring.amazonaws.com/"), &why,
                         env({{"https_proxy", "http://p:1"}, {"NO_PROXY", ".amazonaws.com"}})));
}

// The userinfo ends at the last '@' of the authority, even when the password holds a '/';
// no message ever shows it.
TEST(Proxy, UserinfoIsFoundWholeAndNeverShown) {
  std::string why;
  auto p =
      proxy_for(url("https://a.example/"), &why, env({{"https_proxy", "http://u:pa/ss@p:3128"}}));
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->host, "p");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->authorization, "Basic dTpwYS9zcw==");  // u:pa/ss
  p = proxy_for(url("https://a.example/"), &why, env({{"https_proxy", "u:pw@p:8080/path"}}));
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->host, "p");
  EXPECT_EQ(p->port, 8080);
  for (const char* bad :
       {"http://user:s3cret@[::1:80", "http://user:s3/cret@p:99999", "http://user:s3cret@p:x",
        "http://user:s3cret@:80", "http://user:s3cr/et@[::1", "u:s3cret@h://p:1",
        "http://user:s3cret@p:1:2"}) {
    why.clear();
    EXPECT_FALSE(proxy_for(url("https://a.example/"), &why, env({{"https_proxy", bad}}))) << bad;
    EXPECT_FALSE(why.empty()) << bad;
    EXPECT_EQ(why.find("s3"), std::string::npos) << bad << ": " << why;
    EXPECT_EQ(why.find("user"), std::string::npos) << bad << ": " << why;
  }
}

// A prefix length that is not a number from 0 to the address's bits: the entry is
// ignored (not read as /0, which would match every address).
TEST(Proxy, NoProxyWithABadPrefixLengthIsIgnored) {
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/x", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x",
                          "fd00::/129", "fd00::/"}) {
    EXPECT_FALSE(no_proxy_matches(bad, "192.168.1.1")) << bad;
    EXPECT_FALSE(no_proxy_matches(bad, "10.0.0.1")) << bad;
    EXPECT_FALSE(no_proxy_matches(bad, "fd00::1")) << bad;
  }
  EXPECT_TRUE(no_proxy_matches("10.0.0.0/, 192.168.1.1", "192.168.1.1")) << "the rest still count";
  EXPECT_TRUE(no_proxy_matches("10.0.0.0/0", "192.168.1.1")) << "an explicit /0 is all";
  EXPECT_TRUE(no_proxy_matches("10.0.0.0/32", "10.0.0.0"));
}

// A server's chain names its issuers: at most max_issuers of them are looked up in the CA
// directory (a file or two each), the rest counted.
TEST(SystemCas, TheIssuersLookedUpAreBounded) {
  char dir[] = "/tmp/pingmesh-issuers-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string pems;
  for (int i = 0; i < 12; ++i) {  // 12 self-signed certificates, 12 issuer names
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout /dev/null -days 1 -subj /CN=issuer-" +
        std::to_string(i) + " 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    ASSERT_TRUE(f);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) pems.append(buf, n);
    ASSERT_EQ(pclose(f), 0);
  }
  mbedtls_x509_crt chain;
  mbedtls_x509_crt_init(&chain);
  ASSERT_EQ(mbedtls_x509_crt_parse(&chain, reinterpret_cast<const unsigned char*>(pems.c_str()),
                                   pems.size() + 1),
            0);
  uint64_t skipped = 0;
  CaDirCheck check;
  check.host = "localhost";
  check.issuers_skipped = &skipped;
  std::string why = verify_with_ca_dir(chain, dir, check);
  EXPECT_NE(why.find("no CA in"), std::string::npos) << why;
  EXPECT_EQ(skipped, 2u);
  mbedtls_x509_crt_free(&chain);
  rmdir(dir);
}
