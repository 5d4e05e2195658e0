// What a peer says is data: printable, valid UTF-8, bounded.
#include <gtest/gtest.h>

#include <string>

#include "http/ping_page.hpp"
#include "text/printable.hpp"

using namespace pingmesh;

TEST(Printable, ControlCharactersNeverPass) {
  EXPECT_EQ(printable_text("a\x1b[31mb\x07"
                           "c\x08"
                           "d\re\x7f"
                           "f"),
            "a?[31mb?c?d?e?f");
  EXPECT_EQ(printable_text(std::string("x\0y", 3)), "x?y");
  EXPECT_EQ(printable_text("tab\there"), "tab?here");
  EXPECT_EQ(printable_text("\xc2\x9b"
                           "2J"),
            "?2J")
      << "C1 CSI";
  EXPECT_EQ(printable_text("\xe2\x80\xae"
                           "evil"),
            "?evil")
      << "a bidirectional override";
}

TEST(Printable, ValidUtf8StaysInvalidBytesDoNot) {
  EXPECT_EQ(printable_text("Zürich, 東京 🙂"), "Zürich, 東京 🙂");
  EXPECT_EQ(printable_text("\xff\xfe"
                           "a"),
            "??a");
  EXPECT_EQ(printable_text("\xc0\xaf"), "??") << "overlong '/'";
  EXPECT_EQ(printable_text("\xed\xa0\x80"), "???") << "a surrogate";
  EXPECT_EQ(printable_text("ab\xe6\x9d"), "ab??") << "truncated at the end";
}

TEST(Printable, BoundedAtACharacterBoundary) {
  EXPECT_EQ(printable_text(std::string(4096, 'A')).size(), 255u);
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "東";  // 3 bytes each
  std::string out = printable_text(wide);
  EXPECT_EQ(out.size(), 255u);
  EXPECT_EQ(printable_text(wide, 10), "東東東") << "never half a character";
  EXPECT_EQ(printable_text("Dallas\r"), "Dallas") << "a CRLF page's CR";
}

TEST(Printable, ALocationFromAPeerIsCleaned) {
  std::string body = "<p>Served from \x1b]0;pwned\x07" + std::string(5000, 'x') + "\n";
  std::string loc = extract_location(body, false);
  EXPECT_EQ(loc.size(), 255u);
  EXPECT_EQ(loc.substr(0, 9), "?]0;pwned");
  EXPECT_EQ(loc.find('\x1b'), std::string::npos);
}
