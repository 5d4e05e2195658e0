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
    "  -j, --format F       per-probe output: text (default) or json (one object per line)\n"
    "TLS, probing https:// peers:\n"
    "  -k                   do not verify certificates (self-signed meshes)\n"
    "  --ca-file FILE       trusted CAs (default /etc/ssl/certs/ca-certificates.crt)\n"
    "  --pin-sha256 B64     require this public key: base64 SHA-256 of its SubjectPublicKeyInfo\n"
    "  --tls-resume         allow session resumption (default: a full handshake every probe)\n"
    "  --tls-timeout S      seconds a TLS handshake may take (default 5)\n"
    "TLS, answering:\n"
    "  --tls-port PORT      also serve https on PORT, with --cert FILE and --key FILE (PEM)\n"
    "  --help, --version\n"
    "\n"
    "Environment: PINGMESH_DELAY, PINGMESH_LIMIT, PINGMESH_MAXFAIL override -d, -n, -f;\n"
    "PINGMESH_URL adds a peer; PINGMESH_HOSTNAME sets -H when it is not given.\n"
    "Exit codes: 0 success, 1 runtime failure, 64 bad usage.\n";

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

Config::Format format_flag(std::string_view v) {
  if (v == "text") return Config::Format::text;
  if (v == "json") return Config::Format::json;
  throw UsageError("flag --format: '" + std::string(v) + "' is not text or json");
}

// A base64 SHA-256 (44 characters ending in '='); curl's "sha256//" prefix is accepted.
std::string pin_flag(std::string_view v) {
  if (v.starts_with("sha256//")) v.remove_prefix(8);
  bool ok = v.size() == 44 && v.back() == '=' &&
            v.substr(0, 43).find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
                std::string_view::npos;
  if (!ok) throw UsageError("flag --pin-sha256: '" + std::string(v) + "' is not a base64 SHA-256");
  return std::string(v);
}

void add_peer(Config& c, std::string_view arg) {
  PeerArg pa = split_peer_arg(arg);
  std::string error;
  auto url = parse_url(pa.url, &error);
  if (!url) throw UsageError(error);
  c.peers.push_back({std::move(*url), pa.location});
}

}  // namespace

