// Responder::Connection, its life and its reading: admission, the channel's bytes, and the
// request parser with the checks on each request head. Answers are in
// responder_connection_answer.cpp.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>

#include "http/responder_connection.hpp"
#include "tls/tls_channel.hpp"

namespace pingmesh {

Responder::Connection::Connection(Responder& owner, bool tls)
    : owner_(owner),
      stream_(owner.loop_, *this),
      timer_(owner.loop_, [this] { on_timeout(); }),
      tls_(tls),
      handshaking_(tls) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = [](llhttp_t* p) { return self(p)->on_message_begin(); };
  settings_.on_url = [](llhttp_t* p, const char* at, size_t n) { return self(p)->on_url(at, n); };
  settings_.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
    return self(p)->on_header_field(at, n);
  };
  settings_.on_header_field_complete = [](llhttp_t* p) {
    return self(p)->on_header_field_complete();
  };
  settings_.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
    return self(p)->on_header_value(at, n);
  };
  settings_.on_header_value_complete = [](llhttp_t* p) {
    return self(p)->on_header_value_complete();
  };
  settings_.on_headers_complete = [](llhttp_t* p) { return self(p)->on_headers_complete(); };
  settings_.on_body = [](llhttp_t* p, const char* at, size_t n) { return self(p)->on_body(at, n); };
  settings_.on_message_complete = [](llhttp_t* p) { return self(p)->on_message_complete(); };
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

// Once admitted: a TLS session is set up only for connections that are kept.
void Responder::Connection::start(const ClientKey& client) {
  client_ = client;
  if (tls_)
    channel_ = std::make_unique<TlsChannel>(owner_.options_.tls, *this);
  else
    channel_ = std::make_unique<PlainChannel>(*this);
  if (owner_.options_per_connection_) {  // else inherited from the listener (listen_all)
    stream_.no_delay();
    int send_buffer = int(owner_.options_.send_buffer_bytes);
    uv_send_buffer_size(stream_.handle(), &send_buffer);
  }
  timer_.start(owner_.options_.first_byte_timeout_ms);
  stream_.start_reading();
  channel_->start();
}

// Gives back what the connection held in the responder's bounds; once, when retired.
void Responder::Connection::leave() {
  owner_.clients_.remove(*this);
  if (handshaking_) --owner_.handshakes_;
  handshaking_ = false;
}

void Responder::Connection::close() {
  timer_.stop();
  stream_.close();
}

void Responder::Connection::on_read(int status, const char* data, size_t len,
                                    uint64_t now) noexcept {
  read_at_ = now;
  more_unread_ = len == kSharedReadBufferSize;  // the read stopped at the buffer's end
  if (status != 0) {
    if (status == UV_EOF)
      on_peer_end();
    else
      owner_.retire(this);
    return;
  }
  if (closing_) {        // answered with Connection: close; discard until the peer's FIN
    quiet_end_ = false;  // more may come: closing with it unread would send a reset
    return;
  }
  if (!spoke_) {
    spoke_ = true;
    timer_.start(handshaking_ ? owner_.options_.handshake_timeout_ms
                              : owner_.options_.header_timeout_ms);
  }
  Channel::Progress p = channel_->receive(data, len, *this);
  if (p.error != FailureReason::none) {
    ++owner_.counters_.tls_failures;
    if (owner_.tls_logged_.first())
      PM_LOG(notice, "responder: a TLS handshake failed: %s (logged once)",
             static_cast<TlsChannel*>(channel_.get())->failure_text().c_str());
    owner_.retire(this);
    return;
  }
  if (p.became_ready) {
    handshaking_ = false;
    --owner_.handshakes_;
    owner_.clients_.handshake_done(*this);
    timer_.start(owner_.options_.header_timeout_ms);
  }
  if (p.closed && !closing_) {
    on_peer_end();
    return;
  }
  if (closing_ && pending_writes_ == 0 && !page_) finish();  // nothing left to send
}

// The client ended its side (FIN, or TLS close_notify) and may still read: what it asked
// for goes out first, and the connection is retired once all of it is in the kernel
// (answer_out), which then sends it and a FIN. Closing now would cancel the queued tail.
// A client that never reads holds the slot no longer than the timer that runs (header,
// idle or linger).
void Responder::Connection::on_peer_end() {
  peer_ended_ = true;
  stream_.stop_reading();
  if (!lingering_ && (pending_writes_ > 0 || page_ || waiting_)) return;
  owner_.retire(this);
}

void Responder::Connection::resume() {
  answers_this_turn_ = 0;
  turn_ = uv_now(owner_.loop_.get());
  answer_out();
}

