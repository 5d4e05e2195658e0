// A peer's reply as the probe reads it: bytes through ResponseParser (llhttp) in the
// pieces the socket hands over, the end of the connection, then the Sample the probe
// makes of it (Probe::finish's code, status, size and location) and the lines printed.
//
// Input: one byte that picks the read size and the path that asked, then the reply.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "export/json_sink.hpp"
#include "export/text_format.hpp"
#include "http/ping_page.hpp"
#include "http/response_parser.hpp"

using pingmesh::ResponseParser;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned control = data[0];
  std::string_view reply(reinterpret_cast<const char*>(data + 1), size - 1);
  // Reads of 1 to 64 bytes, or all at once; the path is /v1/ping, /v1/peers or another.
  const size_t piece = (control & 0x3f) ? (control & 0x3f) : reply.size() + 1;
  const char* paths[] = {"/v1/ping", "/v1/peers", "/", "/x/v1/ping"};
  const std::string path = paths[(control >> 6) & 3];

  ResponseParser parser;
  auto state = ResponseParser::State::incomplete;
  for (size_t at = 0; at < reply.size() && state == ResponseParser::State::incomplete;
       at += piece) {
    auto part = reply.substr(at, piece);
    state = parser.feed(part.data(), part.size());
  }
  if (state == ResponseParser::State::incomplete) state = parser.finish();
  check(parser.body_start().size() <= ResponseParser::kKeptBodyBytes);
  check(parser.body_start().size() <= parser.body_bytes());

  pingmesh::Sample s;
  s.url = "http://peer.example" + path;
  s.remote_addr = "127.0.0.1";
  bool answered = state == ResponseParser::State::complete && parser.status();
  s.reason = !answered               ? pingmesh::FailureReason::http_parse
             : parser.status() > 304 ? pingmesh::FailureReason::http_status
                                     : pingmesh::FailureReason::none;
  s.http_code = answered ? parser.status() : 502;
  s.size = answered ? parser.body_bytes() : 0;
  s.location = "unknown";
  if (s.http_code == 200 && pingmesh::is_pingmesh_path(path)) {
    auto loc = pingmesh::extract_location(parser.body_start(), path.ends_with("/v1/peers"));
    check(loc.size() <= parser.body_start().size());
    if (!loc.empty()) s.location = std::move(loc);
  }
  std::string row = pingmesh::text_row(s);
  std::string line = pingmesh::text_short_line(1, s);
  std::string json = pingmesh::json_sample(s, "here");
  // Whatever a peer sends, a JSON line stays one line.
  for (unsigned char c : json) check(c >= 0x20);
  check(!row.empty() && !line.empty());
  return 0;
}
