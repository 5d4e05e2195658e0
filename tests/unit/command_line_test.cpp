#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"

using namespace pingmesh;

namespace {

struct Env {
  std::map<std::string, std::string> vars;
  GetEnv get() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

// Loads as main() does, with no ini file unless -C names one.
LoadedConfig parse(std::vector<const char*> args, Env env = {}) {
  args.insert(args.begin(), "pingmesh");
  env.vars.emplace("PINGMESH_CONFIG", "");
  return load_config(parse_command_line(int(args.size()), args.data()), env.get());
}

CommandLine::Action action(std::vector<const char*> args) {
  args.insert(args.begin(), "pingmesh");
  return parse_command_line(int(args.size()), args.data()).action;
}

std::string usage_error(std::vector<const char*> args, const Env& env = {}) {
  try {
    parse(args, env);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(CommandLine, SeedCommand) {
  auto cl = parse({"-s", "8080", "-d", "5", "http://localhost:8080/v1/ping"});
  const Config& c = cl.config;
  EXPECT_EQ(c.serve_port, 8080);
  EXPECT_EQ(c.delay_s, 5);
  EXPECT_EQ(c.verbosity, 1);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].url.display(), "http://localhost:8080/v1/ping");
}

TEST(CommandLine, Defaults) {
  auto c = parse({"http://h/"}).config;
  EXPECT_EQ(c.delay_s, 10);
  EXPECT_EQ(c.max_failures, 100);
  EXPECT_EQ(c.limit, 0);
  EXPECT_EQ(c.serve_port, 0);
  EXPECT_FALSE(c.cloudwatch.enabled);
}

TEST(CommandLine, GoFlagSyntax) {
  Env aws;
  aws.vars = {{"AWS_REGION", "us-east-1"},
              {"AWS_ACCESS_KEY_ID", "AKID"},
              {"AWS_SECRET_ACCESS_KEY", "secret"},
              {"HOME", "/nonexistent"}};
  auto c = parse({"--d=3", "-n=2", "-f", "7", "-L", "Here", "-H=host", "-I", "::1", "-c",
                  "http://h/#There"},
                 aws)
               .config;
  EXPECT_EQ(c.delay_s, 3);
  EXPECT_EQ(c.limit, 2);
  EXPECT_EQ(c.max_failures, 7);
  EXPECT_EQ(c.location, "Here");
  EXPECT_EQ(c.hostname, "host");
  EXPECT_EQ(c.ip_override, "::1");
  EXPECT_EQ(c.peers.at(0).address, "::1") << "-I applies to the peers";
  EXPECT_TRUE(c.cloudwatch.enabled);
  EXPECT_EQ(c.peers.at(0).location, "There");
}

TEST(CommandLine, CloudWatchWithoutCredentialsIsSwitchedOffWithALine) {
  Env none;
  none.vars = {{"HOME", "/nonexistent"}};
  auto loaded = parse({"-c", "http://h/"}, none);
  EXPECT_FALSE(loaded.config.cloudwatch.enabled);
  ASSERT_EQ(loaded.notices.size(), 1u);
  EXPECT_NE(loaded.notices[0].find("publishing is off"), std::string::npos);
}

TEST(CommandLine, Verbosity) {
  EXPECT_EQ(parse({"-v", "http://h/"}).config.verbosity, 2);
  EXPECT_EQ(parse({"-V", "http://h/"}).config.verbosity, 3);
  EXPECT_EQ(parse({"-v", "-V", "http://h/"}).config.verbosity, 4);
  EXPECT_EQ(parse({"-v", "-q", "http://h/"}).config.verbosity, 0);  // -q wins
}

TEST(CommandLine, EnvironmentBelowTheCommandLine) {
  Env env;
  env.vars = {{"PINGMESH_DELAY", "7"},
              {"PINGMESH_LIMIT", "3"},
              {"PINGMESH_MAXFAIL", "bad"},
              {"PINGMESH_URL", "http://extra/#X"},
              {"PINGMESH_HOSTNAME", "envhost"}};
  auto cl = parse({"-d", "5", "http://h/"}, env);
  EXPECT_EQ(cl.config.delay_s, 5) << "the command line wins";
  EXPECT_EQ(cl.config.limit, 3) << "the environment beats the default";
  EXPECT_EQ(cl.config.max_failures, 100);  // a bad value warns and is ignored
  EXPECT_EQ(cl.config.hostname, "envhost");
  ASSERT_EQ(cl.config.peers.size(), 2u);
  EXPECT_EQ(cl.config.peers[1].location, "X");
  ASSERT_EQ(cl.notices.size(), 2u);
  EXPECT_NE(cl.notices[0].find("Warning: PINGMESH_MAXFAIL environment is bad"), std::string::npos);
  EXPECT_EQ(cl.notices[1], "Note: -d 5 overrides PINGMESH_DELAY=7");
}

TEST(CommandLine, LocationFromEnvironment) {
  Env env;
  env.vars = {{"REP_CITY", "Chicago"}, {"REP_COUNTRY", "US"}};
  EXPECT_EQ(parse({"http://h/"}, env).config.location, "Chicago,US");
  env.vars["REP_LOCATION"] = "Lab";
  EXPECT_EQ(parse({"http://h/"}, env).config.location, "Lab");
  EXPECT_EQ(parse({"-L", "Flag", "http://h/"}, env).config.location, "Flag");
}

TEST(CommandLine, BadUsageNamesTheCulprit) {
  EXPECT_EQ(usage_error({"-x", "http://h/"}), "unknown flag '-x'");
  EXPECT_NE(usage_error({"-d", "0", "http://h/"}).find("flag -d: '0'"), std::string::npos);
  EXPECT_NE(usage_error({"-d", "abc", "http://h/"}).find("flag -d: 'abc'"), std::string::npos);
  EXPECT_NE(usage_error({"-s", "70000"}).find("flag -s"), std::string::npos);
  EXPECT_NE(usage_error({"http://h/", "-d"}).find("-d needs a value"), std::string::npos);
  EXPECT_NE(usage_error({"ftp://h/"}).find("bad URL 'ftp://h/'"), std::string::npos);
  EXPECT_NE(usage_error({"-I", "not-an-ip", "http://h/"}).find("flag -I"), std::string::npos);
  EXPECT_NE(usage_error({"--timeout", "0", "http://h/"}).find("--timeout"), std::string::npos);
  EXPECT_NE(usage_error({}).find("nothing to do"), std::string::npos);
}

TEST(CommandLine, HelpVersionCheck) {
  EXPECT_EQ(action({"--help"}), CommandLine::Action::help);
  EXPECT_EQ(action({"-h"}), CommandLine::Action::help);
  EXPECT_EQ(action({"--version"}), CommandLine::Action::version);
  EXPECT_EQ(action({"--check-config"}), CommandLine::Action::check_config);
}

TEST(CommandLine, ServeOnlyIsEnough) {
  auto c = parse({"-s", "8080"}).config;
  EXPECT_TRUE(c.peers.empty());
}

// One number reader for every setting: decimal digits only, a fraction only where the
// setting has one, the same on the command line, in the environment and in the ini file.
TEST(CommandLine, OneNumberSyntaxForEverySetting) {
  for (const char* flag : {"--timeout", "-d", "-s", "-n", "-f", "--connect-timeout",
                           "--tls-timeout", "--shutdown-timeout", "--tls-port", "-r"})
    for (const char* bad : {" 5", "5 ", "0x10", "+5", "-5", "1e1", "inf", "nan", "", "5.", ".5",
                            "5,5", "0x1p3", "5\t", "٥"})
      EXPECT_NE(usage_error({flag, bad, "http://h/"}).find("flag"), std::string::npos)
          << flag << " '" << bad << "'";
  auto c = parse({"--timeout", "2.5", "--connect-timeout", "002", "-d", "010", "-s", "0",
                  "--shutdown-timeout", "15", "http://h/"})
               .config;
  EXPECT_DOUBLE_EQ(c.timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(c.connect_timeout_s, 2);
  EXPECT_EQ(c.delay_s, 10) << "decimal, not octal";
  EXPECT_NE(usage_error({"-d", "2.5", "http://h/"}).find("whole number"), std::string::npos);
  EXPECT_NE(usage_error({"--timeout", "300.01", "http://h/"}).find("0.1 to 300"),
            std::string::npos);
  EXPECT_NE(usage_error({"-s", "99999999999999999999999"}).find("flag -s"), std::string::npos);
  Env env;
  env.vars = {{"PINGMESH_DELAY", " 5"}, {"PINGMESH_LIMIT", "0x3"}};
  auto loaded = parse({"http://h/"}, env);
  EXPECT_EQ(loaded.config.delay_s, 10) << "refused with a warning, as any bad value";
  EXPECT_EQ(loaded.config.limit, 0);
  EXPECT_EQ(loaded.notices.size(), 2u);
}
