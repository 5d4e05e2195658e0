#include "mesh/peer_api.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/text_file.hpp"
#include "config/values.hpp"
#include "export/json.hpp"
#include "mesh/api_access.hpp"
#include "mesh/html_text.hpp"
#include "text/json_reader.hpp"
#include "text/percent.hpp"
#include "text/printable.hpp"

namespace pingmesh {

namespace {

constexpr uint64_t kSaveDelayMs = 1000;
constexpr size_t kMaxStateBytes = 16 << 20;

// The first value of name in a query string, decoded; nullopt when absent.
std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (percent_decoded(pair.substr(0, eq), true) == name)
      return eq == std::string_view::npos ? std::string()
                                          : percent_decoded(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Same length and bytes, in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) {
  if (b.empty()) return false;
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i]) ^ uint8_t(b[i % b.size()]);
  return diff == 0;
}

Reply json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Reply error_reply(int status, const std::string& why) {
  return json_reply(status, "{\"error\": " + json_string(why) + "}\n");
}

Reply html_reply(int status, const std::string& text) {
  Reply r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pingmesh</title></head>"
      "<body>\n<p>" +
      html_escape(text) + "</p>\n</body></html>\n";
  return r;
}

constexpr char kAddPeerForm[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pingmesh: add a peer</title>"
    "</head><body>\n<h1>Add a peer</h1>\n<form action=\"/v1/addpeer\" method=\"get\">\n"
    "<p><label>URL <input name=\"url\" size=\"60\"></label> (end it with "
    "/v1/peers?addpeers=true to add that peer's peers too)</p>\n"
    "<p><label>IP <input name=\"ip\"></label> <label>delay (s) <input name=\"delay\" "
    "size=\"4\"></label> <label>limit <input name=\"limit\" size=\"4\"></label> "
    "<label>fails <input name=\"fails\" size=\"4\"></label></p>\n"
    "<p><input type=\"submit\" value=\"Add\"></p>\n</form>\n</body></html>\n";

// A peer from the fields of an API object or an addpeer query; "" or why not.
std::string make_spec(const std::string& url_text, PeerSpec* spec) {
  PeerArg pa = split_peer_arg(url_text);
  std::string why;
  auto url = parse_url(pa.url, &why);
  if (!url) return why;
  spec->url = std::move(*url);
  if (!pa.location.empty()) spec->location = printable_text(pa.location);
  spec->place = "api";
  return {};
}

}  // namespace

PeerApi::PeerApi(Loop& loop, Resolver& resolver, PeerSet& peers, PeerApiOptions options)
    : loop_(loop),
      resolver_(resolver),
      peers_(peers),
      reaper_(loop, [this] { finished_.clear(); }),
      options_(std::move(options)),
      save_timer_(loop, [this] { save(); }) {}

PeerApi::~PeerApi() {
  if (dirty_) save();
}

std::string PeerApi::state_file() const {
  return options_.state_dir.empty() ? std::string() : options_.state_dir + "/api-peers.json";
}

void PeerApi::add_routes(Routes& routes, Routes::Handler get_peers) {
  Routes::Route peers;  // GET: the node's state; POST: a new peer
  peers.path = "/v1/peers";
  peers.description = "peers and their statistics (JSON); POST adds one";
  peers.methods = kReadOnly | method_bit(Method::post);
  peers.max_body = kMaxBody;
  peers.handler = [this, get = std::move(get_peers)](const Request& r) {
    return r.method == Method::post ? on_post(r) : get(r);
  };
  routes.set(std::move(peers));

  Routes::Route addpeer;
  addpeer.path = "/v1/addpeer";
  addpeer.description = "add a peer (the original's form and query)";
  addpeer.handler = [this](const Request& r) { return on_addpeer(r); };
  routes.set(std::move(addpeer));

  Routes::Route one;  // DELETE /v1/peers/<identity>
  one.path = "/v1/peers/";
  one.prefix = true;
  one.methods = method_bit(Method::del);
  one.handler = [this](const Request& r) { return on_delete(r); };
  routes.set(std::move(one));
}

