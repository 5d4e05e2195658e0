// Where settings meet: defaults, the ini file, the environment, the command line.
#include <ini.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "config/settings.hpp"
#include "config/text_file.hpp"
#include "config/values.hpp"

namespace pingmesh {

namespace {

// A [peer NAME] section, resolved against the node's settings once the file is read.
struct IniPeer {
  std::string place;  // file:line of the section
  std::optional<std::string> url, location, address, ca_file, pin;
  std::string ca_file_place;
  std::optional<int> delay;
  std::optional<bool> verify, resume;
};

struct IniReader {
  std::string path;
  std::string text;  // the whole file, read at once (bounded)
  size_t at = 0;     // where the next line starts
  int line = 0;
  Config* config = nullptr;
  std::vector<std::string> errors;
  std::vector<std::string>* notices = nullptr;
  std::map<std::string, IniPeer> peers;                     // by section name
  std::vector<std::pair<std::string, std::string>> urls;    // [peers] url = ..., with place
  std::map<const Setting*, std::string>* places = nullptr;  // file:line of each setting
  std::string last_section;

  std::string place() const { return path + ":" + std::to_string(line); }
  void error(const std::string& key, const std::string& why) {
    errors.push_back(place() + ": " + key + ": " + why);
  }
};

// The line at text[at], without its newline; moves at past it.
std::string_view next_line(std::string_view text, size_t& at) {
  size_t end = text.find('\n', at);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(at, end - at);
  at = end + 1;
  return line;
}

// inih reads through this, so the handler always knows the line it is on. Debian's inih
// has a 200-byte line buffer: a longer line is refused whole, not cut in two. A NUL byte
// would end the line early in inih: refused too. Either is handed on as a blank line.
char* read_line(char* buf, int size, void* stream) {
  auto* r = static_cast<IniReader*>(stream);
  if (r->at >= r->text.size()) return nullptr;
  std::string_view line = next_line(r->text, r->at);
  ++r->line;
  buf[0] = '\0';
  if (line.find('\0') != std::string_view::npos) {
    r->errors.push_back(r->place() + ": NUL byte");
  } else if (line.size() > size_t(size) - 2) {
    r->errors.push_back(r->place() + ": line longer than " + std::to_string(size - 2) +
                        " characters (use a [peers] file for long URLs)");
  } else {
    std::memcpy(buf, line.data(), line.size());
    buf[line.size()] = '\n';
    buf[line.size() + 1] = '\0';
  }
  return buf;
}

void add_peer_url(Config& c, std::string_view text, const std::string& place, std::string* error) {
  PeerArg pa = split_peer_arg(text);
  auto url = parse_url(pa.url, error);
  if (!url) return;
  PeerSpec p;
  p.url = std::move(*url);
  p.location = pa.location;
  p.place = place;
  c.peers.push_back(std::move(p));
}

// A relative path in the file is relative to the file's own directory (systemd's
// working directory is /): [peers] file and every setting marked path in the table.
std::string relative_to(const std::string& ini_path, std::string_view path) {
  if (path.starts_with("/")) return std::string(path);
  auto slash = ini_path.rfind('/');
  return (slash == std::string::npos ? std::string() : ini_path.substr(0, slash + 1)) +
         std::string(path);
}

// One URL a line. A line is refused whole when it is too long or holds a NUL byte.
constexpr size_t kMaxPeersFileLine = 4096;

void read_peers_file(IniReader& r, const std::string& file) {
  std::string text;
  if (std::string why = read_text_file(file, kMaxConfigFileBytes, &text); !why.empty()) {
    r.error("file", "cannot read '" + file + "': " + why);
    return;
  }
  int n = 0;
  for (size_t at = 0; at < text.size();) {
    std::string_view raw = next_line(text, at);
    std::string place = file + ":" + std::to_string(++n);
    if (raw.find('\0') != std::string_view::npos) {
      r.errors.push_back(place + ": NUL byte");
      continue;
    }
    if (raw.size() > kMaxPeersFileLine) {
      r.errors.push_back(place + ": line longer than " + std::to_string(kMaxPeersFileLine) +
                         " characters");
      continue;
    }
    std::string_view line = values::trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    r.urls.emplace_back(std::string(line), std::move(place));
  }
}

int on_ini_entry(void* user, const char* section, const char* name, const char* value) {
  auto* r = static_cast<IniReader*>(user);
  std::string_view sec(section), key(name), text(value);
  if (sec.starts_with("peer ")) {
    IniPeer& p = r->peers[std::string(sec.substr(5))];
    if (p.place.empty()) p.place = r->place();
    if (key == "url")
      p.url = text;
    else if (key == "location")
      p.location = text;
    else if (key == "address") {
      if (!values::ip_address(text))
        r->error("address", "'" + std::string(text) + "' is not an IP address");
      p.address = text;
    } else if (key == "delay") {
      auto v = values::integer(text, 1, 86400);
      if (!v)
        r->error("delay", "'" + std::string(text) + "' is not " + values::integer_range(1, 86400));
      else
        p.delay = int(*v);
    } else if (key == "verify" || key == "resume") {
      auto v = values::boolean(text);
      if (!v)
        r->error(std::string(key), "'" + std::string(text) + "' is not yes or no");
      else
        (key == "verify" ? p.verify : p.resume) = *v;
    } else if (key == "ca_file") {
      p.ca_file = text.empty() ? std::string() : relative_to(r->path, text);
      p.ca_file_place = r->place();
    } else if (key == "pin_sha256" && text.empty())
      p.pin = "";  // none, whatever the node's
    else if (key == "pin_sha256") {
      auto v = values::pin(text);
      if (!v)
        r->error("pin_sha256", "'" + std::string(text) + "' is not a base64 SHA-256");
      else
        p.pin = *v;
    } else {
      r->notices->push_back(r->place() + ": unknown key '" + std::string(key) + "' in [" +
                            std::string(sec) + "], ignored");
    }
    return 1;
  }
  if (sec == "peers") {
    if (key == "url")
      r->urls.emplace_back(std::string(text), r->place());
    else if (key == "file")
      read_peers_file(*r, relative_to(r->path, text));
    else
      r->notices->push_back(r->place() + ": unknown key '" + std::string(key) +
                            "' in [peers], ignored");
    return 1;
  }
  const Setting* s = find_setting_by_key(sec, key);
  if (!s) {
    r->notices->push_back(r->place() + ": unknown key '" + std::string(key) + "' in [" +
                          std::string(sec) + "], ignored");
    return 1;
  }
  std::string resolved = s->path && !text.empty() ? relative_to(r->path, text) : std::string(text);
  std::string why = s->apply(*r->config, resolved);
  if (!why.empty()) r->error(std::string(key), why);
  (*r->places)[s] = r->place();
  return 1;
}

// Where a peer's own ca_file was set, for messages about it.
using CaFilePlaces = std::map<std::string, std::string>;  // peer place -> file:line

void read_ini(const std::string& path, Config& c, std::vector<std::string>& notices,
              std::map<const Setting*, std::string>& places, CaFilePlaces& ca_places) {
  IniReader r;
  r.places = &places;
  r.path = path;
  r.config = &c;
  r.notices = &notices;
  if (std::string why = read_text_file(path, kMaxConfigFileBytes, &r.text); !why.empty())
    throw ConfigError(path + ": cannot read the configuration file: " + why);
  int rc = ini_parse_stream(read_line, &r, on_ini_entry, &r);
  if (rc > 0)
    r.errors.push_back(path + ":" + std::to_string(rc) +
                       ": not an ini line ([section] or key = value)");

  for (auto& [text, place] : r.urls) {
    std::string why;
    add_peer_url(c, text, place, &why);
    if (!why.empty()) r.errors.push_back(place + ": url: " + why);
  }
  for (auto& [name, p] : r.peers) {
    if (!p.url) {
      r.errors.push_back(p.place + ": [peer " + name + "] has no url");
      continue;
    }
    std::string why;
    add_peer_url(c, *p.url, p.place, &why);
    if (!why.empty()) {
      r.errors.push_back(p.place + ": url: " + why);
      continue;
    }
    PeerSpec& spec = c.peers.back();
    spec.name = name;
    if (p.location) spec.location = *p.location;
    if (p.address) spec.address = *p.address;
    if (p.delay) spec.delay_s = *p.delay;
    spec.tls_override.verify = p.verify;
    spec.tls_override.resume = p.resume;
    spec.tls_override.ca_file = p.ca_file;
    if (p.ca_file) ca_places[spec.place] = p.ca_file_place;
    spec.tls_override.pin_sha256 = p.pin;
  }
  if (!r.errors.empty()) {
    std::string all;
    for (auto& e : r.errors) all += (all.empty() ? "" : "\n") + e;
    throw ConfigError(all);
  }
}

bool readable(const std::string& path) {
  return access(path.c_str(), R_OK) == 0;
}

}  // namespace

LoadedConfig load_config(const CommandLine& cl, const GetEnv& getenv) {
  LoadedConfig out;
  Config& c = out.config;

  // 1. The ini file: the one named, else the default one if it exists.
  // PINGMESH_CONFIG names the default file ("" for none): tests and packagers use it.
  const char* default_path = getenv("PINGMESH_CONFIG");
  if (!default_path) default_path = kDefaultConfigPath;
  if (cl.config_path) {
    c.config_path = *cl.config_path;
  } else if (*default_path && (readable(default_path) || errno != ENOENT)) {
    c.config_path = default_path;  // there but unreadable: an error below, not "absent"
  }
  std::map<const Setting*, std::string> places;  // file:line, for what the file set
  CaFilePlaces ca_places;
  if (!c.config_path.empty()) read_ini(c.config_path, c, out.notices, places, ca_places);

  // 2. The environment. A bad value is the original's warning, not an error.
  std::map<const Setting*, std::string> from_env;
  for (const Setting* s = settings_begin(); s != settings_end(); ++s) {
    const char* v = s->env ? getenv(s->env) : nullptr;
    if (!v) continue;
    Config before = c;
    std::string why = s->apply(c, v);
    if (!why.empty()) {
      c = std::move(before);
      out.notices.push_back(std::string("Warning: ") + s->env + " environment is " + v + " -- " +
                            why + "; ignored");
    } else {
      from_env[s] = v;
    }
  }
  const char* loc = getenv("REP_LOCATION");
  const char* city = getenv("REP_CITY");
  const char* country = getenv("REP_COUNTRY");
  if (loc && *loc)
    c.location = loc;
  else if ((city && *city) || (country && *country))
    c.location = std::string(city ? city : "") + (city && *city && country && *country ? "," : "") +
                 (country ? country : "");

  // 3. The command line, last: it wins.
  for (const auto& use : cl.settings) {
    std::string why = use.setting->apply(c, use.value);
    std::string flag = use.setting->flag;
    if (!why.empty())
      throw UsageError((flag.size() > 1 ? "flag --" : "flag -") + flag + ": " + why);
    places.erase(use.setting);
    if (auto e = from_env.find(use.setting); e != from_env.end())
      out.notices.push_back(std::string("Note: -") + use.setting->flag + " " + use.value +
                            " overrides " + use.setting->env + "=" + e->second);
  }
  if (cl.verbose || cl.very_verbose || cl.quiet)
    c.verbosity = cl.quiet ? 0 : 1 + (cl.verbose ? 1 : 0) + (cl.very_verbose ? 2 : 0);

  // Peers: the file's, the command line's, PINGMESH_URL's.
  for (const auto& e : cl.endpoints) {
    std::string why;
    add_peer_url(c, e, "command line", &why);
    if (!why.empty()) throw UsageError(why);
  }
  if (const char* u = getenv("PINGMESH_URL")) {
    std::string why;
    add_peer_url(c, u, "PINGMESH_URL", &why);
    if (!why.empty()) throw UsageError("PINGMESH_URL: " + why);
  }
  // Each peer: its own settings where it has them, else the node's.
  for (PeerSpec& p : c.peers) {
    if (p.address.empty()) p.address = c.ip_override;
    const auto& o = p.tls_override;
    p.tls.verify = o.verify.value_or(c.tls.verify);
    p.tls.resume = o.resume.value_or(c.tls.resume);
    p.tls.ca_file = o.ca_file.value_or(c.tls.ca_file);
    p.tls.pin_sha256 = o.pin_sha256.value_or(c.tls.pin_sha256);
  }

  // Two peers under one identity share their labels and CloudWatch series: say so.
  std::map<std::string, const PeerSpec*> identities;
  for (const PeerSpec& p : c.peers) {
    auto [it, fresh] = identities.emplace(p.identity(), &p);
    if (!fresh)
      out.notices.push_back(p.place + ": peer '" + p.identity() +
                            "' has the same identity as a peer from " + it->second->place +
                            "; their samples are counted together");
  }

  // CloudWatch: credentials not given directly come from the shared file; without a
  // region and credentials, publishing is switched off with a log line, as the original.
  auto& cw = c.cloudwatch;
  if (cw.enabled) {
    if (!cw.imds && (cw.access_key_id.empty() || cw.secret_access_key.empty()))
      read_shared_credentials(cw, getenv);
    bool keys = cw.imds || (!cw.access_key_id.empty() && !cw.secret_access_key.empty());
    if (cw.region.empty() || !keys) {
      out.notices.push_back(
          "CloudWatch needs a region (AWS_REGION or [cloudwatch] region) and credentials "
          "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, [cloudwatch], or the shared "
          "credentials file); publishing is off");
      cw.enabled = false;
    } else if (cw.endpoint.empty()) {
      cw.endpoint = "https://monitoring." + cw.region + ".amazonaws.com/";
    }
    const char* state = getenv("STATE_DIRECTORY");  // systemd's StateDirectory=
    if (cw.spool_dir.empty() && state && *state)
      cw.spool_dir = std::string(state).substr(0, std::string(state).find(':')) + "/spool";
  }

  if (c.state_dir.empty()) {
    const char* state = getenv("STATE_DIRECTORY");
    if (state && *state) c.state_dir = std::string(state).substr(0, std::string(state).find(':'));
  }
  if (!c.api_token_file.empty()) {
    std::string token;
    std::string why = read_text_file(c.api_token_file, 4096, &token);
    if (!why.empty())
      throw ConfigError(c.config_path + ": api_token_file " + c.api_token_file + ": " + why);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.empty())
      throw ConfigError(c.config_path + ": api_token_file " + c.api_token_file + ": empty");
    c.api_token = token;
  }
  if (c.api_token.size() > 500) {  // the responder keeps 512 bytes of Authorization
    throw ConfigError(c.config_path + ": api_token: longer than 500 characters");
  }

