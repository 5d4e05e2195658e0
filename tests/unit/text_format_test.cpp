// The seed README's sample lines, reproduced from the values they show.
#include <gtest/gtest.h>

#include "export/text_format.hpp"

using namespace pingmesh;

namespace {

uint64_t ms(double v) {
  return uint64_t(v * 1e6 + 0.5);
}

Sample seed_sample() {
  Sample s;
  s.start_unix_ns = 1564408108LL * 1000000000 + 123456789;
  s.t = {ms(2.825), ms(1.608), 0, ms(0.414), ms(0.073), ms(2.179)};
  s.http_code = 200;
  s.size = 116;
  s.location = "192.168.1.10";
  s.remote_addr = "[::1]";
  s.url = "http://localhost:8080/v1/ping";
  return s;
}

}  // namespace

TEST(TextFormat, HeaderIsTheSeeds) {
  EXPECT_EQ(text_header(),
            "# timestamp\tDNS\tTCP\tTLS\tFirst\tLastB\tTotal\tHTTP\tSize\tFrom_Location\t"
            "Remote_Addr\tproto://uri\n");
}

TEST(TextFormat, RowIsTheSeeds) {
  EXPECT_EQ(text_row(seed_sample()),
            "1564408108\t2.825\t1.608\t0.000\t0.414\t0.073\t2.179\t200\t116\t192.168.1.10\t[::1]\t"
            "http://localhost:8080/v1/ping");
}

TEST(TextFormat, FailureRowFormat) {
  Sample s;
  s.start_unix_ns = 1564408108LL * 1000000000;
  s.t.tcp = ms(0.5);  // the refused connect's own time; Total stays 0
  s.http_code = 502;
  s.location = "unknown";
  s.url = "http://127.0.0.1:1/v1/ping";
  s.reason = FailureReason::connect_refused;
  EXPECT_EQ(text_row(s),
            "1564408108\t0.000\t0.500\t0.000\t0.000\t0.000\t0.000\t502\t0\tunknown\t\t"
            "http://127.0.0.1:1/v1/ping");
}

TEST(TextFormat, ShortLine) {
  EXPECT_EQ(text_short_line(1, seed_sample()), "  1    1.608 msec         192.168.1.10 [::1]\n");
  EXPECT_EQ(text_short_line(1234, seed_sample()).substr(0, 14), "1234    1.608 ");
}

TEST(TextFormat, Elapsed) {
  EXPECT_EQ(format_elapsed(0), "0s");
  EXPECT_EQ(format_elapsed(16), "16s");
  EXPECT_EQ(format_elapsed(65), "1m05s");
  EXPECT_EQ(format_elapsed(3600), "1h00m00s");
  EXPECT_EQ(format_elapsed(7384), "2h03m04s");
  EXPECT_EQ(format_elapsed(86400 + 7384), "1d2h03m04s");
}

TEST(TextFormat, SummaryIsTheSeeds) {
  PeerTotals p;
  p.successes = 4;
  p.averaged = 4;
  p.sum = {ms(1.782 * 4), ms(0.746 * 4), 0, ms(0.421 * 4), ms(0.104 * 4), ms(1.342 * 4)};
  p.size_sum = 4 * 116;
  p.first_start_unix_ns = 1000LL * 1000000000 + 999;
  p.location = "";
  p.url = "http://localhost:8080/v1/ping";
  EXPECT_EQ(text_summary(p, 1016),
            "\nRecorded 4 samples in 16s, average values:\n"
            "# timestamp\tDNS\tTCP\tTLS\tFirst\tLastB\tTotal\tHTTP\tSize\tFrom_Location\t"
            "Remote_Addr\tproto://uri\n"
            "4 16s   \t1.782\t0.746\t0.000\t0.421\t0.104\t1.342\t\t116\t\t"
            "http://localhost:8080/v1/ping\n\n");
}

TEST(TextFormat, SummarySaysWhatTheAveragesLeaveOut) {
  PeerTotals p;
  p.successes = 3;
  p.averaged = 2;
  p.sum = {0, ms(0.2 * 2), 0, ms(0.4 * 2), 0, ms(0.6 * 2)};
  p.size_sum = 3 * 10;
  p.first_start_unix_ns = 1000LL * 1000000000;
  p.url = "http://a/v1/ping";
  std::string s = text_summary(p, 1010);
  EXPECT_NE(s.find("Recorded 3 samples in 10s"), std::string::npos) << s;
  EXPECT_NE(s.find("\t0.000\t0.200\t0.000\t0.400\t0.000\t0.600\t"), std::string::npos)
      << "averages over the two that count: " << s;
  EXPECT_NE(s.find("\n1 disturbed samples without kernel times are not in the averages\n"),
            std::string::npos)
      << s;
}

TEST(TextFormat, SummaryWithNoSuccess) {
  PeerTotals p;
  p.failures = 3;
  p.max_failures = 100;
  EXPECT_EQ(text_summary(p, 0), "\nRecorded 0 valid samples, 3 of 100 failures\n");
}