void PeerApi::stop() {
  stopped_ = true;
  if (import_) {
    import_->cancel();  // never calls back: set aside like a finished one
    finished_.push_back(std::move(import_));
    reaper_.start(0);
  }
}

Reply PeerApi::check_allowed(const Request& r) {
  if (stopped_) return error_reply(503, "the node is stopping");
  Reply allowed;
  allowed.status = 0;
  std::string not_local =
      is_loopback(r.client) ? why_not_local(r, options_.self.names) : "it came from another host";
  if (not_local.empty()) return allowed;
  std::string_view auth = r.authorization;
  constexpr std::string_view bearer = "Bearer ";
  bool has_token = auth.size() > bearer.size() && auth.substr(0, bearer.size()) == bearer;
  Reply refusal;
  if (options_.token.empty())
    refusal = error_reply(403, "changes are taken from local users only, and this is not one: " +
                                   not_local + "; this node has no api_token");
  else if (!has_token || !same_secret(auth.substr(bearer.size()), options_.token))
    refusal = error_reply(401, has_token ? "the bearer token is not this node's"
                                         : "this change needs Authorization: Bearer: " + not_local);
  else
    return allowed;
  if (refusal.status == 401) refusal.headers = "WWW-Authenticate: Bearer realm=\"pingmesh\"\r\n";
  ++counters_.refused_auth;
  if (auth_logged_.first())
    PM_LOG(warning, "api: refused a change from %s (%d; logged once)", to_string(r.client).c_str(),
           refusal.status);
  return refusal;
}

Reply PeerApi::add(PeerSpec spec) {
  spec.tls = options_.tls;
  std::string identity = spec.identity();
  if (const auto* m = peers_.find(identity); m && !m->removed) {
    std::string place = m->place();
    return error_reply(
        409, "peer " + identity + " is already present (" + to_string(m->origin) +
                 (place.empty() || place == to_string(m->origin) ? "" : ", " + place) + ")");
  }
  if (peers_.size() >= peers_.max_peers()) {
    ++counters_.refused_full;
    if (full_logged_.first())
      PM_LOG(warning, "api: refused a peer: max_peers = %zu reached (logged once)",
             peers_.max_peers());
    return error_reply(507, "max_peers (" + std::to_string(peers_.max_peers()) + ") reached");
  }
  auto list = peers_.wanted(Origin::api);
  list.push_back(std::move(spec));
  try {
    peers_.reconcile(Origin::api, std::move(list));
  } catch (const std::exception& e) {
    return error_reply(400, e.what());
  }
  ++counters_.added;
  PM_LOG(notice, "api: added peer %s", identity.c_str());
  save_soon();
  return json_reply(201, "{\"Identity\": " + json_string(identity) + "}\n");
}

