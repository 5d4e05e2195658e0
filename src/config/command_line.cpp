#include <charconv>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <uv.h>

#include "config/config.hpp"

namespace pingmesh {

namespace {

const char kUsage[] =
    "Usage: pingmesh [flags] endpoints...\n"
    "endpoints: zero or more URLs, each optionally followed by #Location; they are\n"
    "probed every -d seconds. With -s PORT, pingmesh also answers probes on PORT.\n"
    "Interrupt with ^C (SIGINT) or SIGTERM to print each peer's summary.\n"
    "\n"
    "Flags:\n"
    "  -d N                 seconds between probes of one peer (default 10)\n"
    "  -n N                 probes per peer, 0 = until interrupted (default 0)\n"
    "  -f N                 failures before a peer is given up (default 100)\n"
    "  -s PORT              serve /v1/ping and /v1/peers on PORT, IPv4 and IPv6 (default 0: off)\n"
    "  -r PORT              port reported to others as SrvPort (default: the -s port)\n"
    "  -c                   publish to AWS CloudWatch\n"
    "  -L LOCATION          this node's location (default: REP_LOCATION, REP_CITY,REP_COUNTRY,\n"
    "                       else a local IP address)\n"
    "  -H NAME              this node's hostname, for display\n"
    "  -I IP                connect to IP instead of resolving each peer's host\n"
    "  -v / -V / -q         more verbose / even more verbose / quiet (summaries only)\n"
    "  --timeout S          seconds a whole probe may take (default 10)\n"
    "  --connect-timeout S  seconds a TCP connect may take (default 3)\n"
    "  --dns-server LIST    DNS servers to ask, e.g. 127.0.0.1:5353 (default: the system's)\n"
    "  --help, --version\n"
    "\n"
    "Environment: PINGMESH_DELAY, PINGMESH_LIMIT, PINGMESH_MAXFAIL override -d, -n, -f;\n"
    "PINGMESH_URL adds a peer; PINGMESH_HOSTNAME sets -H when it is not given.\n"
    "Exit codes: 0 success, 1 runtime failure, 64 bad usage.\n";

struct Flag {
  std::string_view name;
  bool takes_value;
};

constexpr Flag kFlags[] = {
    {"d", true},          {"n", true},
    {"f", true},          {"s", true},
    {"r", true},          {"c", false},
    {"v", false},         {"V", false},
    {"q", false},         {"L", true},
    {"H", true},          {"I", true},
    {"timeout", true},    {"connect-timeout", true},
    {"dns-server", true}, {"help", false},
    {"h", false},         {"version", false},
};

std::optional<long> to_long(std::string_view s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

int int_flag(std::string_view flag, std::string_view value, long min, long max) {
  auto v = to_long(value);
  if (!v || *v < min || *v > max)
    throw UsageError("flag -" + std::string(flag) + ": '" + std::string(value) +
                     "' is not a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max));
  return int(*v);
}

double seconds_flag(std::string_view flag, std::string_view value, double min, double max) {
  std::string text(value);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= min && v <= max))
    throw UsageError("flag --" + std::string(flag) + ": '" + text +
                     "' is not a number of seconds from " + std::to_string(min).substr(0, 3) +
                     " to " + std::to_string(int(max)));
  return v;
}

bool bool_value(std::string_view flag, std::optional<std::string_view> value) {
  if (!value || *value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  throw UsageError("flag -" + std::string(flag) + " takes no value, or true/false");
}

// The original's environment overrides: integers >= 1, else a warning and the flag stands.
void env_override(const GetEnv& getenv, const char* name, const char* flag, bool flag_given,
                  int& target, std::vector<std::string>& notices) {
  const char* text = getenv(name);
  if (!text) return;
  auto v = to_long(text);
  if (!v || *v < 1 || *v > 1000000000) {
    notices.push_back(std::string("Warning: ") + name + " environment is " + text +
                      " -- value must be int > 0.  Using -" + flag + " " + std::to_string(target) +
                      " instead");
    return;
  }
  if (flag_given)
    notices.push_back(std::string("Note: ") + name + " from environment, " + std::to_string(*v) +
                      " overrides -" + flag + " " + std::to_string(target));
  target = int(*v);
}

void add_peer(Config& c, std::string_view arg) {
  PeerArg pa = split_peer_arg(arg);
  std::string error;
  auto url = parse_url(pa.url, &error);
  if (!url) throw UsageError(error);
  c.peers.push_back({std::move(*url), pa.location});
}

}  // namespace

const char* usage_text() {
  return kUsage;
}

CommandLine parse_command_line(int argc, const char* const* argv, const GetEnv& getenv) {
  CommandLine cl;
  Config& c = cl.config;
  bool verbose = false, very_verbose = false, quiet = false;
  bool given_d = false, given_n = false, given_f = false;
  std::vector<std::string_view> endpoints;
  bool flags_done = false;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      endpoints.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    // Go's flag syntax: -name, --name, -name=value, -name value.
    std::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string_view> value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const Flag* flag = nullptr;
    for (const auto& f : kFlags)
      if (f.name == body) flag = &f;
    if (!flag) throw UsageError("unknown flag '" + std::string(arg) + "'");
    if (flag->takes_value && !value) {
      if (i + 1 >= argc) throw UsageError("flag -" + std::string(body) + " needs a value");
      value = argv[++i];
    }
    std::string_view v = value.value_or("");
    const std::string_view n = flag->name;
    if (n == "d")
      c.delay_s = int_flag(n, v, 1, 86400), given_d = true;
    else if (n == "n")
      c.limit = int_flag(n, v, 0, 1000000000), given_n = true;
    else if (n == "f")
      c.max_failures = int_flag(n, v, 1, 1000000000), given_f = true;
    else if (n == "s")
      c.serve_port = int_flag(n, v, 0, 65535);
    else if (n == "r")
      c.report_port = int_flag(n, v, 0, 65535);
    else if (n == "c")
      c.cloudwatch = bool_value(n, value);
    else if (n == "v")
      verbose = bool_value(n, value);
    else if (n == "V")
      very_verbose = bool_value(n, value);
    else if (n == "q")
      quiet = bool_value(n, value);
    else if (n == "L")
      c.location = v;
    else if (n == "H")
      c.hostname = v;
    else if (n == "I")
      c.ip_override = v;
    else if (n == "timeout")
      c.timeout_s = seconds_flag(n, v, 0.1, 300);
    else if (n == "connect-timeout")
      c.connect_timeout_s = seconds_flag(n, v, 0.1, 300);
    else if (n == "dns-server")
      c.dns_servers = v;
    else if (n == "help" || n == "h")
      cl.action = CommandLine::Action::help;
    else if (n == "version")
      cl.action = CommandLine::Action::version;
  }
  if (cl.action != CommandLine::Action::run) return cl;

