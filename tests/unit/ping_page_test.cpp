#include <gtest/gtest.h>

#include "http/ping_page.hpp"

using namespace pingmesh;

TEST(PingPage, ByteForByteTheOriginals) {
  std::string page = ping_page("Chicago,US");
  EXPECT_EQ(page,
            "<html><head><title>Chicago,US</title></head><body>\n<h1> pingResponse </h1>"
            "<p>Served from Chicago,US\n\n</body></html>\n");
  EXPECT_EQ(page.size(), 116u);  // the seed's Size column
  EXPECT_EQ(ping_page("").size(), 96u);
}

TEST(PingPage, LocationRoundTrips) {
  EXPECT_EQ(extract_location(ping_page("Paris,FR"), false), "Paris,FR");
  EXPECT_EQ(extract_location("{\n  \"SrvLoc\": \"Oslo,NO\",\n}", true), "Oslo,NO");
  EXPECT_EQ(extract_location("<p>Served from nowhere", false), "");  // no newline: no location
  EXPECT_EQ(extract_location("hello", false), "");
}

TEST(PingPage, PingmeshPaths) {
  EXPECT_TRUE(is_pingmesh_path("/v1/ping"));
  EXPECT_TRUE(is_pingmesh_path("/mesh/v1/peers"));
  EXPECT_FALSE(is_pingmesh_path("/"));
  EXPECT_FALSE(is_pingmesh_path("/v1/ping/x"));
}