  if (c.discovery.min_ttl_s > c.discovery.max_ttl_s)
    throw ConfigError(c.config_path + ": [discovery] min_ttl is more than max_ttl");

  // Settings that depend on each other.
  auto fail = [&](const std::string& why) -> void {
    if (c.config_path.empty()) throw UsageError(why);
    throw ConfigError(c.config_path + ": " + why);
  };
  if (c.connect_timeout_s > c.timeout_s) c.connect_timeout_s = c.timeout_s;
  if (c.tls_port && (c.cert_file.empty() || c.key_file.empty()))
    fail(
        "a TLS port (--tls-port, [node] tls_port) needs --cert FILE and --key FILE ([node] cert, "
        "key)");
  // Files handed to mbedTLS later: regular and readable, said here with where they were
  // set (a directory once came back as "PK - Memory allocation failed").
  // what: "'cert.pem'", "the CA file 'ca.pem' (needed for https://…)"; peer_place: where a
  // [peer] section set its own file, else the node's setting is named.
  auto check_file = [&](const char* section, const char* key, const std::string& path,
                        const std::string& what, const std::string& peer_place) {
    std::string why = regular_file_problem(path);
    if (why.empty()) return;
    why = "cannot read " + what + ": " + why;
    const Setting* s = find_setting_by_key(section, key);
    if (!peer_place.empty()) throw ConfigError(peer_place + ": " + key + ": " + why);
    if (auto p = places.find(s); p != places.end())
      throw ConfigError(p->second + ": " + key + ": " + why);
    for (const auto& use : cl.settings)
      if (use.setting == s) throw UsageError(std::string("flag --") + s->flag + ": " + why);
    fail(why);
  };
  if (c.tls_port) {
    check_file("node", "cert", c.cert_file, "'" + c.cert_file + "'", "");
    check_file("node", "key", c.key_file, "'" + c.key_file + "'", "");
  }
  for (const auto& p : c.peers) {
    if (!p.url.tls() || !p.tls.verify) continue;
    auto own = ca_places.find(p.place);
    check_file("tls", "ca_file", p.tls.ca_file,
               "the CA file '" + p.tls.ca_file + "' (needed for " + p.url.display() + ")",
               p.tls_override.ca_file && own != ca_places.end() ? own->second : "");
  }
  if (c.cloudwatch.enabled && !c.cloudwatch.ca_file.empty())
    check_file("cloudwatch", "ca_file", c.cloudwatch.ca_file,
               "the CA file '" + c.cloudwatch.ca_file + "' (needed for CloudWatch)", "");
  bool serving = c.serve_port || c.tls_port;
  if (c.peers.empty() && !serving && c.discovery.name.empty())
    throw UsageError(
        "nothing to do: give peer URLs to probe, -s PORT to serve, or a [discovery] name");
  return out;
}