// Counts an answer sent at once; true when it was this turn's last for this connection.
bool Responder::Connection::spent_turn() {
  uint64_t turn = uv_now(owner_.loop_.get());
  if (turn != turn_) {
    turn_ = turn;
    answers_this_turn_ = 0;
  }
  return ++answers_this_turn_ >= kAnswersPerTurn;
}

// Request bytes, decrypted when the connection is TLS.
void Responder::Connection::on_plain(const char* data, size_t len) {
  if (closing_) return;
  if (!waiting_) {
    parse(data, len);
  } else if (backlog_.size() + len <= kMaxBacklog) {
    backlog_.append(data, len);
  } else {
    ++owner_.counters_.oversized_requests;
    closing_ = true;  // pipelining far ahead of our answers: drop it
    backlog_.clear();
  }
}

// Parses request after request. Requests are answered one at a time: an answer the
// kernel takes at once (the usual case) lets parsing go on, up to kAnswersPerTurn a loop
// turn; otherwise the next request waits in backlog_, and the socket is not read, until
// the answer is out (or the next turn). So a client
// that pipelines without reading cannot make us queue answers without bound: at most
// what its socket buffers hold, and one answer.
// Every byte of a request head counts toward its bound, blank lines and padding too:
// the parser is fed at most one byte past the bound until the head is complete.
void Responder::Connection::parse(const char* data, size_t len) {
  const size_t max_head = owner_.options_.max_header_bytes;
  while (len > 0 && !closing_) {
    size_t n = head_done_ ? len : std::min(len, max_head - head_bytes_ + 1);
    if (!head_done_) head_bytes_ += n;  // reset when the request completes
    auto err = llhttp_execute(&parser_, data, n);
    const char* rest = err == HPE_PAUSED ? llhttp_get_error_pos(&parser_) : nullptr;
    if (closing_) {
      // The client asked to close after this request and sent nothing after it.
      quiet_end_ = client_ends_ && rest == data + len && !more_unread_;
      return;
    }
    if (err == HPE_PAUSED) {
      bool out = pending_writes_ == 0 && !page_;
      if (out && !spent_turn()) {  // the answer is out: on to the next request
        llhttp_resume(&parser_);
        len -= size_t(rest - data);
        data = rest;
        continue;
      }
      backlog_.assign(rest, size_t(data + len - rest));
      waiting_ = true;
      stream_.stop_reading();
      if (out) owner_.defer(this);  // this turn's share is spent: the rest goes on next turn
      return;
    }
    if (err == HPE_PAUSED_UPGRADE) {  // CONNECT or Upgrade: answered, then closed
      closing_ = true;
      return;
    }
    if (err == HPE_USER) {
      oversized(413);
      return;
    }
    if (err != HPE_OK) {
      refuse(400);
      return;
    }
    if (!head_done_ && head_bytes_ > max_head) {
      oversized(431);
      return;
    }
    data += n;
    len -= n;
  }
  // A request is under way and all of it is not here: its header timeout runs from now.
  // Started here, not at its first byte, so that a request that arrives whole (nearly
  // all) costs one timer restart, not two.
  if (in_request_ && !header_timer_started_ && !closing_) {
    header_timer_started_ = true;
    timer_.start(owner_.options_.header_timeout_ms);
  }
}

bool Responder::Connection::iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

int Responder::Connection::on_message_begin() {
  url_.clear();
  body_bytes_ = 0;
  body_.clear();
  route_ = nullptr;
  authorization_.clear();
  content_type_.clear();
  host_.clear();
  origin_.clear();
  referer_.clear();
  fetch_site_.clear();
  forwarded_ = false;
  hosts_ = 0;
  expect_continue_ = expect_other_ = false;
  field_.clear();
  in_request_ = true;
  header_timer_started_ = false;
  return 0;
}

int Responder::Connection::on_url(const char* at, size_t n) {
  url_.append(at, n);  // within the head bound
  return 0;
}

// Only a few names matter; longer ones are kept truncated and never match.
int Responder::Connection::on_header_field(const char* at, size_t n) {
  field_.append(at, std::min(n, kMaxName - std::min(kMaxName, field_.size())));
  return 0;
}

int Responder::Connection::on_header_field_complete() {
  field_kind_ = iequals(field_, "host")             ? Field::host
                : iequals(field_, "expect")         ? Field::expect
                : iequals(field_, "authorization")  ? Field::authorization
                : iequals(field_, "content-type")   ? Field::content_type
                : iequals(field_, "origin")         ? Field::origin
                : iequals(field_, "referer")        ? Field::referer
                : iequals(field_, "sec-fetch-site") ? Field::fetch_site
                : iequals(field_, "forwarded") || iequals(field_, "x-forwarded-for") ||
                        iequals(field_, "x-real-ip")
                    ? Field::forwarded
                    : Field::other;
  field_.clear();
  value_.clear();
  return 0;
}

