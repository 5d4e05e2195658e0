// Responder::Connection's answers: the status line, headers and body of each, a shared page
// sent a part at a time, and what follows once they are written.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "http/responder_connection.hpp"
#include "loop/clock.hpp"

namespace pingmesh {

int Responder::Connection::send_raw(std::string_view bytes) {
  int rc = stream_.write(bytes);
  if (rc == 0) ++pending_writes_;
  return rc;
}

void Responder::Connection::on_written(int status) noexcept {
  --pending_writes_;
  if (status != 0) {
    owner_.retire(this);
  } else if (pending_writes_ > 0) {
    return;
  } else if (page_) {
    send_body();  // the next record of a shared page
  } else if (closing_ && !lingering_) {
    // Half-close and read until the client's FIN: closing with unread input would
    // send a reset that can destroy the answer in flight.
    lingering_ = true;
    stream_.shutdown();
    timer_.start(kLingerMs);
  } else if (waiting_) {
    waiting_ = false;
    llhttp_resume(&parser_);
    stream_.start_reading();
    std::string rest;
    rest.swap(backlog_);
    if (!rest.empty()) parse(rest.data(), rest.size());
    if (closing_ && pending_writes_ == 0 && !page_) owner_.retire(this);
  }
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
  std::string r;
  r.reserve(160 + a.headers.size() + (inline_body ? length : 0));
  r += "HTTP/1.1 " + std::to_string(a.status) + " " + reason_phrase(a.status) + "\r\n";
  if (!a.content_type.empty() && length > 0) r += "Content-Type: " + a.content_type + "\r\n";
  r += a.headers;
  // How long we held the request (from the read that completed it), so that a prober
  // can tell our time from the network's.
  char hold[64];
  std::snprintf(hold, sizeof hold, "Server-Timing: hold;dur=%.3f\r\n",
                double(mono_ns() - read_at_) / 1e6);
  r += hold;
  if (a.status != 204) r += "Content-Length: " + std::to_string(length) + "\r\n";
  // An HTTP/1.0 client keeps the connection only when told so (RFC 9112 9.3); without
  // it, the client waits for a close that never comes.
  if (!keep)
    r += "Connection: close\r\n\r\n";
  else if (parser_.http_major == 1 && parser_.http_minor == 0)
    r += "Connection: keep-alive\r\n\r\n";
  else
    r += "\r\n";
  if (!head && inline_body) r += shared ? std::string_view(*shared) : std::string_view(a.body);
  if (channel_->send(r) != 0) {
    closing_ = true;
    return;
  }
  if (head || inline_body) return;
  page_ = shared;
  page_at_ = 0;
  send_body();
}

void Responder::Connection::send_body() {
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
  if (rc != 0) closing_ = true;
  if (rc != 0 || page_at_ == page_->size()) page_.reset();
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
