// The docs table (config/docs.cpp) against the settings table and the command line: every
// setting documented once, every documented flag a flag, --help one short line a flag.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/docs.hpp"
#include "config/settings.hpp"

using namespace pingmesh;

TEST(Docs, EverySettingHasOneDocAndEveryDocASetting) {
  std::string all;
  for (const auto& p : doc_problems()) all += p + "\n";
  EXPECT_EQ(all, "");
}

TEST(Docs, EveryDocumentedFlagParses) {
  for (const Doc& d : docs()) {
    if (d.kind != Doc::Kind::flag) continue;
    for (const char* name : {d.name, d.alias}) {
      if (!name) continue;
      std::string flag = "--" + std::string(name);
      std::vector<const char*> argv = {"pingmesh", flag.c_str()};
      if (d.value) argv.push_back("x");
      EXPECT_NO_THROW(parse_command_line(int(argv.size()), argv.data())) << flag;
    }
  }
}

TEST(Docs, HelpHasEveryFlagOnOneShortLine) {
  std::string help = render_usage();
  for (const Setting* s = settings_begin(); s != settings_end(); ++s) {
    if (!s->flag) continue;
    std::string flag = (std::string(s->flag).size() == 1 ? "  -" : "  --") + std::string(s->flag);
    EXPECT_NE(help.find("\n" + flag + " "), std::string::npos) << flag << " is not in --help";
  }
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
}

namespace {

const Doc* node_key(const char* name) {
  for (const Doc& d : docs())
    if (d.kind == Doc::Kind::key && d.section && std::string(d.section) == "node" &&
        std::string(d.name) == name)
      return &d;
  return nullptr;
}

}  // namespace

TEST(Docs, DefaultsAndWhatAKeyTakesComeFromTheSettings) {
  const Doc* delay = node_key("delay");
  ASSERT_NE(delay, nullptr);
  EXPECT_EQ(default_text(*delay), "10");
  EXPECT_EQ(accepted_text(*delay), "a whole number from 1 to 86400");
  EXPECT_EQ(flag_spelling(*delay), "-d N");
  const Doc* port = node_key("port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(default_phrase(*port), "default 0: off");
}
