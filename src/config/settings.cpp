#include "config/settings.hpp"

#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <utility>
#include <vector>

#include "config/values.hpp"
#include "http/url.hpp"

namespace pingmesh {

namespace {

std::string set_int(int& target, std::string_view t, int64_t min, int64_t max) {
  auto v = values::integer(t, min, max);
  if (!v) return "'" + std::string(t) + "' is not " + values::integer_range(min, max);
  target = int(*v);
  return {};
}

std::string set_seconds(double& target, std::string_view t, double min, double max) {
  auto v = values::seconds(t, min, max);
  if (!v) return "'" + std::string(t) + "' is not " + values::seconds_range(min, max);
  target = *v;
  return {};
}

std::string set_bool(bool& target, std::string_view t) {
  auto v = values::boolean(t);
  if (!v) return "'" + std::string(t) + "' is not yes or no";
  target = *v;
  return {};
}

std::string set_text(std::string& target, std::string_view t) {
  target = t;
  return {};
}

std::string set_pin(std::string& target, std::string_view t) {
  if (t.empty()) return target.clear(), std::string();  // no pin
  auto v = values::pin(t);
  if (!v) return "'" + std::string(t) + "' is not a base64 SHA-256 (44 characters)";
  target = *v;
  return {};
}

std::string set_listen(Config& c, std::string_view t) {
  std::vector<std::string> out;
  for (auto item : values::list(t)) {
    if (!values::ip_address(item)) return "'" + std::string(item) + "' is not an IP address";
    out.emplace_back(item);
  }
  c.listen = std::move(out);
  return {};
}

// "127.0.0.1", "127.0.0.1:5353", "[::1]:53", comma separated, as c-ares takes them.
std::string set_dns_servers(Config& c, std::string_view t) {
  for (auto item : t.empty() ? std::vector<std::string_view>{} : values::list(t))
    if (!values::ip_port(item)) return "'" + std::string(item) + "' is not IP[:port]";
  c.dns_servers = t;
  return {};
}

// Settings that are one of a few words, each naming a value.
template <typename E>
using Words = std::initializer_list<std::pair<std::string_view, E>>;

template <typename E>
std::string set_word(E& target, std::string_view t, Words<E> words) {
  std::string list;  // "a, b or c"
  size_t i = 0;
  for (const auto& [word, value] : words) {
    if (t == word) return target = value, std::string();
    list += i == 0 ? "" : i + 1 == words.size() ? " or " : ", ";
    list += word;
    ++i;
  }
  return "'" + std::string(t) + "' is not " + list;
}

template <typename E>
std::string show_word(E value, Words<E> words) {
  for (const auto& [word, v] : words)
    if (v == value) return std::string(word);
  return {};
}

const Words<Config::CloudWatch::Mode> kCloudWatchModes = {
    {"full", Config::CloudWatch::Mode::full}, {"compat", Config::CloudWatch::Mode::compat}};
const Words<Config::Format> kFormats = {
    {"text", Config::Format::text}, {"json", Config::Format::json}, {"none", Config::Format::none}};
const Words<Config::Timing> kTimings = {{"kernel", Config::Timing::kernel},
                                        {"user", Config::Timing::user}};

// The requests are POSTs to the endpoint's path: SigV4 signs an empty query, so one in
// the URL (or a fragment, which is never sent) is refused rather than signed wrong.
std::string set_cloudwatch_endpoint(Config& c, std::string_view t) {
  std::string why;
  if (t.empty()) {
    c.cloudwatch.endpoint = t;
    return {};
  }
  auto url = parse_url(t, &why);
  if (!url) return why;
  if (t.find('#') != std::string_view::npos) return "the endpoint URL has a fragment ('#')";
  if (!url->query.empty() || t.find('?') != std::string_view::npos)
    return "the endpoint URL has a query ('?'): give the endpoint's path alone";
  c.cloudwatch.endpoint = t;
  return {};
}

std::string set_dimensions(Config& c, std::string_view t) {
  bool from = false, to = false, url = false;
  for (auto item : values::list(t)) {
    bool& flag = item == "from" ? from : item == "to" ? to : url;
    if (item != "from" && item != "to" && item != "url")
      return "'" + std::string(item) + "' is not from, to or url";
    flag = true;
  }
  auto& cw = c.cloudwatch;
  cw.dimension_from = from, cw.dimension_to = to, cw.dimension_url = url;
  return {};
}

std::string set_format(Config& c, std::string_view t) {
  return set_word(c.format, t, kFormats);
}

std::string set_verbosity(Config& c, std::string_view t) {
  static const char* names[] = {"quiet", "normal", "verbose", "very-verbose", "debug"};
  for (int i = 0; i < 5; ++i)
    if (t == names[i]) return c.verbosity = i, std::string();
  return set_int(c.verbosity, t, 0, 4).empty()
             ? std::string()
             : "'" + std::string(t) + "' is not 0-4 or quiet, normal, verbose, very-verbose, debug";
}

std::string set_probe_self(Config& c, std::string_view t) {
  if (t == "auto") return c.probe_self = Config::ProbeSelf::automatic, std::string();
  auto v = values::boolean(t);
  if (!v) return "'" + std::string(t) + "' is not auto, yes or no";
  c.probe_self = *v ? Config::ProbeSelf::yes : Config::ProbeSelf::no;
  return {};
}

std::string set_ip(std::string& target, std::string_view t) {
  if (!t.empty() && !values::ip_address(t)) return "'" + std::string(t) + "' is not an IP address";
  target = t;
  return {};
}

std::string show_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", s);
  return b;
}

std::string show_bool(bool b) {
  return b ? "yes" : "no";
}

std::string show_secret(const std::string& s) {
  return s.empty() ? std::string() : "(set, not shown)";
}

std::string show_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string show_probe_self(const Config& c) {
  return c.probe_self == Config::ProbeSelf::automatic ? "auto"
         : c.probe_self == Config::ProbeSelf::yes     ? "yes"
                                                      : "no";
}

std::string show_format(const Config& c) {
  return show_word(c.format, kFormats);
}

std::string show_dimensions(const Config& c) {
  const auto& cw = c.cloudwatch;
  std::vector<std::string> dims;
  if (cw.dimension_from) dims.emplace_back("from");
  if (cw.dimension_to) dims.emplace_back("to");
  if (cw.dimension_url) dims.emplace_back("url");
  return show_list(dims);
}

using C = Config;
using T = std::string_view;
constexpr bool path = true;

// Order: as --check-config prints them. Entries without a section (environment-only
// names, command-line spellings) show nothing: the entry with the ini key shows it.
const Setting kSettings[] = {
    {"node", "location", "L", nullptr, true, [](C& c, T t) { return set_text(c.location, t); },
     [](const C& c) { return c.location; }},
    {"node", "hostname", "H", "PINGMESH_HOSTNAME", true,
     [](C& c, T t) { return set_text(c.hostname, t); }, [](const C& c) { return c.hostname; }},
    {"node", "listen", nullptr, nullptr, true, set_listen,
     [](const C& c) { return show_list(c.listen); }},
    {"node", "port", "s", nullptr, true,
     [](C& c, T t) { return set_int(c.serve_port, t, 0, 65535); },
     [](const C& c) { return std::to_string(c.serve_port); }},
    {"node", "report_port", "r", nullptr, true,
     [](C& c, T t) { return set_int(c.report_port, t, 0, 65535); },
     [](const C& c) { return std::to_string(c.report_port); }},
    {"node", "tls_port", "tls-port", nullptr, true,
     [](C& c, T t) { return set_int(c.tls_port, t, 0, 65535); },
     [](const C& c) { return std::to_string(c.tls_port); }},
    {"node", "cert", "cert", nullptr, true, [](C& c, T t) { return set_text(c.cert_file, t); },
     [](const C& c) { return c.cert_file; }, path},
    // A path: the key itself is never printed.
    {"node", "key", "key", nullptr, true, [](C& c, T t) { return set_text(c.key_file, t); },
     [](const C& c) { return c.key_file; }, path},
    {"node", "probe_self", nullptr, nullptr, true, set_probe_self, show_probe_self},
    {"node", "delay", "d", "PINGMESH_DELAY", true,
     [](C& c, T t) { return set_int(c.delay_s, t, 1, 86400); },
     [](const C& c) { return std::to_string(c.delay_s); }},
    {"node", "limit", "n", "PINGMESH_LIMIT", true,
     [](C& c, T t) { return set_int(c.limit, t, 0, 1000000000); },
     [](const C& c) { return std::to_string(c.limit); }},
    {"node", "max_failures", "f", "PINGMESH_MAXFAIL", true,
     [](C& c, T t) { return set_int(c.max_failures, t, 1, 1000000000); },
     [](const C& c) { return std::to_string(c.max_failures); }},
    {"node", "timeout", "timeout", nullptr, true,
     [](C& c, T t) { return set_seconds(c.timeout_s, t, 0.1, 300); },
     [](const C& c) { return show_seconds(c.timeout_s); }},
    {"node", "connect_timeout", "connect-timeout", nullptr, true,
     [](C& c, T t) { return set_seconds(c.connect_timeout_s, t, 0.1, 300); },
     [](const C& c) { return show_seconds(c.connect_timeout_s); }},
    {"node", "tls_timeout", "tls-timeout", nullptr, true,
     [](C& c, T t) { return set_seconds(c.tls_timeout_s, t, 0.1, 300); },
     [](const C& c) { return show_seconds(c.tls_timeout_s); }},
    {"node", "timing", "timing", nullptr, true,
     [](C& c, T t) { return set_word(c.timing, t, kTimings); },
     [](const C& c) { return show_word(c.timing, kTimings); }},
    {"node", "disturbed_margin", "disturbed-margin", nullptr, true,
     [](C& c, T t) { return set_seconds(c.disturbed_margin_s, t, 0, 60); },
     [](const C& c) { return show_seconds(c.disturbed_margin_s); }},
    {"node", "disturbed_work", "disturbed-work", nullptr, true,
     [](C& c, T t) { return set_seconds(c.disturbed_work_s, t, 0, 60); },
     [](const C& c) { return show_seconds(c.disturbed_work_s); }},
    {"node", "dns_servers", "dns-server", nullptr, true, set_dns_servers,
     [](const C& c) { return c.dns_servers; }},
    {"node", "address", "I", nullptr, true, [](C& c, T t) { return set_ip(c.ip_override, t); },
     [](const C& c) { return c.ip_override; }},
    {"node", "output", "format", nullptr, true, set_format, show_format},
    {"node", "verbosity", nullptr, nullptr, true, set_verbosity,
     [](const C& c) { return std::to_string(c.verbosity); }},
    {"node", "shutdown_timeout", "shutdown-timeout", nullptr, true,
     [](C& c, T t) { return set_seconds(c.shutdown_timeout_s, t, 0.1, 15); },
     [](const C& c) { return show_seconds(c.shutdown_timeout_s); }},
    {"tls", "verify", nullptr, nullptr, true, [](C& c, T t) { return set_bool(c.tls.verify, t); },
     [](const C& c) { return show_bool(c.tls.verify); }},
    {"tls", "ca_file", "ca-file", nullptr, true,
     [](C& c, T t) { return set_text(c.tls.ca_file, t); }, [](const C& c) { return c.tls.ca_file; },
     path},
    {"tls", "pin_sha256", "pin-sha256", nullptr, true,
     [](C& c, T t) { return set_pin(c.tls.pin_sha256, t); },
     [](const C& c) { return c.tls.pin_sha256; }},
    {"tls", "resume", nullptr, nullptr, true, [](C& c, T t) { return set_bool(c.tls.resume, t); },
     [](const C& c) { return show_bool(c.tls.resume); }},
    {"cloudwatch", "enabled", nullptr, nullptr, true,
     [](C& c, T t) { return set_bool(c.cloudwatch.enabled, t); },
     [](const C& c) { return show_bool(c.cloudwatch.enabled); }},
    {"cloudwatch", "mode", nullptr, nullptr, true,
     [](C& c, T t) { return set_word(c.cloudwatch.mode, t, kCloudWatchModes); },
     [](const C& c) { return show_word(c.cloudwatch.mode, kCloudWatchModes); }},
    // AWS_REGION is applied after AWS_DEFAULT_REGION, so it wins, as in the AWS SDKs.
    {nullptr, "region", nullptr, "AWS_DEFAULT_REGION", true,
     [](C& c, T t) { return set_text(c.cloudwatch.region, t); }},
    {"cloudwatch", "region", nullptr, "AWS_REGION", true,
     [](C& c, T t) { return set_text(c.cloudwatch.region, t); },
     [](const C& c) { return c.cloudwatch.region; }},
    {nullptr, "endpoint", nullptr, "AWS_ENDPOINT_URL", true, set_cloudwatch_endpoint},
    {"cloudwatch", "endpoint", nullptr, "AWS_ENDPOINT_URL_CLOUDWATCH", true,
     set_cloudwatch_endpoint, [](const C& c) { return c.cloudwatch.endpoint; }},
    {"cloudwatch", "ca_file", nullptr, "AWS_CA_BUNDLE", true,
     [](C& c, T t) { return set_text(c.cloudwatch.ca_file, t); },
     [](const C& c) { return c.cloudwatch.ca_file; }, path},
    {"cloudwatch", "namespace", nullptr, nullptr, true,
     [](C& c, T t) { return set_text(c.cloudwatch.metric_namespace, t); },
     [](const C& c) { return c.cloudwatch.metric_namespace; }},
    {"cloudwatch", "period", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.cloudwatch.period_s, t, 1, 3600); },
     [](const C& c) { return std::to_string(c.cloudwatch.period_s); }},
    {"cloudwatch", "access_key_id", nullptr, "AWS_ACCESS_KEY_ID", true,
     [](C& c, T t) { return set_text(c.cloudwatch.access_key_id, t); },
     [](const C& c) { return c.cloudwatch.access_key_id; }},
    {"cloudwatch", "secret_access_key", nullptr, "AWS_SECRET_ACCESS_KEY", true,
     [](C& c, T t) { return set_text(c.cloudwatch.secret_access_key, t); },
     [](const C& c) { return show_secret(c.cloudwatch.secret_access_key); }},
    {"cloudwatch", "session_token", nullptr, "AWS_SESSION_TOKEN", true,
     [](C& c, T t) { return set_text(c.cloudwatch.session_token, t); },
     [](const C& c) { return show_secret(c.cloudwatch.session_token); }},
    {"cloudwatch", "profile", nullptr, "AWS_PROFILE", true,
     [](C& c, T t) { return set_text(c.cloudwatch.profile, t); },
     [](const C& c) { return c.cloudwatch.profile; }},
    {"cloudwatch", "credentials_file", nullptr, "AWS_SHARED_CREDENTIALS_FILE", true,
     [](C& c, T t) { return set_text(c.cloudwatch.credentials_file, t); },
     [](const C& c) { return c.cloudwatch.credentials_file; }, path},
    {"cloudwatch", "dimensions", nullptr, nullptr, true, set_dimensions, show_dimensions},
    {"cloudwatch", "imds", nullptr, nullptr, true,
     [](C& c, T t) { return set_bool(c.cloudwatch.imds, t); },
     [](const C& c) { return show_bool(c.cloudwatch.imds); }},
    {"cloudwatch", "imds_endpoint", nullptr, "AWS_EC2_METADATA_SERVICE_ENDPOINT", true,
     [](C& c, T t) { return set_text(c.cloudwatch.imds_endpoint, t); },
     [](const C& c) { return c.cloudwatch.imds_endpoint; }},
    {"cloudwatch", "spool_dir", nullptr, nullptr, true,
     [](C& c, T t) { return set_text(c.cloudwatch.spool_dir, t); },
     [](const C& c) { return c.cloudwatch.spool_dir; }, path},
    {"cloudwatch", "spool_max_bytes", nullptr, nullptr, true,
     [](C& c, T t) {
       constexpr int64_t max = int64_t(1) << 32;  // 4 GiB
       auto v = values::integer(t, 65536, max);
       if (!v) return "'" + std::string(t) + "' is not " + values::integer_range(65536, max);
       c.cloudwatch.spool_max_bytes = *v;
       return std::string();
     },
     [](const C& c) { return std::to_string(c.cloudwatch.spool_max_bytes); }},
    {"prometheus", "enabled", nullptr, nullptr, true,
     [](C& c, T t) { return set_bool(c.prometheus_enabled, t); },
     [](const C& c) { return show_bool(c.prometheus_enabled); }},
    {"prometheus", "listen", nullptr, nullptr, true,
     [](C& c, T t) {
       if (t.empty()) return c.prometheus_listen.clear(), std::string();
       auto at = values::ip_port(t);
       if (!at || !at->port)
         return "'" + std::string(t) + "' is not ADDRESS:PORT (127.0.0.1:9464, [::1]:9464)";
       c.prometheus_listen = t;
       return std::string();
     },
     [](const C& c) { return c.prometheus_listen; }},
    {"page", "refresh", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.page_refresh_s, t, 2, 3600); },
     [](const C& c) { return std::to_string(c.page_refresh_s); }},
    {"page", "sources", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.page_sources, t, 0, 1000); },
     [](const C& c) { return std::to_string(c.page_sources); }},
    {"mesh", "max_peers", "max-peers", nullptr, true,
     [](C& c, T t) { return set_int(c.max_peers, t, 1, 1000000); },
     [](const C& c) { return std::to_string(c.max_peers); }},
    {"mesh", "exchange", nullptr, nullptr, true,
     [](C& c, T t) {
       c.exchange_from.clear();
       for (auto item : t.empty() ? std::vector<std::string_view>{} : values::list(t))
         c.exchange_from.emplace_back(item);
       return std::string();
     },
     [](const C& c) {
       std::string o;
       for (const auto& f : c.exchange_from) o += (o.empty() ? "" : ", ") + f;
       return o;
     }},
    {"mesh", "exchange_interval", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.exchange_interval_s, t, 5, 86400); },
     [](const C& c) { return std::to_string(c.exchange_interval_s); }},
    {"discovery", "name", nullptr, nullptr, true,
     [](C& c, T t) { return set_text(c.discovery.name, t); },
     [](const C& c) { return c.discovery.name; }},
    {"discovery", "port", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.discovery.port, t, 0, 65535); },
     [](const C& c) { return std::to_string(c.discovery.port); }},
    {"discovery", "https", nullptr, nullptr, true,
     [](C& c, T t) { return set_bool(c.discovery.https, t); },
     [](const C& c) { return show_bool(c.discovery.https); }},
    {"discovery", "min_ttl", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.discovery.min_ttl_s, t, 1, 86400); },
     [](const C& c) { return std::to_string(c.discovery.min_ttl_s); }},
    {"discovery", "max_ttl", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.discovery.max_ttl_s, t, 1, 86400); },
     [](const C& c) { return std::to_string(c.discovery.max_ttl_s); }},
    {"discovery", "fanout", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.discovery.fanout, t, 0, 1000000); },
     [](const C& c) { return std::to_string(c.discovery.fanout); }},
    {"discovery", "grace", nullptr, nullptr, true,
     [](C& c, T t) { return set_int(c.discovery.grace_s, t, 0, 86400); },
     [](const C& c) { return std::to_string(c.discovery.grace_s); }},
    {"mesh", "api_token", nullptr, "PINGMESH_API_TOKEN", true,
     [](C& c, T t) { return set_text(c.api_token, t); },
     [](const C& c) { return show_secret(c.api_token); }},
    {"mesh", "api_token_file", nullptr, nullptr, true,
     [](C& c, T t) { return set_text(c.api_token_file, t); },
     [](const C& c) { return c.api_token_file; }, path},
    {"mesh", "state_dir", nullptr, nullptr, true,
     [](C& c, T t) { return set_text(c.state_dir, t); }, [](const C& c) { return c.state_dir; },
     path},
    // Command-line spellings of the settings above.
    {nullptr, "output", "j", nullptr, false, [](C& c, T) { return set_format(c, "json"); }},
    {nullptr, "verify", "k", nullptr, false,
     [](C& c, T) { return c.tls.verify = false, std::string(); }},
    {nullptr, "resume", "tls-resume", nullptr, false,
     [](C& c, T) { return c.tls.resume = true, std::string(); }},
    {nullptr, "enabled", "c", nullptr, false,
     [](C& c, T) { return c.cloudwatch.enabled = true, std::string(); }},
};

}  // namespace

const Setting* settings_begin() {
  return std::begin(kSettings);
}
const Setting* settings_end() {
  return std::end(kSettings);
}

const Setting* find_setting_by_flag(std::string_view flag) {
  for (const auto& s : kSettings)
    if (s.flag && flag == s.flag) return &s;
  return nullptr;
}

const Setting* find_setting_by_key(std::string_view section, std::string_view key) {
  for (const auto& s : kSettings)
    if (s.section && section == s.section && key == s.key) return &s;
  return nullptr;
}

}  // namespace pingmesh
