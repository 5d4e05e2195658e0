// The ini file: every key, errors with file:line and key, precedence, round trip.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/settings.hpp"

using namespace pingmesh;
using namespace std::string_literals;

namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/pingmesh-ini-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

LoadedConfig load(const std::string& path, std::vector<const char*> args = {},
                  std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), {"pingmesh", "-C", path.c_str()});
  env.emplace("PINGMESH_CONFIG", "");
  CommandLine cl = parse_command_line(int(args.size()), args.data());
  return load_config(cl, [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::string config_error(const std::string& text) {
  TempFile f(text);
  try {
    load(f.path);
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    // Make the messages independent of the temporary name.
    for (size_t at; (at = msg.find(f.path)) != std::string::npos;)
      msg.replace(at, f.path.size(), "F");
    return msg;
  }
  return "no error";
}

}  // namespace

TEST(Ini, EveryKindOfSetting) {
  TempFile peers("# a comment\nhttp://p1.example/v1/ping#One\n\n  http://p2.example/  \n");
  TempFile f(
      "[node]\nlocation = Chicago,US\nhostname = n1\nlisten = 127.0.0.1, ::1\nport = 8080\n"
      "report_port = 80\ndelay = 5\nlimit = 3\nmax_failures = 7\ntimeout = 2.5\n"
      "connect_timeout = 1\ntls_timeout = 2\ndns_servers = 127.0.0.1:53\noutput = json\n"
      "verbosity = verbose\nshutdown_timeout = 3\nprobe_self = no\n"
      "[tls]\nverify = no\nresume = yes\n"
      "[peers]\nurl = http://p0.example:81/x#Zero\nfile = " +
      peers.path +
      "\n"
      "[peer special]\nurl = https://s.example/v1/ping\nlocation = Special\n"
      "address = 192.0.2.9\ndelay = 2\nverify = yes\nca_file = /etc/hostname\n");
  const Config c = load(f.path).config;
  EXPECT_EQ(c.location, "Chicago,US");
  EXPECT_EQ(c.hostname, "n1");
  EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(c.serve_port, 8080);
  EXPECT_EQ(c.report_port, 80);
  EXPECT_EQ(c.delay_s, 5);
  EXPECT_EQ(c.limit, 3);
  EXPECT_EQ(c.max_failures, 7);
  EXPECT_DOUBLE_EQ(c.timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(c.connect_timeout_s, 1);
  EXPECT_DOUBLE_EQ(c.tls_timeout_s, 2);
  EXPECT_EQ(c.dns_servers, "127.0.0.1:53");
  EXPECT_EQ(c.format, Config::Format::json);
  EXPECT_EQ(c.verbosity, 2);
  EXPECT_DOUBLE_EQ(c.shutdown_timeout_s, 3);
  EXPECT_EQ(c.probe_self, Config::ProbeSelf::no);
  EXPECT_FALSE(c.tls.verify);
  ASSERT_EQ(c.peers.size(), 4u);
  EXPECT_EQ(c.peers[0].url.display(), "http://p0.example:81/x");
  EXPECT_EQ(c.peers[0].location, "Zero");
  EXPECT_EQ(c.peers[1].location, "One");
  EXPECT_EQ(c.peers[1].place, peers.path + ":2");
  EXPECT_EQ(c.peers[2].url.display(), "http://p2.example/");
  const PeerSpec& s = c.peers[3];
  EXPECT_EQ(s.location, "Special");
  EXPECT_EQ(s.address, "192.0.2.9");
  EXPECT_EQ(s.delay_s, 2);
  EXPECT_TRUE(s.tls.verify) << "the peer's own setting";
  EXPECT_TRUE(s.tls.resume) << "the node's setting";
  EXPECT_EQ(s.tls.ca_file, "/etc/hostname");
  EXPECT_FALSE(c.peers[0].tls.verify) << "the node's [tls] verify = no";
}

TEST(Ini, ErrorsNameFileLineAndKey) {
  std::string e = config_error(
      "[node]\nport = 99999\ndelay = soon\n[peers]\nurl = ftp://x/\n"
      "[peer lonely]\nlocation = nowhere\n[tls]\npin_sha256 = short\n"
      "verify = maybe\n");
  EXPECT_NE(e.find("F:2: port: '99999' is not a whole number from 0 to 65535"), std::string::npos)
      << e;
  EXPECT_NE(e.find("F:3: delay: 'soon' is not a whole number from 1 to 86400"), std::string::npos)
      << e;
  EXPECT_NE(e.find("F:5: url: bad URL 'ftp://x/'"), std::string::npos) << e;
  EXPECT_NE(e.find("F:7: [peer lonely] has no url"), std::string::npos) << e;
  EXPECT_NE(e.find("F:9: pin_sha256:"), std::string::npos) << e;
  EXPECT_NE(e.find("F:10: verify: 'maybe' is not yes or no"), std::string::npos) << e;
}

TEST(Ini, SyntaxErrorsAndMissingFiles) {
  EXPECT_NE(config_error("[node]\nport 8080\n").find("F:2: not an ini line"), std::string::npos);
  EXPECT_NE(config_error("[node]\nport = 8080\ntls_port = 8443\ncert = /nonexistent/c.pem\n"
                         "key = /nonexistent/k.pem\n")
                .find("cannot read '/nonexistent/c.pem'"),
            std::string::npos);
  EXPECT_NE(config_error("[peers]\nfile = /nonexistent/peers\n").find("F:2: file: cannot read"),
            std::string::npos);
  EXPECT_THROW(load("/nonexistent/pingmesh.ini"), ConfigError);
}

TEST(Ini, UnknownKeysWarnWithFileLine) {
  TempFile f("[node]\nport = 8080\ncolour = blue\n[nonsense]\nx = 1\n");
  auto loaded = load(f.path);
  ASSERT_EQ(loaded.notices.size(), 2u);
  EXPECT_EQ(loaded.notices[0], f.path + ":3: unknown key 'colour' in [node], ignored");
  EXPECT_EQ(loaded.notices[1], f.path + ":5: unknown key 'x' in [nonsense], ignored");
}

TEST(Ini, CommandLineThenEnvironmentThenFile) {
  TempFile f("[node]\nport = 8080\ndelay = 3\nhostname = from-file\n");
  EXPECT_EQ(load(f.path).config.delay_s, 3);
  EXPECT_EQ(load(f.path, {}, {{"PINGMESH_DELAY", "4"}}).config.delay_s, 4);
  EXPECT_EQ(load(f.path, {"-d", "5"}, {{"PINGMESH_DELAY", "4"}}).config.delay_s, 5);
  EXPECT_EQ(load(f.path, {}, {{"PINGMESH_HOSTNAME", "from-env"}}).config.hostname, "from-env");
  EXPECT_EQ(load(f.path, {"-q"}).config.verbosity, 0);
}

TEST(Ini, CommandLineTlsDefaultsReachFilePeersWithoutTheirOwn) {
  TempFile f(
      "[peer a]\nurl = https://a.example/\nverify = yes\n[peer b]\nurl = https://b.example/\n"
      "[tls]\nca_file = /etc/hostname\n");
  const Config c = load(f.path, {"-k"}).config;
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_TRUE(c.peers[0].tls.verify) << "its own setting stands";
  EXPECT_FALSE(c.peers[1].tls.verify) << "-k is the node's default";
}

TEST(Ini, CheckConfigOutputReadsBackTheSame) {
  TempFile f(
      "[node]\nlocation = Lab\nport = 8081\ndelay = 7\noutput = json\ntimeout = 2.5\n"
      "probe_self = no\nlisten = 127.0.0.1, ::1\n[tls]\nverify = no\n[cloudwatch]\nmode = compat\n"
      "dimensions = to, url\nperiod = 5\nspool_max_bytes = 65536\n[prometheus]\nenabled = yes\n");
  std::string first = describe(load(f.path).config);
  TempFile again(first);
  std::string second = describe(load(again.path).config);
  auto body = [](const std::string& s) { return s.substr(s.find('\n')); };  // skip the path line
  EXPECT_EQ(body(first), body(second));
  for (const char* shown :
       {"delay = 7\n", "timeout = 2.5\n", "probe_self = no\n", "dimensions = to, url\n",
        "mode = compat\n", "[prometheus]\nenabled = yes\n"})
    EXPECT_NE(first.find(shown), std::string::npos) << shown << first;
}

// --check-config is made from the settings table: every key with a section appears in
// its section, so a setting added to the table cannot be left out of the output.
TEST(Ini, CheckConfigShowsEverySettingInItsSection) {
  TempFile f("[node]\nport = 8081\n[peers]\nurl = https://p.example/\n");
  std::string shown = describe(load(f.path).config);
  std::map<std::string, std::set<std::string>> keys;  // section -> keys shown in it
  std::string section, line;
  for (std::istringstream in(shown); std::getline(in, line);) {
    if (line.starts_with("["))
      section = line.substr(1, line.find(']') - 1);
    else if (auto eq = line.find(" = "); eq != std::string::npos)
      keys[section].insert(line.substr(0, eq));
  }
  int checked = 0;
  for (const Setting* s = settings_begin(); s != settings_end(); ++s) {
    if (!s->section) continue;
    ++checked;
    EXPECT_TRUE(s->show) << "[" << s->section << "] " << s->key << " shows no value";
    EXPECT_TRUE(keys[s->section].count(s->key)) << "[" << s->section << "] " << s->key << "\n"
                                                << shown;
  }
  EXPECT_GE(checked, 40) << "the table itself";
  EXPECT_TRUE(keys["peer 1"].count("url"));
}

TEST(Ini, LongLinesAreRefusedWhole) {
  std::string url = "http://example.com/" + std::string(300, 'a');
  std::string e = config_error("[peers]\nurl = " + url + "\n[node]\nport = 8080\n");
  EXPECT_NE(e.find("F:2: line longer than"), std::string::npos) << e;
  EXPECT_EQ(e.find("unknown key"), std::string::npos) << "no half line read as a key: " << e;
}

TEST(Ini, PeersFileIsRelativeToTheIniFile) {
  char dir_template[] = "/tmp/pingmesh-dir-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/peers.txt") << "http://relative.example/\n";
  std::ofstream(dir + "/p.ini") << "[peers]\nfile = peers.txt\n";
  const Config c = load(dir + "/p.ini").config;
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].url.host, "relative.example");
  std::remove((dir + "/peers.txt").c_str());
  std::remove((dir + "/p.ini").c_str());
  rmdir(dir.c_str());
}

