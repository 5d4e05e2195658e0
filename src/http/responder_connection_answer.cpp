// Responder::Connection's answers: the status line, headers and body of each, a shared page
// sent a part at a time, and what follows once they are written.
#include <algorithm>
#include <charconv>
#include <exception>
#include <string>
#include <string_view>

#include "http/responder_connection.hpp"
#include "loop/clock.hpp"

namespace pingmesh {

namespace {

void append_number(std::string& out, uint64_t n) {
  char digits[20];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, size_t(end - digits));
}

}  // namespace

int Responder::Connection::send_raw(std::string_view bytes) {
  int rc = stream_.send(bytes);  // at once when the kernel takes it all (no callback)
  if (rc == 0) ++pending_writes_;
  if (rc < 0) broken_ = true;
  return rc < 0 ? rc : 0;
}

void Responder::Connection::on_written(int status) noexcept {
  --pending_writes_;
  if (status != 0) {
    owner_.retire(this);
    return;
  }
  if (pending_writes_ > 0) return;
  if (page_) send_body();  // the next records of a shared page
  if (pending_writes_ == 0 && !page_) answer_out();
}

// Everything queued is out: end the connection, or go on to the request waiting.
// A client that ended its side is closed once nothing is left to send.
void Responder::Connection::answer_out() {
  if (closing_) {
    finish();
    return;
  }
  if (waiting_) {
    waiting_ = false;
    llhttp_resume(&parser_);
    if (!peer_ended_) stream_.start_reading();
    std::string rest;
    rest.swap(backlog_);
    if (!rest.empty()) parse(rest.data(), rest.size());
    if (closing_ && pending_writes_ == 0 && !page_) {
      finish();
      return;
    }
  }
  if (peer_ended_ && !waiting_ && pending_writes_ == 0 && !page_) owner_.retire(this);
}

// The last answer is out, or could not be sent. A client that asked to close and sent
// nothing after its request is closed at once: its kernel holds the whole answer, and
// with no unread input here close() sends FIN, not a reset. So is one that ended its
// side: its FIN (or close_notify) was read, no more is to come. Otherwise half-close and read
// until the client's FIN (at most kLingerMs): closing with unread input would send a
// reset that can destroy the answer in flight. May retire this connection (freed on the
// next loop turn, so callers may still read its members).
void Responder::Connection::finish() {
  if (lingering_) return;
  if (broken_ || quiet_end_ || peer_ended_) {
    owner_.retire(this);
    return;
  }
  lingering_ = true;
  stream_.start_reading();  // stopped while an answer waited: the client's FIN must be seen
  stream_.shutdown();
  timer_.start(kLingerMs);
}

// Looks the route up and answers with what its handler says. A handler never destroys
// the responder: it may only change state and return.
void Responder::Connection::answer(bool keep) {
  Method method = method_of(parser_.method);
  bool head = method == Method::head;
  std::string_view url(url_);
  size_t q = url.find('?');
  std::string_view path = url.substr(0, q);
  // Again: a reload may have changed the table since the head was read.
  route_ = owner_.routes_.find(path);
  if (!route_) return reply(Reply::text(404, "404 page not found\n"), keep, head);
  if (!(route_->methods & method_bit(head ? Method::get : method))) {
    Reply r = Reply::text(405, "method not allowed\n");
    r.headers = "Allow: " + allow_header(route_->methods) + "\r\n";
    return reply(r, keep);
  }
  Request request;
  request.method = method;
  request.path = path;
  request.query = q == std::string_view::npos ? std::string_view() : url.substr(q + 1);
  request.body = body_;
  request.authorization = authorization_;
  request.content_type = content_type_;
  request.host = host_;
  request.origin = origin_;
  request.referer = referer_;
  request.fetch_site = fetch_site_;
  request.forwarded = forwarded_;
  request.client = client_;
  request.tls = tls_;
  Reply r;
  try {
    r = route_->handler(request);
  } catch (const std::exception& e) {  // out of memory, say: this request fails, not us
    PM_LOG(error, "responder: %s failed: %s", route_->path.c_str(), e.what());
    r = Reply::text(500, "internal error\n");
  }
  reply(r, keep, head);
}

