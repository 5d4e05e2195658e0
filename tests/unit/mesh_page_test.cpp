// The page's pure parts: escaping, labels, when a pair is failing, the sparkline's ring,
// and `pingmesh peers`' URL and table.
#include <gtest/gtest.h>

#include <string>

#include "mesh/html_text.hpp"
#include "mesh/mesh_matrix.hpp"
#include "mesh/peers_command.hpp"
#include "mesh/sparkline.hpp"

using namespace pingmesh;

TEST(MeshPage, EscapesTextAndAttributes) {
  EXPECT_EQ(html_escape("<script>alert('x' & \"y\")</script>"),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
  EXPECT_EQ(html_escape("Zürich"), "Zürich");
}

TEST(MeshPage, ShortLabelsCutAtCharacters) {
  EXPECT_EQ(short_label("http://node-7:8080/v1/ping"), "node-7:8080");
  EXPECT_EQ(short_label("ääääää", 3), "äää\u2026");
  EXPECT_EQ(short_label("abc", 3), "abc");
}

TEST(MeshPage, APairFailsOnlyWithoutARecentSuccess) {
  using S = MatrixCell::State;
  EXPECT_EQ(matrix_cell(0, 0, 0, 0, 0, 1, 100).state, S::none);
  MatrixCell ok = matrix_cell(4, 0, 4'000'000, 8'000'000, 100, 1, 100);
  EXPECT_EQ(ok.state, S::ok);
  EXPECT_DOUBLE_EQ(ok.mean_tcp_ms, 1.0);
  EXPECT_DOUBLE_EQ(ok.mean_total_ms, 2.0);
  EXPECT_EQ(matrix_cell(0, 3, 0, 0, 0, 1, 100).state, S::fail) << "never reached";
  EXPECT_EQ(matrix_cell(5, 2, 0, 0, 97, 1, 100).state, S::ok) << "within 5 s";
  EXPECT_EQ(matrix_cell(5, 2, 0, 0, 90, 1, 100).state, S::fail) << "10 s without success";
  EXPECT_EQ(matrix_cell(5, 2, 0, 0, 80, 10, 100).state, S::ok) << "three 10 s intervals";
  EXPECT_EQ(matrix_cell(5, 0, 0, 0, 0, 1, 100).state, S::ok) << "no failures: old, not red";
}

TEST(MeshPage, RingKeepsTheLatest60) {
  RecentTotals r;
  static_assert(sizeof(RecentTotals) <= 136, "16-bit points while they fit");
  for (int i = 0; i < 100; ++i) r.add_ok(uint64_t(i) * 1000);
  r.add_failed();
  ASSERT_EQ(r.size(), 60u);
  EXPECT_EQ(r.at(0), 41u);
  EXPECT_EQ(r.latest(), RecentTotals::kFailed);
  std::string svg = sparkline_svg(r);
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
  EXPECT_NE(svg.find("class=\"f\""), std::string::npos);
  EXPECT_NE(svg.find("1 failed"), std::string::npos);
}

// A total of 65.535 ms or more widens the ring: every point stays exact, old and new,
// failures included, and the sparkline's range says so before and after.
TEST(MeshPage, RingWidensForSlowPeersAndStaysExact) {
  RecentTotals r;
  r.add_ok(65'534'999);  // 65,534 us: the last that fits 16 bits
  r.add_failed();
  r.add_ok(1'000);
  EXPECT_EQ(r.at(0), 65'534u);
  EXPECT_EQ(r.at(1), RecentTotals::kFailed);
  std::string narrow_svg = sparkline_svg(r);
  r.add_ok(65'535'000);         // 65,535 us: widens
  r.add_ok(5'000'000'000'000);  // 5,000 s: the most a point says is just under kFailed
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.at(0), 65'534u);
  EXPECT_EQ(r.at(1), RecentTotals::kFailed);
  EXPECT_EQ(r.at(2), 1u);
  EXPECT_EQ(r.at(3), 65'535u);
  EXPECT_EQ(r.at(4), RecentTotals::kFailed - 1);
  std::string wide_svg = sparkline_svg(r);
  EXPECT_NE(wide_svg.find("1 failed"), std::string::npos);
  EXPECT_NE(wide_svg.find("0.001 to 4294967.294 ms"), std::string::npos) << wide_svg;
  EXPECT_NE(narrow_svg.find("0.001 to 65.534 ms"), std::string::npos) << narrow_svg;
  for (int i = 0; i < 100; ++i) r.add_failed();
  EXPECT_EQ(r.latest(), RecentTotals::kFailed);
  EXPECT_EQ(r.size(), 60u);
}

// A log scale (sparkline.cpp's own ln, not libm's): 10x the lowest sits half way up.
TEST(MeshPage, SparklineIsLogScaled) {
  RecentTotals r;
  for (uint64_t us : {1000, 3000, 10000, 100000}) r.add_ok(us * 1000);
  std::string svg = sparkline_svg(r);
  EXPECT_NE(svg.find("<path d=\"M113.9 21.0L115.9 16.7L118.0 12.0L120.0 3.0\"/>"),
            std::string::npos)
      << svg;
}

TEST(PeersCommand, ListingUrls) {
  std::string why;
  EXPECT_EQ(listing_url_for("127.0.0.1:8080", &why)->display(), "http://127.0.0.1:8080/v1/peers");
  EXPECT_EQ(listing_url_for("https://n:9/v1/ping", &why)->display(), "https://n:9/v1/peers");
  EXPECT_EQ(listing_url_for("http://n:9/x/v1/ping?q=1", &why)->target(), "/x/v1/peers");
  EXPECT_EQ(listing_url_for("n:9/other", &why)->path, "/other") << "a path given is kept";
  EXPECT_FALSE(listing_url_for("http://[::1/", &why));
  EXPECT_FALSE(why.empty());
}

TEST(PeersCommand, TableIsAligned) {
  Listing l;
  l.location = "here";
  Listing::Entry a;
  a.location = "Zürich";
  a.pings = 12;
  a.fails = 3;
  a.first_unix_s = 1'780'000'000;
  a.latest_unix_s = a.first_unix_s + 3725;
  a.tcp_sum_ns = 12 * 1'234'567;
  a.total_sum_ns = 12 * 2'000'000;
  a.peer_ip = "192.0.2.1";
  Listing::Entry b;
  b.identity = b.url = "http://b/v1/ping";
  l.peers = {a, b};
  std::string t = listing_table(l);
  EXPECT_EQ(t,
            "LOCATION          PINGS  FAILS  START                DURATION  MEAN RTT ms  "
            "MEAN TOTAL ms  ADDRESS\n"
            "Zürich               12      3  2026-05-28 20:26:40    1h2m5s        1.235  "
            "        2.000  192.0.2.1\n"
            "http://b/v1/ping      0      0  -                           -            -  "
            "            -  http://b/v1/ping\n");
}
