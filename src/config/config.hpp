// The daemon's settings, typed and validated. They come from built-in defaults, then
// the ini file, then the environment, then the command line: each later one wins.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/url.hpp"

namespace pingmesh {

// Documented exit codes (also in the README and the man page).
enum ExitCode : int { exit_ok = 0, exit_failure = 1, exit_usage = 64, exit_config = 78 };

inline constexpr const char* kDefaultConfigPath = "/etc/pingmesh/pingmesh.ini";

// TLS checks for https peers; a peer section may override the node's.
struct PeerTls {
  bool verify = true;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string pin_sha256;  // base64 SPKI pin; empty = none
  bool resume = false;
  bool operator==(const PeerTls&) const = default;
};

struct PeerSpec {
  Url url;
  std::string name;      // a [peer NAME] section's name
  std::string location;  // from URL#Location or the ini; empty = learn it
  std::string address;   // connect here instead of resolving; empty: the node's (-I)
  int delay_s = 0;       // 0: the node's
  std::optional<int> limit, max_failures;  // the node's when unset (the API may set them)
  // A [peer] section's own TLS settings; what it does not set is the node's.
  struct {
    std::optional<bool> verify, resume;
    std::optional<std::string> ca_file, pin_sha256;
  } tls_override;
  PeerTls tls;        // resolved: the node's, with the overrides
  std::string place;  // "command line", "file:line", "api": for messages

  // Whose samples these are, whatever the peer says of itself: the configured name or
  // location, else the URL as configured (query included). Labels and dimensions use it.
  std::string identity() const;
};

struct Config {
  // The node.
  std::string location;  // empty: the daemon uses a local IP address
  std::string hostname;
  std::vector<std::string> listen = {"0.0.0.0", "::"};
  int serve_port = 0;  // 0: no http responder
  int report_port = 0;
  int tls_port = 0;  // 0: no https responder
  std::string cert_file, key_file;
  enum class ProbeSelf { automatic, yes, no } probe_self = ProbeSelf::automatic;

  // Probing.
  int delay_s = 10;
  int limit = 0;
  int max_failures = 100;
  double timeout_s = 10;
  double connect_timeout_s = 3;
  double tls_timeout_s = 5;
  // Report phases as the kernel timed them (where it did), or as the loop saw them.
  enum class Timing { kernel, user } timing = Timing::kernel;
  double disturbed_margin_s = 0.001;  // loop time beyond the kernel's that marks a sample
  double disturbed_work_s = 0.005;    // other work during a probe that marks it
  std::string dns_servers;            // empty: the system's resolvers
  std::string ip_override;            // -I, for command-line peers
  PeerTls tls;                        // the node's TLS checks, for peers that do not say otherwise
  std::vector<PeerSpec> peers;

  // Output and life.
  int verbosity = 1;  // 0 quiet ... 4 debug
  enum class Format { text, json, none } format = Format::text;
  double shutdown_timeout_s = 5;

  // Publishing to AWS CloudWatch.
  struct CloudWatch {
    bool enabled = false;
    enum class Mode { full, compat } mode = Mode::full;  // compat: the original's wire format
    std::string region;
    std::string endpoint;  // empty: https://monitoring.<region>.amazonaws.com/
    std::string ca_file;   // empty: the system's CAs, by subject hash in /etc/ssl/certs
    std::string metric_namespace = "pingmesh";
    int period_s = 60;  // aggregation period; 1 = high resolution
    bool dimension_from = true, dimension_to = true, dimension_url = false;
    std::string access_key_id, secret_access_key, session_token;  // secrets: never printed
    std::string profile = "default";
    std::string credentials_file;  // empty: ~/.aws/credentials
    bool imds = false;             // credentials from the EC2 instance metadata service (IMDSv2)
    std::string imds_endpoint = "http://169.254.169.254";
    std::string spool_dir;  // empty: $STATE_DIRECTORY/spool under systemd, else memory only
    int64_t spool_max_bytes = int64_t(64) << 20;

    bool operator==(const CloudWatch&) const = default;  // every key, so none is missed
  } cloudwatch;

  // The mesh.
  int max_peers = 10000;  // of every origin together; labels and memory are bounded by it
  // Changes through the API from other hosts need this bearer token (never printed);
  // loopback needs none. The file, when named, holds it (read at load and reload).
  std::string api_token, api_token_file;
  std::string state_dir;  // the API's peers are kept here; empty: $STATE_DIRECTORY, else none
  // Peer exchange: the configured peers (identities, or "*") whose /v1/peers we import.
  std::vector<std::string> exchange_from;
  int exchange_interval_s = 60;
  // DNS discovery: a name whose A/AAAA records are the members, or SRV records when it
  // starts with '_' (_pingmesh._tcp.example.).
  struct Discovery {
    std::string name;  // empty: off
    int port = 0;      // A/AAAA members' port; 0: this node's own
    bool https = false;
    int min_ttl_s = 5, max_ttl_s = 300;  // re-resolved at the TTL, within these
    int grace_s = 60;                    // a member missing this long is removed
    int fanout = 0;  // probe about this many members, every pair still covered; 0: all
  } discovery;

  bool prometheus_enabled = true;  // GET /metrics on the responder
  // "ADDRESS:PORT" ("[::1]:9464"): /metrics on a listener of its own instead, so that
  // scrapes can be allowed apart from the mesh's probes. Applies at start.
  std::string prometheus_listen;

  // The page (GET /): it reloads itself, and others' listings are read while it is
  // watched, every page_refresh_s; at most page_sources listings a round.
  int page_refresh_s = 10;
  int page_sources = 64;

  // Where it came from.
  std::string config_path;  // empty when no file was read
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration error that names its place: "file:line: key: why".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using GetEnv = std::function<const char*(const char* name)>;

// The command line, read for syntax only; its settings are applied last, by load_config.
struct CommandLine {
  enum class Action { run, help, version, check_config } action = Action::run;
  std::optional<std::string> config_path;  // -C / --config
  struct Use {
    const struct Setting* setting;
    std::string value;
  };
  std::vector<Use> settings;  // in the order given
  bool verbose = false, very_verbose = false, quiet = false;
  std::vector<std::string> endpoints;
};

// Throws UsageError naming the bad flag.
CommandLine parse_command_line(int argc, const char* const* argv);

struct LoadedConfig {
  Config config;
  std::vector<std::string> notices;  // warnings to log once logging is set up
};

// Defaults, then the ini file (the -C one, else the default path if it exists), then
// the environment, then the command line. Throws ConfigError for the file (exit 78),
// UsageError for the command line (exit 64).
LoadedConfig load_config(const CommandLine& cl, const GetEnv& getenv);

// Fills the credentials from the shared credentials file (credentials_file, else
// $HOME/.aws/credentials) for the profile; false when it has none.
bool read_shared_credentials(Config::CloudWatch& cw, const GetEnv& getenv);

// The effective configuration as an ini file, secrets masked (--check-config).
std::string describe(const Config& c);

// --help. Written at build time from the docs table (config/docs.cpp) by man/render_docs,
// into usage.cpp, so the daemon carries the text and not the table.
const char* usage_text();

}  // namespace pingmesh
