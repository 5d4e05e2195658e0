// The responder's route table: each component registers the paths it answers (the ping
// page, /v1/peers, /metrics, the page, the API), and the responder only looks them up.
// The table outlives the responders that use it: a reload may replace the responder, and
// the routes stay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/client_table.hpp"
#include "http/shared_page.hpp"

namespace pingmesh {

enum class Method : uint8_t { get, head, post, put, del, other };

constexpr uint8_t method_bit(Method m) {
  return uint8_t(1u << unsigned(m));
}
// GET answers HEAD too, with the same head and no body.
inline constexpr uint8_t kReadOnly = method_bit(Method::get);

struct Request {
  Method method = Method::get;
  std::string_view path;           // without the query
  std::string_view query;          // after '?', as sent
  std::string_view body;           // only for routes that take one, within their bound
  std::string_view authorization;  // the Authorization header (bounded); never logged
  std::string_view content_type;
  // What a browser or a proxy says about where a request comes from (each bounded).
  std::string_view host;        // the Host header
  std::string_view origin;      // Origin
  std::string_view referer;     // Referer, its start
  std::string_view fetch_site;  // Sec-Fetch-Site
  bool forwarded = false;       // it carried Forwarded, X-Forwarded-For or X-Real-IP
  ClientKey client;             // the connection's peer address
  bool tls = false;
};

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  SharedPage::Buffer shared;  // a large page that many answers share; instead of body
  std::string headers;        // extra header lines, each ending in "\r\n"

  static Reply text(int status, std::string body);
};

// The reason phrase for a status code we answer with.
const char* reason_phrase(int status);

// True for 127.0.0.0/8, ::1, and IPv4-mapped loopback.
bool is_loopback(const ClientKey& k);
// The address as text: "127.0.0.1" or "::1".
std::string to_string(const ClientKey& k);

class Routes {
 public:
  using Handler = std::function<Reply(const Request&)>;
  struct Route {
    std::string path;  // exact, or every path under it when prefix ("/v1/peers/")
    bool prefix = false;
    uint8_t methods = kReadOnly;
    size_t max_body = 0;      // bytes of body the route reads; 0: none
    std::string description;  // one line for the index page; empty: not listed
    Handler handler;
  };

  // Adds a route, or replaces the one at the same path.
  void set(Route r);
  void remove(const std::string& path);

  // The exact route, else the longest prefix route that covers path; null if none.
  const Route* find(std::string_view path) const;

  // The index: every described route, as links.
  std::string index_page() const;
  // Every described route (path, description), in path order: the page's links.
  std::vector<std::pair<std::string, std::string>> described() const;

 private:
  std::map<std::string, Route, std::less<>> routes_;
};

// A GET route that answers page, built at most once per its max age and shared by every
// answer in flight. page must outlive the route.
Routes::Route shared_page_route(std::string path, std::string description, std::string content_type,
                                SharedPage& page);

// "GET, HEAD, POST": what a route allows, for 405's Allow header.
std::string allow_header(uint8_t methods);

}  // namespace pingmesh
