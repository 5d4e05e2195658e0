#include "http/routes.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "loop/clock.hpp"

namespace pingmesh {

Reply Reply::text(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

bool is_loopback(const ClientKey& k) {
  static constexpr uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(k.bytes.data(), v6_loopback, 16) == 0) return true;
  return std::memcmp(k.bytes.data(), v4_mapped, 12) == 0 && k.bytes[12] == 127;
}

std::string to_string(const ClientKey& k) {
  static constexpr uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN] = "";
  if (std::memcmp(k.bytes.data(), v4_mapped, 12) == 0)
    inet_ntop(AF_INET, &k.bytes[12], text, sizeof text);
  else
    inet_ntop(AF_INET6, k.bytes.data(), text, sizeof text);
  return text;
}

void Routes::set(Route r) {
  std::string path = r.path;
  routes_[path] = std::move(r);
}

void Routes::remove(const std::string& path) {
  routes_.erase(path);
}

const Routes::Route* Routes::find(std::string_view path) const {
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  // Prefix routes end in '/': the longest one that path starts with wins.
  const Route* best = nullptr;
  for (const auto& [p, r] : routes_)
    if (r.prefix && path.starts_with(p) && (!best || p.size() > best->path.size())) best = &r;
  return best;
}

std::string Routes::index_page() const {
  std::string o =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pingmesh</title></head><body>\n"
      "<h1>pingmesh</h1>\n<ul>\n";
  for (const auto& [path, r] : routes_) {
    if (r.description.empty()) continue;
    o += "<li><a href=\"" + path + "\">" + path + "</a>: " + r.description + "</li>\n";
  }
  o += "</ul>\n</body></html>\n";
  return o;
}

std::vector<std::pair<std::string, std::string>> Routes::described() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [path, r] : routes_)
    if (!r.description.empty()) out.emplace_back(path, r.description);
  return out;
}

Routes::Route shared_page_route(std::string path, std::string description, std::string content_type,
                                SharedPage& page) {
  Routes::Route r;
  r.path = std::move(path);
  r.description = std::move(description);
  r.handler = [&page, type = std::move(content_type)](const Request&) {
    Reply a;
    a.content_type = type;
    a.shared = page.get(mono_ns());
    return a;
  };
  return r;
}

std::string allow_header(uint8_t methods) {
  static constexpr std::pair<Method, const char*> names[] = {{Method::get, "GET, HEAD"},
                                                             {Method::post, "POST"},
                                                             {Method::put, "PUT"},
                                                             {Method::del, "DELETE"}};
  std::string o;
  for (auto [m, name] : names) {
    if (!(methods & method_bit(m))) continue;
    if (!o.empty()) o += ", ";
    o += name;
  }
  return o;
}

}  // namespace pingmesh
