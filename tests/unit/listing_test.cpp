// What another node lists: read whole, and never ourselves in it.
#include <gtest/gtest.h>

#include "mesh/listing.hpp"

using namespace pingmesh;

namespace {

Url url_of(const std::string& text) {
  std::string why;
  auto u = parse_url(text, &why);
  EXPECT_TRUE(u) << why;
  return u.value();
}

}  // namespace

// PeerIP comes in the original's form, bracketed for IPv6: still recognised as ours.
TEST(Listing, WeAreUsByAddressInEitherForm) {
  SelfFilter self;
  self.addresses = {"2001:db8::7", "192.0.2.7"};
  self.ports = {8080};
  Listing::Entry e;
  e.peer_ip = "[2001:db8::7]";
  EXPECT_TRUE(self.is_us(e, url_of("http://node7.example:8080/v1/ping")));
  e.peer_ip = "192.0.2.7";
  EXPECT_TRUE(self.is_us(e, url_of("http://node7.example:8080/v1/ping")));
  EXPECT_FALSE(self.is_us(e, url_of("http://node7.example:9090/v1/ping"))) << "another port";
  e.peer_ip = "[2001:db8::8]";
  EXPECT_FALSE(self.is_us(e, url_of("http://node8.example:8080/v1/ping")));
}

TEST(Listing, OffersNeitherUsNorLinkLocalNorCleanedUrls) {
  auto l = read_listing(R"({"SrvLoc": "b", "Peers": [
      {"Url": "http://[2001:db8::7]:8080/v1/ping", "PeerIP": "[2001:db8::7]"},
      {"Url": "http://169.254.169.254/latest/meta-data/"},
      {"Url": "http://c.example:8080/v1/ping\u001b[2J"},
      {"Url": "http://c.example:8080/v1/ping", "Identity": "c"}]})",
                        100);
  ASSERT_TRUE(l);
  SelfFilter self;
  self.addresses = {"2001:db8::7"};
  self.ports = {8080};
  auto offered = offered_peers(*l, self, PeerTls{}, "test");
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].identity(), "c");
}
