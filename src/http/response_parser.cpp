#include "http/response_parser.hpp"

#include <algorithm>

namespace pingmesh {

ResponseParser::ResponseParser(size_t keep_bytes) : keep_bytes_(keep_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_headers_complete = &ResponseParser::on_headers_complete;
  settings_.on_body = &ResponseParser::on_body;
  settings_.on_message_complete = &ResponseParser::on_message_complete;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  self->status_ = p->status_code;
  // 1xx interim responses are skipped by llhttp; the final status overwrites.
  return 0;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  self->body_bytes_ += len;
  size_t room = self->keep_bytes_ - std::min(self->keep_bytes_, self->body_start_.size());
  self->body_start_.append(at, std::min(room, len));
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (p->status_code >= 100 && p->status_code < 200) return 0;  // interim; wait for the final
  self->complete_ = true;
  return HPE_PAUSED;  // one response per connection; ignore anything after it
}

ResponseParser::State ResponseParser::result(llhttp_errno_t err) {
  if (complete_) return State::complete;
  if (err == HPE_OK) return State::incomplete;
  return State::error;
}

ResponseParser::State ResponseParser::feed(const char* data, size_t len) {
  if (complete_) return State::complete;
  return result(llhttp_execute(&parser_, data, len));
}

ResponseParser::State ResponseParser::finish() {
  if (complete_) return State::complete;
  // A body delimited by the connection's end completes here; otherwise it is an error.
  llhttp_errno_t err = llhttp_finish(&parser_);
  if (!complete_ && err == HPE_OK) return State::error;
  return result(err);
}

}  // namespace pingmesh
