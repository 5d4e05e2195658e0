// Probe side: an HTTP/1.1 response read with llhttp. It counts body bytes and keeps
// the first few KB so the peer's location can be read.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pingmesh {

class ResponseParser {
 public:
  static constexpr size_t kKeptBodyBytes = 4096;
  enum class State { incomplete, complete, error };

  // keep_bytes: how much of the body is kept (the location is in the first few KB; a
  // fetch of /v1/peers keeps it whole, within its bound).
  explicit ResponseParser(size_t keep_bytes = kKeptBodyBytes);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  State feed(const char* data, size_t len);
  State finish();  // the server closed the connection

  int status() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }
  const std::string& body_start() const { return body_start_; }
  // The `hold` duration of the response's Server-Timing header (the peer's own time
  // between our request and its answer), in ns; -1 if it gave none.
  int64_t server_hold_ns() const { return server_hold_ns_; }

 private:
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  State result(llhttp_errno_t err);

  llhttp_settings_t settings_;
  llhttp_t parser_;
  int status_ = 0;
  uint64_t body_bytes_ = 0;
  std::string body_start_;
  bool complete_ = false;
  // The header being read: its name, then (for Server-Timing) its value, both bounded.
  std::string header_;
  bool in_value_ = false;
  bool skip_header_ = false;  // not Server-Timing, or too long to be it
  int64_t server_hold_ns_ = -1;
  size_t keep_bytes_;
};

}  // namespace pingmesh