// The original's GET /v1/addpeer?url=U&ip=&limit=&delay=&fails=, answered in HTML.
Reply PeerApi::on_addpeer(const Request& r) {
  auto url = query_value(r.query, "url");
  if (!url) {  // no query: the form
    Reply form;
    form.content_type = "text/html; charset=utf-8";
    form.body = kAddPeerForm;
    return form;
  }
  if (Reply refusal = check_allowed(r); refusal.status) return refusal;
  if (r.method == Method::head) return html_reply(200, "");  // HEAD changes nothing
  std::string text = *url;
  PeerSpec spec;
  if (std::string why = make_spec(text, &spec); !why.empty()) {
    ++counters_.bad_requests;
    return html_reply(400, "not a peer URL: " + why);
  }
  // As the original: addpeers=true inside the url's own query; the peer is the URL without it.
  bool import = spec.url.query.find("addpeers=true") != std::string::npos;
  if (import) {
    spec.url.query.clear();
    text = spec.url.display();
  }
  if (auto ip = query_value(r.query, "ip"); ip && !ip->empty()) {
    if (!values::ip_address(*ip)) return html_reply(400, "ip '" + *ip + "' is not an IP address");
    spec.address = *ip;
  }
  // As the original: a number that is not one is ignored, with a log line.
  auto number = [&](const char* name, int64_t min, int64_t max) -> std::optional<int> {
    auto v = query_value(r.query, name);
    if (!v || v->empty()) return std::nullopt;
    auto n = values::integer(*v, min, max);
    if (!n)
      PM_LOG(notice, "api: addpeer %s '%s' is not a number; ignored", name,
             printable_text(*v).c_str());
    return n ? std::optional<int>(int(*n)) : std::nullopt;
  };
  if (auto d = number("delay", 1, 86400)) spec.delay_s = *d;
  spec.limit = number("limit", 0, 1 << 30);
  spec.max_failures = number("fails", 1, 1 << 30);
  if (const PeerSet::Member* same = same_host(spec)) {
    if (import) import_from(spec);
    return html_reply(200, "Peer was already in the peer list since " + same->peer->url());
  }
  PeerSpec source = spec;
  Reply added = add(std::move(spec));
  if (added.status != 201) return html_reply(added.status, added.body);
  if (import) import_from(source);
  return html_reply(200, "Added a new peer for " + text);
}

// The original's duplicate: a peer at the same host:port (and the same ip, when given).
const PeerSet::Member* PeerApi::same_host(const PeerSpec& spec) const {
  const PeerSet::Member* same = nullptr;
  peers_.for_each([&](const PeerSet::Member& m) {
    if (m.removed || same) return;
    const Url& u = m.peer->target_url();
    if (u.host == spec.url.host && u.port == spec.url.port &&
        (spec.address.empty() || m.shared().address == spec.address))
      same = &m;
  });
  return same;
}

void PeerApi::import_from(const PeerSpec& source) {
  if (import_) {
    PM_LOG(notice, "api: an import of peers is already running; %s is not read",
           source.url.display().c_str());
    return;
  }
  TlsTarget tls;
  try {
    if (source.url.tls()) tls = peers_.tls_target(options_.tls);
  } catch (const std::exception& e) {
    PM_LOG(warning, "api: cannot read %s: %s", source.url.display().c_str(), e.what());
    return;
  }
  Url url = source.url;
  url.path = "/v1/peers";
  import_ = std::make_unique<Fetch>(
      loop_, resolver_, std::move(url), std::move(tls), options_.limits, kMaxListingBytes,
      [this](const Sample& s, std::string_view body) { on_listing(s, body); });
  import_->start();
}

// One hop: what the listing offers and we lack, as the API's own peers.
void PeerApi::on_listing(const Sample& s, std::string_view body) {
  std::optional<Listing> listing;
  if (s.ok() && s.http_code == 200) listing = read_listing(body, peers_.max_peers());
  std::string from = import_->url();
  finished_.push_back(std::move(import_));  // freed on the next turn, not in its callback
  reaper_.start(0);
  if (!listing) {
    PM_LOG(warning, "api: addpeers: cannot read the peers of %s (%s)", from.c_str(),
           s.ok() ? "not a peers listing" : std::string(to_string(s.reason)).c_str());
    return;
  }
  auto list = peers_.wanted(Origin::api);
  size_t added = 0;
  for (auto& spec : offered_peers(*listing, options_.self, options_.tls, "api")) {
    if (same_host(spec) || peers_.find(spec.identity())) continue;
    if (peers_.size() + added >= peers_.max_peers()) {
      ++counters_.refused_full;
      break;
    }
    list.push_back(std::move(spec));
    ++added;
  }
  if (!added) return;
  try {
    peers_.reconcile(Origin::api, std::move(list));
  } catch (const std::exception& e) {
    PM_LOG(warning, "api: addpeers from %s: %s", from.c_str(), e.what());
    return;
  }
  counters_.added += added;
  PM_LOG(notice, "api: addpeers: %zu peers added from %s", added, from.c_str());
  save_soon();
}