TEST(Ini, DnsServersAndEmptyPeerPin) {
  EXPECT_NE(config_error("[node]\nport = 1\ndns_servers = 127.0.0.1:53, [::1]:5353, resolver\n")
                .find("F:3: dns_servers: 'resolver' is not IP[:port]"),
            std::string::npos);
  TempFile f(
      "[tls]\npin_sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
      "[peer a]\nurl = https://a.example/\npin_sha256 =\n[peer b]\nurl = https://b.example/\n");
  const Config c = load(f.path).config;
  EXPECT_EQ(c.peers.at(0).tls.pin_sha256, "") << "an empty pin clears the node's";
  EXPECT_EQ(c.peers.at(1).tls.pin_sha256, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

TEST(Ini, CloudWatchSettingsAndSecretsNeverPrinted) {
  TempFile f(
      "[node]\nport = 8080\n[cloudwatch]\nenabled = yes\nmode = compat\nregion = eu-west-1\nperiod "
      "= 1\n"
      "access_key_id = AKIDEXAMPLE\nsecret_access_key = s3cr3t-from-file\n"
      "dimensions = to, url\n");
  auto loaded = load(f.path, {},
                     {{"AWS_SESSION_TOKEN", "t0k3n-from-env"},
                      {"AWS_DEFAULT_REGION", "us-west-2"},
                      {"AWS_ENDPOINT_URL", "http://127.0.0.1:9/"}});
  const auto& cw = loaded.config.cloudwatch;
  EXPECT_TRUE(cw.enabled);
  EXPECT_EQ(cw.mode, Config::CloudWatch::Mode::compat);
  EXPECT_EQ(cw.region, "us-west-2") << "the environment beats the file";
  EXPECT_EQ(cw.period_s, 1);
  EXPECT_EQ(cw.secret_access_key, "s3cr3t-from-file");
  EXPECT_EQ(cw.session_token, "t0k3n-from-env");
  EXPECT_EQ(cw.endpoint, "http://127.0.0.1:9/");
  EXPECT_FALSE(cw.dimension_from);
  EXPECT_TRUE(cw.dimension_to && cw.dimension_url);
  std::string shown = describe(loaded.config);
  EXPECT_EQ(shown.find("s3cr3t"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("t0k3n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("secret_access_key = (set, not shown)"), std::string::npos);
}

TEST(Ini, DnsServerForms) {
  for (const char* ok : {"127.0.0.1", "::1", "[::1]:53, 127.0.0.1:5353"}) {
    TempFile f(std::string("[node]\nport = 1\ndns_servers = ") + ok + "\n");
    EXPECT_EQ(load(f.path).config.dns_servers, ok);
  }
  for (const char* bad : {"[::1]x", "1.2.3.4:0", "[::1", "host:53"})
    EXPECT_NE(config_error(std::string("[node]\nport = 1\ndns_servers = ") + bad + "\n")
                  .find("is not IP[:port]"),
              std::string::npos)
        << bad;
}

// The same address forms as dns_servers, with the port required.
TEST(Ini, PrometheusListenForms) {
  for (const char* ok : {"127.0.0.1:9464", "[::1]:9464"}) {
    TempFile f(std::string("[node]\nport = 1\n[prometheus]\nlisten = ") + ok + "\n");
    EXPECT_EQ(load(f.path).config.prometheus_listen, ok);
  }
  for (const char* bad : {"127.0.0.1", "::1:9464", "[::1]", "[::1]:0", "localhost:9464"})
    EXPECT_NE(config_error(std::string("[node]\nport = 1\n[prometheus]\nlisten = ") + bad + "\n")
                  .find("is not ADDRESS:PORT"),
              std::string::npos)
        << bad;
}

// 4 GiB on every architecture: a 32-bit long (armhf) once refused every value.
TEST(Ini, SpoolBoundReachesFourGiB) {
  TempFile f("[node]\nport = 1\n[cloudwatch]\nspool_max_bytes = 4294967296\n");
  EXPECT_EQ(load(f.path).config.cloudwatch.spool_max_bytes, int64_t(1) << 32);
  EXPECT_NE(config_error("[node]\nport = 1\n[cloudwatch]\nspool_max_bytes = 4294967297\n")
                .find("from 65536 to 4294967296"),
            std::string::npos);
}

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pingmesh-dir-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string load_error(const std::string& path) {
  try {
    load(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Ini, OnlyRegularFilesAreRead) {
  TempDir dir;
  EXPECT_EQ(load_error(dir.path), dir.path + ": cannot read the configuration file: a directory");
  EXPECT_EQ(load_error("/dev/null"),
            "/dev/null: cannot read the configuration file: not a regular file");
  EXPECT_NE(config_error("[peers]\nfile = " + dir.path + "\n")
                .find("F:2: file: cannot read '" + dir.path + "': a directory"),
            std::string::npos);
  EXPECT_NE(config_error("[peers]\nfile = /dev/null\n").find("F:2: file: cannot read '/dev/null'"),
            std::string::npos);
}

TEST(Ini, EndlessFilesAreRefusedAtOnce) {
  // /dev/zero never ends: once, reading it spun forever.
  EXPECT_NE(load_error("/dev/zero").find("not a regular file"), std::string::npos);
  EXPECT_NE(config_error("[peers]\nfile = /dev/zero\n").find("not a regular file"),
            std::string::npos);
  TempFile f(
      "[node]\nport = 1\n[cloudwatch]\nenabled = yes\nregion = eu-west-1\n"
      "credentials_file = /dev/zero\n");
  EXPECT_FALSE(load(f.path).config.cloudwatch.enabled) << "no credentials: publishing is off";
  TempFile creds("[default]\naws_access_key_id = AKID\naws_secret_access_key = s\n");
  TempFile g(
      "[node]\nport = 1\n[cloudwatch]\nenabled = yes\nregion = eu-west-1\n"
      "credentials_file = " +
      creds.path + "\n");
  EXPECT_EQ(load(g.path).config.cloudwatch.access_key_id, "AKID");
}

TEST(Ini, FilesOverOneMebibyteAreRefused) {
  std::string comments;
  while (comments.size() <= (1u << 20)) comments += "; a comment line to fill the file\n";
  EXPECT_EQ(config_error(comments + "[node]\nport = 1\n"),
            "F: cannot read the configuration file: larger than 1048576 bytes");
  TempFile peers(comments + "http://p.example/\n");
  EXPECT_NE(config_error("[node]\nport = 1\n[peers]\nfile = " + peers.path + "\n")
                .find("F:4: file: cannot read '" + peers.path + "': larger than 1048576 bytes"),
            std::string::npos);
  // Just under the bound is fine.
  TempFile fits(comments.substr(0, (1u << 20) - 20) + "\n[node]\nport = 1\n");
  EXPECT_EQ(load(fits.path).config.serve_port, 1);
}

TEST(Ini, NulBytesAreRefusedWithTheirLine) {
  std::string e = config_error("[node]\nport = 1\nlocation = a\0b\nhostname = h\n"s);
  EXPECT_NE(e.find("F:3: NUL byte"), std::string::npos) << e;
  EXPECT_EQ(e.find("F:4"), std::string::npos) << "the next line is read as it is: " << e;
  TempFile peers("http://a.example/\nhttp://b.example/\0x\n"s);
  e = config_error("[node]\nport = 1\n[peers]\nfile = " + peers.path + "\n");
  EXPECT_NE(e.find(peers.path + ":2: NUL byte"), std::string::npos) << e;
}

TEST(Ini, LongPeersFileLinesAreRefusedWhole) {
  std::string url = "http://example.com/" + std::string(5000, 'a') + "x.example";
  TempFile peers("http://ok.example/\n" + url + "\n");
  std::string e = config_error("[node]\nport = 1\n[peers]\nfile = " + peers.path + "\n");
  EXPECT_NE(e.find(peers.path + ":2: line longer than 4096 characters"), std::string::npos) << e;
  // Once, the tail of such a line became a second peer.
  TempFile ok("http://ok.example/\n");
  TempFile f("[peers]\nfile = " + ok.path + "\n");
  EXPECT_EQ(load(f.path).config.peers.size(), 1u);
}

// Every path in the file is relative to the file's folder; on the command line, to the
// working directory.
TEST(Ini, EveryPathInTheFileIsRelativeToIt) {
  TempDir dir;
  std::ofstream(dir.path + "/p.ini")
      << "[node]\ncert = c.pem\nkey = keys/k.pem\n[tls]\nca_file = ca.pem\n"
         "[cloudwatch]\ncredentials_file = creds\nspool_dir = spool\n"
         "[peer a]\nurl = https://a.example/\nca_file = ../a-ca.pem\n"
         "[peer b]\nurl = https://b.example/\nca_file = /etc/hostname\n"
         "[peers]\nurl = https://c.example/\n";
  Config c = load(dir.path + "/p.ini", {"-k"}).config;
  EXPECT_EQ(c.cert_file, dir.path + "/c.pem");
  EXPECT_EQ(c.key_file, dir.path + "/keys/k.pem");
  EXPECT_EQ(c.tls.ca_file, dir.path + "/ca.pem");
  EXPECT_EQ(c.cloudwatch.credentials_file, dir.path + "/creds");
  EXPECT_EQ(c.cloudwatch.spool_dir, dir.path + "/spool");
  ASSERT_EQ(c.peers.size(), 3u);
  EXPECT_EQ(c.peers[0].tls.ca_file, dir.path + "/ca.pem") << "the node's, resolved";
  EXPECT_EQ(c.peers[1].tls.ca_file, dir.path + "/../a-ca.pem");
  EXPECT_EQ(c.peers[2].tls.ca_file, "/etc/hostname") << "absolute stays";
  c = load(dir.path + "/p.ini", {"-k", "--cert", "mine.pem", "--ca-file", "cl/ca.pem"}).config;
  EXPECT_EQ(c.cert_file, "mine.pem") << "the command line's: the working directory's";
  EXPECT_EQ(c.tls.ca_file, "cl/ca.pem");
  EXPECT_EQ(c.key_file, dir.path + "/keys/k.pem");
  // An empty value keeps its meaning (the default), and is not made a folder.
  std::ofstream(dir.path + "/e.ini") << "[cloudwatch]\ncredentials_file =\n[node]\nport = 1\n";
  EXPECT_EQ(load(dir.path + "/e.ini").config.cloudwatch.credentials_file, "");
}
