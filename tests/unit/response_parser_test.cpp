// The probe's response parser: what it takes from a response besides the body.
#include <gtest/gtest.h>

#include <string>

#include "http/response_parser.hpp"

using namespace pingmesh;

namespace {

int64_t hold_of(const std::string& headers, size_t split = 0) {
  std::string r = "HTTP/1.1 200 OK\r\n" + headers + "Content-Length: 2\r\n\r\nok";
  ResponseParser p;
  if (split) p.feed(r.data(), split);
  EXPECT_EQ(p.feed(r.data() + split, r.size() - split), ResponseParser::State::complete);
  return p.server_hold_ns();
}

}  // namespace

TEST(ResponseParser, ReadsTheHoldOfServerTiming) {
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=1.234\r\n"), 1'234'000);
  // Plain decimals are read exactly, to the nearest ns; other numbers as strtod reads them.
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=0.022\r\n"), 22'000);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=2\r\n"), 2'000'000);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=1.0000005\r\n"), 1'000'001);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=0.1234564;desc=x\r\n"), 123'456);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=1e3\r\n"), 1'000'000'000);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=3600000.5\r\n"), -1);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=3600000\r\n"), 3'600'000'000'000);
  EXPECT_EQ(hold_of("server-timing: db;dur=5, hold;dur=0.017;desc=\"ours\"\r\n"), 17'000);
  // Split anywhere, the header still reads the same.
  for (size_t at = 17; at < 48; ++at)
    EXPECT_EQ(hold_of("Server-Timing: hold;dur=10.5\r\n", at), 10'500'000) << at;
}

TEST(ResponseParser, NoHoldWithoutOneThatReads) {
  EXPECT_EQ(hold_of(""), -1);
  EXPECT_EQ(hold_of("Server-Timing: db;dur=5\r\n"), -1);
  EXPECT_EQ(hold_of("Server-Timing: holder;dur=5\r\n"), -1);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=abc\r\n"), -1);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=-3\r\n"), -1);
  EXPECT_EQ(hold_of("X-Server-Timing: hold;dur=5\r\n"), -1);
  EXPECT_EQ(hold_of("Server-Timing: hold;dur=" + std::string(300, '1') + "\r\n"), -1)
      << "longer than any we send: ignored";
}