// Sends the status line and headers, then the body: a small one copied along, a shared
// page referenced (plain) or encrypted a record at a time as the last one is written (TLS).
void Responder::Connection::reply(const Reply& a, bool keep, bool head) {
  const SharedPage::Buffer& shared = a.shared;
  size_t length = shared ? shared->size() : a.body.size();
  bool inline_body = !shared || shared->size() <= kInlineBody;  // one write, not two
  // Built in the responder's one scratch buffer: the channel copies what it does not send
  // at once, so the buffer is free again when send() returns.
  std::string& r = owner_.scratch_;
  r.clear();
  r += "HTTP/1.1 ";
  append_number(r, uint64_t(a.status));
  r += ' ';
  r += reason_phrase(a.status);
  r += "\r\n";
  if (!a.content_type.empty() && length > 0) {
    r += "Content-Type: ";
    r += a.content_type;
    r += "\r\n";
  }
  r += a.headers;
  // How long we held the request (from the read that completed it), so that a prober
  // can tell our time from the network's: milliseconds with three decimals.
  uint64_t us = (mono_ns() - read_at_ + 500) / 1000;
  r += "Server-Timing: hold;dur=";
  append_number(r, us / 1000);
  r += '.';
  char frac[3] = {char('0' + us / 100 % 10), char('0' + us / 10 % 10), char('0' + us % 10)};
  r.append(frac, 3);
  r += "\r\n";
  if (a.status != 204) {
    r += "Content-Length: ";
    append_number(r, length);
    r += "\r\n";
  }
  // An HTTP/1.0 client keeps the connection only when told so (RFC 9112 9.3); without
  // it, the client waits for a close that never comes.
  if (!keep)
    r += "Connection: close\r\n\r\n";
  else if (parser_.http_major == 1 && parser_.http_minor == 0)
    r += "Connection: keep-alive\r\n\r\n";
  else
    r += "\r\n";
  if (!head && inline_body) r += shared ? std::string_view(*shared) : std::string_view(a.body);
  int sent = channel_->send(r);
  if (r.capacity() > kKeptScratch) std::string().swap(r);  // a big page's: not kept
  if (sent != 0) {
    closing_ = broken_ = true;
    return;
  }
  if (head || inline_body) return;
  page_ = shared;
  page_at_ = 0;
  send_body();
}

// Plain: the rest of the page in one write that references it. TLS: a record at a time,
// the next one as soon as the last is out: at once while the kernel takes them (so at
// most its buffers' worth in one go), else from on_written.
void Responder::Connection::send_body() {
  while (page_) {
    size_t n = page_->size() - page_at_;
    int rc;
    if (tls_) {
      n = std::min(n, kTlsChunk);
      rc = channel_->send(std::string_view(*page_).substr(page_at_, n));
    } else {
      rc = stream_.write(page_, page_at_, n);
      if (rc == 0) ++pending_writes_;
    }
    page_at_ += n;
    if (rc != 0) closing_ = broken_ = true;
    if (rc != 0 || page_at_ == page_->size()) page_.reset();
    if (pending_writes_ > 0) return;
  }
}

// Answers an error and ends the connection; returns -1 to stop the parser.
int Responder::Connection::refuse(int code) {
  ++owner_.counters_.bad_requests;
  reply(Reply::text(code, ""), false);
  closing_ = true;
  return -1;
}

void Responder::Connection::oversized(int code) {
  ++owner_.counters_.oversized_requests;
  if (owner_.oversize_logged_.first())
    PM_LOG(warning,
           "responder: request over the header or body bound, answered 431/413 (logged once)");
  reply(Reply::text(code, ""), false);
  closing_ = true;
}

}  // namespace pingmesh
