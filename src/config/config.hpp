// The daemon's settings, typed and validated, from the command line and the
// environment (the ini file joins in a later issue).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/url.hpp"

namespace pingmesh {

// Documented exit codes.
enum ExitCode : int { exit_ok = 0, exit_failure = 1, exit_usage = 64 };

struct PeerSpec {
  Url url;
  std::string location;  // from URL#Location; empty = learn it
};

struct Config {
  int delay_s = 10;
  int limit = 0;
  int max_failures = 100;
  int serve_port = 0;  // 0: no responder
  int report_port = 0;
  bool cloudwatch = false;
  int verbosity = 1;
  std::string location;  // empty: the daemon uses a local IP address
  std::string hostname;
  std::string ip_override;
  std::vector<PeerSpec> peers;
  double timeout_s = 10;
  double connect_timeout_s = 3;
  std::string dns_servers;  // empty: the system's resolvers
  enum class Format { text, json } format = Format::text;

  // TLS, probe side.
  bool tls_verify = true;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string pin_sha256;  // base64 SPKI pin for the command-line peers
  bool tls_resume = false;
  double tls_timeout_s = 5;
  // TLS, responder side.
  int tls_port = 0;
  std::string cert_file, key_file;

  bool any_https_peer() const;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommandLine {
  enum class Action { run, help, version } action = Action::run;
  Config config;
  std::vector<std::string> notices;  // log lines for the daemon to print once logging is set
};

using GetEnv = std::function<const char*(const char* name)>;

// Throws UsageError naming the bad flag, value or URL.
CommandLine parse_command_line(int argc, const char* const* argv, const GetEnv& getenv);

const char* usage_text();

}  // namespace pingmesh