namespace {

// What the flags set besides Config itself.
struct ParseState {
  CommandLine& cl;
  bool verbose = false, very_verbose = false, quiet = false;
  bool given_d = false, given_n = false, given_f = false;
};

struct FlagValue {
  std::string_view flag;
  std::optional<std::string_view> raw;
  std::string_view text() const { return raw.value_or(""); }
  int integer(long min, long max) const { return int_flag(flag, text(), min, max); }
  double seconds() const { return seconds_flag(flag, text(), 0.1, 300); }
  bool boolean() const { return bool_value(flag, raw); }
};

struct Flag {
  std::string_view name;
  bool takes_value;
  void (*apply)(ParseState& s, const FlagValue& v);
};

using S = ParseState;
using V = FlagValue;

// Go's flag syntax, as the original: -name, --name, -name=value, -name value.
constexpr Flag kFlags[] = {
    {"d", true,
     [](S& s, const V& v) { s.cl.config.delay_s = v.integer(1, 86400), s.given_d = true; }},
    {"n", true,
     [](S& s, const V& v) { s.cl.config.limit = v.integer(0, 1000000000), s.given_n = true; }},
    {"f", true,
     [](S& s, const V& v) {
       s.cl.config.max_failures = v.integer(1, 1000000000), s.given_f = true;
     }},
    {"s", true, [](S& s, const V& v) { s.cl.config.serve_port = v.integer(0, 65535); }},
    {"r", true, [](S& s, const V& v) { s.cl.config.report_port = v.integer(0, 65535); }},
    {"c", false, [](S& s, const V& v) { s.cl.config.cloudwatch = v.boolean(); }},
    {"v", false, [](S& s, const V& v) { s.verbose = v.boolean(); }},
    {"V", false, [](S& s, const V& v) { s.very_verbose = v.boolean(); }},
    {"q", false, [](S& s, const V& v) { s.quiet = v.boolean(); }},
    {"L", true, [](S& s, const V& v) { s.cl.config.location = v.text(); }},
    {"H", true, [](S& s, const V& v) { s.cl.config.hostname = v.text(); }},
    {"I", true, [](S& s, const V& v) { s.cl.config.ip_override = v.text(); }},
    {"timeout", true, [](S& s, const V& v) { s.cl.config.timeout_s = v.seconds(); }},
    {"connect-timeout", true,
     [](S& s, const V& v) { s.cl.config.connect_timeout_s = v.seconds(); }},
    {"dns-server", true, [](S& s, const V& v) { s.cl.config.dns_servers = v.text(); }},
    {"j", false,
     [](S& s, const V& v) {
       if (v.boolean()) s.cl.config.format = Config::Format::json;
     }},
    {"format", true, [](S& s, const V& v) { s.cl.config.format = format_flag(v.text()); }},
    {"k", false, [](S& s, const V& v) { s.cl.config.tls_verify = !v.boolean(); }},
    {"ca-file", true, [](S& s, const V& v) { s.cl.config.ca_file = v.text(); }},
    {"pin-sha256", true, [](S& s, const V& v) { s.cl.config.pin_sha256 = pin_flag(v.text()); }},
    {"tls-resume", false, [](S& s, const V& v) { s.cl.config.tls_resume = v.boolean(); }},
    {"tls-timeout", true, [](S& s, const V& v) { s.cl.config.tls_timeout_s = v.seconds(); }},
    {"tls-port", true, [](S& s, const V& v) { s.cl.config.tls_port = v.integer(1, 65535); }},
    {"cert", true, [](S& s, const V& v) { s.cl.config.cert_file = v.text(); }},
    {"key", true, [](S& s, const V& v) { s.cl.config.key_file = v.text(); }},
    {"help", false, [](S& s, const V&) { s.cl.action = CommandLine::Action::help; }},
    {"h", false, [](S& s, const V&) { s.cl.action = CommandLine::Action::help; }},
    {"version", false, [](S& s, const V&) { s.cl.action = CommandLine::Action::version; }},
};

}  // namespace

const char* usage_text() {
  return kUsage;
}

bool Config::any_https_peer() const {
  for (const auto& p : peers)
    if (p.url.tls()) return true;
  return false;
}

CommandLine parse_command_line(int argc, const char* const* argv, const GetEnv& getenv) {
  CommandLine cl;
  Config& c = cl.config;
  ParseState state{cl};
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
    flag->apply(state, FlagValue{flag->name, value});
  }
  if (cl.action != CommandLine::Action::run) return cl;

  c.verbosity = 1 + (state.verbose ? 1 : 0) + (state.very_verbose ? 2 : 0);
  if (state.quiet) c.verbosity = 0;
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

  env_override(getenv, "PINGMESH_DELAY", "d", state.given_d, c.delay_s, cl.notices);
  env_override(getenv, "PINGMESH_LIMIT", "n", state.given_n, c.limit, cl.notices);
  env_override(getenv, "PINGMESH_MAXFAIL", "f", state.given_f, c.max_failures, cl.notices);

  for (auto e : endpoints) add_peer(c, e);
  if (const char* u = getenv("PINGMESH_URL")) add_peer(c, u);
  if (c.peers.empty() && c.serve_port == 0 && c.tls_port == 0)
    throw UsageError("nothing to do: give peer URLs to probe, or -s PORT to serve");
  if (c.tls_port && (c.cert_file.empty() || c.key_file.empty()))
    throw UsageError("flag --tls-port needs --cert FILE and --key FILE");
  if (c.connect_timeout_s > c.timeout_s) c.connect_timeout_s = c.timeout_s;
  return cl;
}

}  // namespace pingmesh
