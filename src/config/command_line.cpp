// The command line: Go's flag syntax, as the original's (-name, --name, -name=value,
// -name value), read for syntax here and applied last by load_config.
#include <string_view>

#include "config/config.hpp"
#include "config/settings.hpp"

namespace pingmesh {

namespace {

const char kUsage[] =
    "Usage: pingmesh [flags] endpoints...\n"
    "       pingmesh peers [-k] URL   print a node's peers (its /v1/peers) as a table\n"
    "endpoints: zero or more URLs, each optionally followed by #Location; they are\n"
    "probed every -d seconds. With -s PORT, pingmesh also answers probes on PORT.\n"
    "Interrupt with ^C (SIGINT) or SIGTERM to print each peer's summary.\n"
    "\n"
    "Flags (each has an ini key; see the README):\n"
    "  -C, --config FILE    the ini file (default /etc/pingmesh/pingmesh.ini, if present)\n"
    "  --check-config       validate, print the effective configuration, exit 0 or 78\n"
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
    "  -j, --format F       per-probe output: text (default), json (one object per line), none\n"
    "  --shutdown-timeout S seconds to finish probes and flush on SIGTERM (default 5)\n"
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
    "Precedence: command line, then environment (PINGMESH_DELAY, PINGMESH_LIMIT,\n"
    "PINGMESH_MAXFAIL, PINGMESH_HOSTNAME, REP_LOCATION, REP_CITY/REP_COUNTRY), then the ini\n"
    "file, then defaults. PINGMESH_URL adds a peer. SIGHUP re-reads the ini file.\n"
    "Exit codes: 0 success, 1 runtime failure, 64 bad usage, 78 bad configuration.\n";

}  // namespace

const char* usage_text() {
  return kUsage;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      cl.endpoints.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string_view> value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto take_value = [&]() -> std::string {
      if (value) return std::string(*value);
      if (i + 1 >= argc) throw UsageError("flag -" + std::string(name) + " needs a value");
      return argv[++i];
    };
    auto switch_on = [&]() {
      if (value && *value != "true" && *value != "1") {
        if (*value == "false" || *value == "0") return false;
        throw UsageError("flag -" + std::string(name) + " takes no value, or true/false");
      }
      return true;
    };

    if (name == "help" || name == "h") {
      cl.action = CommandLine::Action::help;
    } else if (name == "version") {
      cl.action = CommandLine::Action::version;
    } else if (name == "check-config") {
      cl.action = CommandLine::Action::check_config;
    } else if (name == "C" || name == "config") {
      cl.config_path = take_value();
    } else if (name == "v") {
      cl.verbose = switch_on();
    } else if (name == "V") {
      cl.very_verbose = switch_on();
    } else if (name == "q") {
      cl.quiet = switch_on();
    } else if (const Setting* s = find_setting_by_flag(name)) {
      if (s->takes_value) {
        cl.settings.push_back({s, take_value()});
      } else if (switch_on()) {
        cl.settings.push_back({s, ""});
      }
    } else {
      throw UsageError("unknown flag '" + std::string(arg) + "'");
    }
  }
  return cl;
}

}  // namespace pingmesh