// POST /v1/peers {"url": ..., "name", "location", "ip", "delay", "limit", "fails"}.
Reply PeerApi::on_post(const Request& r) {
  if (Reply refusal = check_allowed(r); refusal.status) return refusal;
  // A browser cannot send this type to another site without asking first (CORS), so a
  // page the node's own user visits cannot add peers through its loopback.
  if (!r.content_type.starts_with("application/json")) {
    ++counters_.bad_requests;
    return error_reply(415, "the body must be Content-Type: application/json");
  }
  json::Document doc(r.body, kMaxBody, 64);
  auto bad = [&](const std::string& why) {
    ++counters_.bad_requests;
    return error_reply(400, why);
  };
  if (!doc.is_object(json::Document::root)) return bad("the body is not a JSON object");
  auto field = [&](const char* key) { return doc.member(json::Document::root, key); };
  auto url = doc.string(field("url"));
  if (!url) return bad("\"url\" (a string) is required");
  PeerSpec spec;
  if (std::string why = make_spec(*url, &spec); !why.empty()) return bad("url: " + why);
  if (int t = field("name"); t >= 0) {
    auto v = doc.string(t);
    if (!v || v->empty() || printable_text(*v) != *v) return bad("\"name\" must be printable text");
    spec.name = *v;
  }
  if (int t = field("location"); t >= 0) {
    auto v = doc.string(t);
    if (!v || printable_text(*v) != *v) return bad("\"location\" must be printable text");
    spec.location = *v;
  }
  if (int t = field("ip"); t >= 0) {
    auto v = doc.string(t);
    if (!v || !values::ip_address(*v)) return bad("\"ip\" must be an IP address");
    spec.address = *v;
  }
  auto number = [&](const char* key, long min, long max, std::optional<int>* into) {
    int t = field(key);
    if (t < 0) return true;
    auto v = doc.integer(t);
    if (!v || *v < min || *v > max) return false;
    *into = int(*v);
    return true;
  };
  std::optional<int> delay;
  if (!number("delay", 1, 86400, &delay)) return bad("\"delay\" must be 1 to 86400 seconds");
  if (delay) spec.delay_s = *delay;
  if (!number("limit", 0, 1 << 30, &spec.limit)) return bad("\"limit\" must be 0 or more");
  if (!number("fails", 1, 1 << 30, &spec.max_failures)) return bad("\"fails\" must be 1 or more");
  return add(std::move(spec));
}

// DELETE /v1/peers/<identity>, the identity percent-encoded.
Reply PeerApi::on_delete(const Request& r) {
  if (Reply refusal = check_allowed(r); refusal.status) return refusal;
  std::string identity =
      percent_decoded(r.path.substr(std::string_view("/v1/peers/").size()), false);
  const auto* m = peers_.find(identity);
  if (!m || m->removed) return error_reply(404, "no peer " + identity);
  if (m->origin != Origin::api) {
    std::string place = m->place();
    return error_reply(409, "peer " + identity + " comes from " + to_string(m->origin) +
                                (place.empty() ? "" : " (" + place + ")") + "; change it there");
  }
  auto list = peers_.wanted(Origin::api);
  std::erase_if(list, [&](const PeerSpec& s) { return s.identity() == identity; });
  peers_.reconcile(Origin::api, std::move(list));  // removes only: builds nothing, cannot throw
  ++counters_.removed;
  PM_LOG(notice, "api: removed peer %s", identity.c_str());
  save_soon();
  Reply done;
  done.status = 204;
  return done;
}

void PeerApi::save_soon() {
  if (state_file().empty()) return;
  dirty_ = true;
  if (!save_timer_.pending()) save_timer_.start(kSaveDelayMs);
}

