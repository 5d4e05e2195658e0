#include "http/response_parser.hpp"

#include <strings.h>
#include <algorithm>
#include <cstdlib>

namespace pingmesh {

ResponseParser::ResponseParser(size_t keep_bytes) : keep_bytes_(keep_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_header_field = &ResponseParser::on_header_field;
  settings_.on_header_value = &ResponseParser::on_header_value;
  settings_.on_header_value_complete = &ResponseParser::on_header_value_complete;
  settings_.on_headers_complete = &ResponseParser::on_headers_complete;
  settings_.on_body = &ResponseParser::on_body;
  settings_.on_message_complete = &ResponseParser::on_message_complete;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

namespace {

constexpr std::string_view kServerTiming = "server-timing";
constexpr size_t kMaxServerTiming = 256;  // longer values are not ours: ignored

// "1.234" (ms, up to 7 integer digits, then ';' ',' ' ' or the end) in ns rounded to
// the nearest; -1 for anything else.
int64_t plain_ms_to_ns(std::string_view v) {
  size_t i = 0;
  int64_t ms = 0;
  for (; i < v.size() && i < 8 && v[i] >= '0' && v[i] <= '9'; ++i) ms = ms * 10 + (v[i] - '0');
  if (i == 0 || i == 8 || ms > 3'600'000) return -1;
  int64_t ns = ms * 1000000, scale = 100000;
  if (i < v.size() && v[i] == '.') {
    size_t first = ++i;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
      if (scale > 0) {
        ns += (v[i] - '0') * scale;
        scale /= 10;
      } else if (i == first + 6 && v[i] >= '5') {
        ++ns;  // the seventh decimal rounds the sixth
      }
    }
    if (i == first) return -1;
  }
  if (i < v.size() && v[i] != ';' && v[i] != ',' && v[i] != ' ') return -1;
  return ns <= 3'600'000'000'000 ? ns : -1;
}

// "hold;dur=1.234" (milliseconds), among other metrics: the hold's duration in ns.
int64_t hold_of(std::string_view v) {
  for (size_t at = 0; at < v.size();) {
    size_t end = std::min(v.find(',', at), v.size());
    std::string_view metric = v.substr(at, end - at);
    at = end + 1;
    while (!metric.empty() && metric.front() == ' ') metric.remove_prefix(1);
    if (metric.substr(0, 4) != "hold" ||
        (metric.size() > 4 && metric[4] != ';' && metric[4] != ' '))
      continue;
    size_t dur = metric.find("dur=");
    if (dur == std::string_view::npos) return -1;
    std::string_view digits = metric.substr(dur + 4, 31);
    // Plain decimals ("0.022", what responders send) in integers, exactly; anything
    // else through strtod, whose locale-aware work is most of the parse.
    if (int64_t ns = plain_ms_to_ns(digits); ns >= 0) return ns;
    char number[32];  // strtod needs its end: a copy on the stack, not the heap
    digits.copy(number, digits.size());
    number[digits.size()] = '\0';
    char* stop = nullptr;
    double ms = std::strtod(number, &stop);
    if (stop == number || !(ms >= 0) || ms > 3.6e6) return -1;
    return int64_t(ms * 1e6 + 0.5);
  }
  return -1;
}

}  // namespace

int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (self->in_value_) {
    self->header_.clear();
    self->skip_header_ = false;
  }
  self->in_value_ = false;
  if (self->skip_header_) return 0;
  if (self->header_.size() + len <= kServerTiming.size())
    self->header_.append(at, len);
  else
    self->skip_header_ = true;  // too long to be the one we read
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (!self->in_value_) {
    self->in_value_ = true;
    self->skip_header_ =
        self->skip_header_ || self->header_.size() != kServerTiming.size() ||
        strncasecmp(self->header_.data(), kServerTiming.data(), kServerTiming.size()) != 0;
    self->header_.clear();
  }
  if (!self->skip_header_ && self->header_.size() + len <= kMaxServerTiming)
    self->header_.append(at, len);
  return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (!self->skip_header_ && self->server_hold_ns_ < 0)
    self->server_hold_ns_ = hold_of(self->header_);
  self->header_.clear();
  return 0;
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