  c.verbosity = 1 + (verbose ? 1 : 0) + (very_verbose ? 2 : 0);
  if (quiet) c.verbosity = 0;
  if (!c.ip_override.empty()) {
    unsigned char addr[16];
    if (uv_inet_pton(AF_INET, c.ip_override.c_str(), addr) != 0 &&
        uv_inet_pton(AF_INET6, c.ip_override.c_str(), addr) != 0)
      throw UsageError("flag -I: '" + c.ip_override + "' is not an IP address");
  }

  if (c.location.empty()) {
    const char* loc = getenv("REP_LOCATION");
    const char* city = getenv("REP_CITY");
    const char* country = getenv("REP_COUNTRY");
    if (loc && *loc)
      c.location = loc;
    else if (city && *city && country && *country)
      c.location = std::string(city) + "," + country;
    else
      c.location = std::string(city ? city : "") + (country ? country : "");
  }
  if (c.hostname.empty())
    if (const char* h = getenv("PINGMESH_HOSTNAME")) c.hostname = h;

  env_override(getenv, "PINGMESH_DELAY", "d", given_d, c.delay_s, cl.notices);
  env_override(getenv, "PINGMESH_LIMIT", "n", given_n, c.limit, cl.notices);
  env_override(getenv, "PINGMESH_MAXFAIL", "f", given_f, c.max_failures, cl.notices);

  for (auto e : endpoints) add_peer(c, e);
  if (const char* u = getenv("PINGMESH_URL")) add_peer(c, u);
  if (c.peers.empty() && c.serve_port == 0)
    throw UsageError("nothing to do: give peer URLs to probe, or -s PORT to serve");
  if (c.connect_timeout_s > c.timeout_s) c.connect_timeout_s = c.timeout_s;
  return cl;
}

}  // namespace pingmesh