// The API's peers as JSON, written whole and renamed into place: a crash leaves the old
// file or the new one, never a torn one. Small, and at most once a second.
void PeerApi::save() {
  dirty_ = false;
  std::string path = state_file();
  if (path.empty()) return;
  std::string o = "{\"peers\": [";
  bool first = true;
  for (const auto& s : peers_.wanted(Origin::api)) {
    o += first ? "\n  {" : ",\n  {";
    first = false;
    std::string url = s.url.display() + (s.url.query.empty() ? "" : "?" + s.url.query);
    o += "\"url\": " + json_string(url);
    if (!s.name.empty()) o += ", \"name\": " + json_string(s.name);
    if (!s.location.empty()) o += ", \"location\": " + json_string(s.location);
    if (!s.address.empty()) o += ", \"ip\": " + json_string(s.address);
    if (s.delay_s) o += ", \"delay\": " + std::to_string(s.delay_s);
    if (s.limit) o += ", \"limit\": " + std::to_string(*s.limit);
    if (s.max_failures) o += ", \"fails\": " + std::to_string(*s.max_failures);
    o += "}";
  }
  o += "\n]}\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  for (size_t at = 0; ok && at < o.size();) {
    ssize_t n = ::write(fd, o.data() + at, o.size() - at);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) at += size_t(n);
  }
  ok = ok && fsync(fd) == 0;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  ok = ok && rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ++counters_.save_failures;
    if (save_logged_.first())
      PM_LOG(error, "api: cannot keep the API's peers in %s: %s (logged once)", path.c_str(),
             std::strerror(errno));
    unlink(tmp.c_str());
  }
}

void PeerApi::restore() {
  std::string path = state_file();
  if (path.empty()) return;
  std::string text;
  std::string why = read_text_file(path, kMaxStateBytes, &text);
  if (!why.empty()) {
    if (access(path.c_str(), F_OK) == 0)
      PM_LOG(error, "api: cannot read %s: %s", path.c_str(), why.c_str());
    return;
  }
  json::Document doc(text, kMaxStateBytes, 16 * int(peers_.max_peers()) + 16);
  int list = doc.member(json::Document::root, "peers");
  if (!doc.is_array(list)) {
    PM_LOG(error, "api: %s is not a peers file; its peers are not restored", path.c_str());
    return;
  }
  std::vector<PeerSpec> specs;
  for (int item : doc.items(list)) {
    auto url = doc.string(doc.member(item, "url"));
    PeerSpec spec;
    if (!url || !make_spec(*url, &spec).empty()) {
      PM_LOG(warning, "api: %s: a peer without a valid url; skipped", path.c_str());
      continue;
    }
    if (auto v = doc.string(doc.member(item, "name"))) spec.name = printable_text(*v);
    if (auto v = doc.string(doc.member(item, "location"))) spec.location = printable_text(*v);
    if (auto v = doc.string(doc.member(item, "ip")); v && values::ip_address(*v)) spec.address = *v;
    if (auto v = doc.integer(doc.member(item, "delay")); v && *v >= 1 && *v <= 86400)
      spec.delay_s = int(*v);
    if (auto v = doc.integer(doc.member(item, "limit")); v && *v >= 0 && *v <= (1 << 30))
      spec.limit = int(*v);
    if (auto v = doc.integer(doc.member(item, "fails")); v && *v >= 1 && *v <= (1 << 30))
      spec.max_failures = int(*v);
    spec.tls = options_.tls;
    specs.push_back(std::move(spec));
  }
  size_t n = specs.size();
  try {
    peers_.reconcile(Origin::api, std::move(specs));
  } catch (const std::exception& e) {
    PM_LOG(error, "api: the peers kept in %s cannot be restored: %s", path.c_str(), e.what());
    return;
  }
  PM_LOG(notice, "api: restored %zu peers from %s", n, path.c_str());
}

}  // namespace pingmesh
