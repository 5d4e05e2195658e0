// The daemon's routes for a responder under test: the ping page of a location, and a
// /v1/peers of whatever text the test gives, shared as the daemon shares it.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "http/ping_page.hpp"
#include "http/routes.hpp"
#include "http/shared_page.hpp"

namespace pingmesh::testing {

struct TestRoutes {
  explicit TestRoutes(
      std::string location,
      std::function<std::string()> peers_json = [] { return std::string("{}"); },
      uint64_t peers_max_age_ms = 1000, size_t max_held_bytes = 8 << 20)
      : peers("/v1/peers", std::move(peers_json), peers_max_age_ms * 1000000, max_held_bytes) {
    Routes::Route ping;
    ping.path = "/v1/ping";
    ping.handler = [page = ping_page(location)](const Request&) {
      Reply r;
      r.content_type = "text/html; charset=utf-8";
      r.body = page;
      return r;
    };
    table.set(std::move(ping));
    table.set(shared_page_route("/v1/peers", "peers", "application/json", peers));
    Routes::Route index;
    index.path = "/";
    index.handler = [this](const Request&) {
      Reply r;
      r.content_type = "text/html; charset=utf-8";
      r.body = table.index_page();
      return r;
    };
    table.set(std::move(index));
  }
  TestRoutes(const TestRoutes&) = delete;

  SharedPage peers;
  Routes table;
};

}  // namespace pingmesh::testing