int Responder::Connection::on_header_value(const char* at, size_t n) {
  auto keep = [&](std::string& into, size_t bound) {
    into.append(at, std::min(n, bound - std::min(bound, into.size())));
  };
  if (field_kind_ == Field::expect) keep(value_, kMaxName);
  if (field_kind_ == Field::authorization) keep(authorization_, kMaxAuthorization);
  if (field_kind_ == Field::content_type) keep(content_type_, kMaxName * 4);
  // Enough of each to name a site: the API decides from them whether a request that
  // came over loopback is a local user's (api_access.hpp).
  if (field_kind_ == Field::host) keep(host_, kMaxSite);
  if (field_kind_ == Field::origin) keep(origin_, kMaxSite);
  if (field_kind_ == Field::referer) keep(referer_, kMaxSite);
  if (field_kind_ == Field::fetch_site) keep(fetch_site_, kMaxName);
  if (field_kind_ == Field::forwarded) forwarded_ = true;
  return 0;
}

int Responder::Connection::on_header_value_complete() {
  if (field_kind_ == Field::host) ++hosts_;
  if (field_kind_ == Field::expect)
    (iequals(value_, "100-continue") ? expect_continue_ : expect_other_) = true;
  field_kind_ = Field::other;
  return 0;
}

// Checks that need the whole head (RFC 9112 and RFC 9110).
int Responder::Connection::on_headers_complete() {
  head_done_ = true;
  if (parser_.http_major != 1) return refuse(505);
  bool http11 = parser_.http_minor >= 1;
  if (http11 && hosts_ != 1) return refuse(400);  // RFC 9112 3.2
  // An HTTP/1.0 client's Expect is ignored (RFC 9110 10.1.1).
  if (http11 && expect_other_) return refuse(417);
  bool has_body = (parser_.flags & F_CHUNKED) ||
                  ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > 0);
  std::string_view path(url_);
  route_ = owner_.routes_.find(path.substr(0, path.find('?')));
  reads_body_ = has_body && route_ && route_->max_body > 0 &&
                (route_->methods & method_bit(method_of(parser_.method)));
  body_limit_ = reads_body_ ? std::min(route_->max_body, owner_.options_.max_body_bytes)
                            : owner_.options_.max_body_bytes;
  if ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > body_limit_) {
    oversized(413);  // said up front: no need to read it
    return -1;
  }
  if (http11 && expect_continue_ && has_body) {
    if (reads_body_) {
      if (channel_->send("HTTP/1.1 100 Continue\r\n\r\n") != 0) closing_ = broken_ = true;
      return 0;
    }
    // The route reads no body, so the final answer follows from the head alone: sent at
    // once instead of 100 Continue (RFC 9110 10.1.1), and the body is never read.
    ++owner_.counters_.requests;
    answer(false);
    closing_ = true;
    return -1;  // parsing ends here; the error is not reported while closing
  }
  return 0;
}

int Responder::Connection::on_body(const char* at, size_t n) {
  body_bytes_ += n;
  if (body_bytes_ > body_limit_) return -1;
  if (reads_body_) body_.append(at, n);
  return 0;
}

int Responder::Connection::on_message_complete() {
  ++owner_.counters_.requests;
  answered_ = true;
  in_request_ = false;
  head_done_ = false;
  head_bytes_ = 0;
  bool keep = llhttp_should_keep_alive(&parser_);
  answer(keep);
  if (!keep) {
    client_ends_ = true;  // Connection: close, or HTTP/1.0 without keep-alive
    closing_ = true;
    // The answer may wait on a client that does not read: bounded like a request, not
    // by the idle timeout the previous answer started.
    timer_.start(owner_.options_.header_timeout_ms);
    return HPE_PAUSED;
  }
  timer_.start(owner_.options_.idle_timeout_ms);
  return HPE_PAUSED;  // one request at a time
}

Method Responder::Connection::method_of(uint8_t m) {
  switch (llhttp_method_t(m)) {
    case HTTP_GET:
      return Method::get;
    case HTTP_HEAD:
      return Method::head;
    case HTTP_POST:
      return Method::post;
    case HTTP_PUT:
      return Method::put;
    case HTTP_DELETE:
      return Method::del;
    default:
      return Method::other;
  }
}

void Responder::Connection::on_timeout() {
  if (lingering_) {
    owner_.retire(this);
    return;
  }
  ++owner_.counters_.timeouts;
  if (owner_.timeout_logged_.first())
    PM_LOG(notice,
           "responder: closed a connection silent past its first-byte, header or idle timeout "
           "(logged once)");
  owner_.retire(this);
}

}  // namespace pingmesh
