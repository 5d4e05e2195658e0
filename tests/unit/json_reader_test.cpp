// JSON that others write: the one reader behind a peer's "SrvLoc" and the metadata
// service's keys.
#include <gtest/gtest.h>

#include <string>

#include "export/imds.hpp"
#include "http/ping_page.hpp"
#include "text/json_reader.hpp"

using namespace pingmesh;
using json::top_level_string;

TEST(JsonReader, TopLevelMemberNotANestedOneOfTheSameName) {
  std::string body = R"({"Peers": [{"SrvLoc": "nested", "Token": "inner"}], "SrvLoc": "top",
                         "Inner": {"Token": "deep"}, "Token": "outer"})";
  EXPECT_EQ(top_level_string(body, "SrvLoc"), "top");
  EXPECT_EQ(top_level_string(body, "Token"), "outer");
  EXPECT_EQ(extract_location(body, true), "top");
  EXPECT_EQ(json_string_field(body, "Token"), "outer");
  // A key's name inside another string is not a key.
  EXPECT_EQ(top_level_string(R"({"Note": "\"SrvLoc\": \"fake\"", "SrvLoc": "real"})", "SrvLoc"),
            "real");
  EXPECT_EQ(extract_location(R"({"Note": "\"SrvLoc\": \"fake\""})", true), "");
}

TEST(JsonReader, EscapesAreDecoded) {
  EXPECT_EQ(top_level_string(R"({"SrvLoc": "say \"hi\"\\ \/ \t"})", "SrvLoc"), "say \"hi\"\\ / \t");
  EXPECT_EQ(extract_location(R"({"SrvLoc": "a \"quoted\" place"})", true), "a \"quoted\" place");
  EXPECT_EQ(json_string_field(R"({"Token": "ab\"cd"})", "Token"), "ab\"cd");
  EXPECT_EQ(top_level_string(R"({"k": "caf\u00e9 \u20ac \ud83d\ude00"})", "k"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(top_level_string(R"({"Srv\u004coc": "escaped key"})", "SrvLoc"), "escaped key");
  // What JSON does not allow is no value at all.
  EXPECT_EQ(top_level_string(R"({"k": "lone \ud83d"})", "k"), std::nullopt);
  EXPECT_EQ(top_level_string(R"({"k": "nul \u0000"})", "k"), std::nullopt);
  EXPECT_EQ(top_level_string(R"({"k": "bad \x"})", "k"), std::nullopt);
  EXPECT_EQ(top_level_string("{\"k\": \"raw\ncontrol\"}", "k"), std::nullopt);
}

TEST(JsonReader, TruncatedInputIsReadAsFarAsItIsWhole) {
  std::string body = R"({"Start": "t", "SrvLoc": "Oslo,NO", "Peers": [{"Url": "http://a/"}, {"Ur)";
  EXPECT_EQ(top_level_string(body, "SrvLoc"), "Oslo,NO");
  EXPECT_EQ(top_level_string(body, "Peers"), std::nullopt);
  EXPECT_EQ(top_level_string(R"({"SrvLoc": "Osl)", "SrvLoc"), std::nullopt);
  EXPECT_EQ(extract_location(R"({"SrvLoc": "Osl)", true), "");
  EXPECT_EQ(json_string_field(R"({"Token": "abc)", "Token"), "");
  EXPECT_EQ(top_level_string(R"({"SrvLoc": )", "SrvLoc"), std::nullopt);
  EXPECT_EQ(extract_location(R"({"Start": "t", "Peers": [{"SrvLoc": "peer's)", true), "");
  EXPECT_EQ(top_level_string("", "SrvLoc"), std::nullopt);
}

TEST(JsonReader, OnlyAnObject) {
  EXPECT_EQ(top_level_string(R"(["SrvLoc", "x"])", "SrvLoc"), std::nullopt);
  EXPECT_EQ(top_level_string(R"("SrvLoc": "x")", "SrvLoc"), std::nullopt);
  EXPECT_EQ(extract_location(R"(<p>"SrvLoc": "x")", true), "");
  EXPECT_EQ(json_string_field(R"(junk "Token": "x")", "Token"), "");
  EXPECT_EQ(top_level_string(R"({"SrvLoc": 42})", "SrvLoc"), std::nullopt) << "not a string";
  EXPECT_EQ(top_level_string(R"({"SrvLoc" "x"})", "SrvLoc"), std::nullopt) << "no colon";
}

TEST(JsonReader, HugeInputIsBounded) {
  // Past the byte bound: the member is beyond what is read.
  std::string pad(json::kMaxInputBytes, ' ');
  EXPECT_EQ(top_level_string("{" + pad + R"("k": "v"})", "k"), std::nullopt);
  EXPECT_EQ(json_string_field("{" + pad + R"("k": "v"})", "k"), "");
  EXPECT_EQ(top_level_string(R"({"k": "v",)" + pad + "}", "k"), "v");
  // Past the token bound: the same.
  std::string many;
  for (int i = 0; i < json::kMaxTokens; ++i) many += "\"m" + std::to_string(i) + "\": 1, ";
  EXPECT_EQ(top_level_string("{" + many + R"("k": "v"})", "k"), std::nullopt);
  EXPECT_EQ(top_level_string(R"({"k": "v", )" + many + R"("z": 0})", "k"), "v");
  // Deep nesting costs no stack.
  std::string deep = R"({"k": "v", "d": )" + std::string(100000, '[');
  EXPECT_EQ(top_level_string(deep, "k"), "v");
  // A long string value is returned whole when it fits.
  std::string big(60000, 'x');
  EXPECT_EQ(top_level_string(R"({"k": ")" + big + "\"}", "k"), big);
}
