// Peer URLs as the command line, the ini file and PINGMESH_URL give them: parse_url and
// split_peer_arg on any bytes. An accepted URL must hold what the prober relies on, and
// must read back the same from the form we write it in.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/url.hpp"

using pingmesh::parse_url;
using pingmesh::Url;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_url(const Url& u) {
  check(u.scheme == "http" || u.scheme == "https");
  check(!u.host.empty() && u.port != 0);
  check(u.path.starts_with("/"));
  check(u.target().starts_with(u.path));
  // The request line and Host: header must stay one token each.
  for (unsigned char c : u.target() + u.authority) check(c > ' ' && c != 0x7f);
  // scheme://authority/path?query reads back as the same URL.
  std::string again = u.scheme + "://" + u.authority + u.target();
  auto v = parse_url(again, nullptr);
  check(v.has_value());
  check(v->host == u.host && v->port == u.port && v->path == u.path && v->query == u.query);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto arg = pingmesh::split_peer_arg(text);
  check(arg.url.size() + arg.location.size() <= text.size());
  std::string error;
  if (auto u = parse_url(arg.url, &error)) {
    check(error.empty());
    check_url(*u);
  } else {
    check(!error.empty());
  }
  return 0;
}
