#include "mesh/peers_command.hpp"

#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "loop/loop.hpp"
#include "probe/fetch.hpp"
#include "tls/tls_config.hpp"

namespace pingmesh {

namespace {

const char kUsage[] =
    "Usage: pingmesh peers [-k] URL\n"
    "Prints the peers of the node at URL (host:port, or a URL; default path /v1/peers).\n"
    "  -k   do not verify the certificate of an https node\n";

std::string utc(int64_t unix_s) {
  if (unix_s <= 0) return "-";
  std::time_t t = std::time_t(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
  return b;
}

// Go's time.Duration style, as the original prints it: "45s", "3m5s", "2h0m5s".
std::string duration(int64_t s) {
  if (s < 0) s = 0;
  std::string o;
  if (s >= 3600) o += std::to_string(s / 3600) + "h";
  if (s >= 60) o += std::to_string(s / 60 % 60) + "m";
  return o + std::to_string(s % 60) + "s";
}

std::string mean_ms(int64_t sum_ns, int64_t n) {
  if (n <= 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", double(sum_ns) / double(n) / 1e6);
  return b;
}

// Columns are as wide as their widest cell, in characters (UTF-8 aware).
size_t width(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::optional<Url> listing_url_for(std::string_view arg, std::string* why) {
  std::string text(arg);
  if (text.find("://") == std::string::npos) text = "http://" + text;
  auto u = parse_url(text, why);
  if (!u) return u;
  if (u->path == "/" || u->path.empty() || u->path.ends_with("/v1/ping")) {
    std::string base = u->path.ends_with("/v1/ping") ? u->path.substr(0, u->path.size() - 8) : "";
    u->path = base + "/v1/peers";
    u->query.clear();
  }
  return u;
}

std::string listing_table(const Listing& l) {
  std::vector<std::vector<std::string>> rows = {{"LOCATION", "PINGS", "FAILS", "START", "DURATION",
                                                 "MEAN RTT ms", "MEAN TOTAL ms", "ADDRESS"}};
  for (const auto& e : l.peers)
    rows.push_back({e.location.empty() ? e.identity : e.location, std::to_string(e.pings),
                    std::to_string(e.fails), utc(e.first_unix_s),
                    e.first_unix_s ? duration(e.latest_unix_s - e.first_unix_s) : "-",
                    mean_ms(e.tcp_sum_ns, e.pings), mean_ms(e.total_sum_ns, e.pings),
                    e.peer_ip.empty() ? e.url : e.peer_ip});
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], width(r[c]));
  // Text to the left, numbers to the right.
  const bool left[] = {true, false, false, true, false, false, false, true};
  std::string o;
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      std::string pad(w[c] - width(r[c]), ' ');
      if (c) line += "  ";
      line += left[c] ? r[c] + pad : pad + r[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o += line + "\n";
  }
  return o;
}

int peers_command(int argc, const char* const* argv) {
  auto usage_error = [](const std::string& why) {
    std::fprintf(stderr, "pingmesh peers: %s\n%s", why.c_str(), kUsage);
    return exit_usage;
  };
  bool verify = true;
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return exit_ok;
    }
    if (a == "-k")
      verify = false;
    else if (a.size() > 1 && a[0] == '-')
      return usage_error("unknown flag '" + std::string(a) + "'");
    else
      args.push_back(a);
  }
  if (args.size() != 1)
    return usage_error(args.empty() ? "which node? give its URL" : "one URL only");
  std::string why;
  auto url = listing_url_for(args[0], &why);
  if (!url) return usage_error(why);

  std::string shown = url->display();
  Loop loop;
  std::optional<Listing> listing;
  std::string failure;
  try {
    std::unique_ptr<TlsRandom> random;
    std::shared_ptr<TlsClientConfig> tls_config;
    TlsTarget tls;
    if (url->tls()) {
      random = std::make_unique<TlsRandom>();
      TlsClientOptions to;
      to.verify = verify;
      tls_config = std::make_shared<TlsClientConfig>(*random, to);
      tls.conf = tls_config->get();
      tls.owner = tls_config;
      tls.verify = verify;
    }
    Resolver resolver(loop, Resolver::options_for("", 10000));
    // Done runs on the loop; the Fetch is freed after the loop, never inside it.
    Fetch fetch(loop, resolver, *url, std::move(tls), ProbeLimits{}, kMaxListingBytes,
                [&](const Sample& s, std::string_view body) {
                  if (!s.ok())
                    failure = std::string(to_string(s.reason)) +
                              (s.detail.empty() ? "" : " (" + s.detail + ")");
                  else if (s.http_code != 200)
                    failure = "it answered HTTP " + std::to_string(s.http_code);
                  else if (!(listing = read_listing(body, 100000)))
                    failure = "its answer is not a /v1/peers listing";
                });
    fetch.start();
    loop.run();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!listing) {
    std::fprintf(stderr, "pingmesh peers: cannot read %s: %s\n", shown.c_str(),
                 failure.empty() ? "no answer" : failure.c_str());
    return exit_failure;
  }
  std::printf("%s: %zu peers (%s)\n", listing->location.c_str(), listing->peers.size(),
              shown.c_str());
  std::fputs(listing_table(*listing).c_str(), stdout);
  return exit_ok;
}

}  // namespace pingmesh