std::string describe(const Config& c) {
  std::string out = "; the effective configuration";
  if (!c.config_path.empty()) out += " (from " + c.config_path + ", environment, command line)";
  out += "\n";
  auto line = [&](const char* key, const std::string& v) {
    out += std::string(key) + " = " + v + "\n";
  };
  auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
  // The node's settings come from the table, so none can be left out: each entry with an
  // ini key shows its own value, in its section.
  const char* section = nullptr;
  for (const Setting* s = settings_begin(); s != settings_end(); ++s) {
    if (!s->section) continue;
    if (!section || std::strcmp(section, s->section) != 0)
      out += "[" + std::string(section = s->section) + "]\n";
    line(s->key, s->show ? s->show(c) : "; not shown");
  }
  for (size_t i = 0; i < c.peers.size(); ++i) {
    const PeerSpec& p = c.peers[i];
    out += "[peer " + std::to_string(i + 1) + "]  ; " + p.place + "\n";
    line("url", p.url.display() + (p.url.query.empty() ? "" : "?" + p.url.query));
    if (!p.location.empty()) line("location", p.location);
    if (!p.address.empty()) line("address", p.address);
    line("delay", std::to_string(p.delay_s ? p.delay_s : c.delay_s));
    if (p.url.tls()) {
      line("verify", yes(p.tls.verify));
      line("ca_file", p.tls.ca_file);
      if (!p.tls.pin_sha256.empty()) line("pin_sha256", p.tls.pin_sha256);
      line("resume", yes(p.tls.resume));
    }
  }
  return out;
}

}  // namespace pingmesh

namespace pingmesh {

std::string PeerSpec::identity() const {
  if (!name.empty()) return name;
  if (!location.empty()) return location;
  return url.query.empty() ? url.display() : url.display() + "?" + url.query;
}

}  // namespace pingmesh
