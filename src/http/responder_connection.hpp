// One connection of the Responder: its channel (plain or TLS), its request parser, its
// timers and its answers. Internal to the responder: included only by responder.cpp and by
// the two files that define it, responder_connection.cpp (its life, reading and parsing) and
// responder_connection_answer.cpp (its answers).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "http/responder.hpp"

namespace pingmesh {

class Responder::Connection final : public TcpStream::Events,
                                    public Channel::Wire,
                                    public Channel::Reader,
                                    public ClientTable::Member {
 public:
  static constexpr uint64_t kLingerMs = 1000;
  static constexpr size_t kMaxBacklog = 128 * 1024;
  static constexpr size_t kTlsChunk = 16 * 1024;  // one record of a shared page at a time
  // Answers one connection gets in one loop turn: a client pipelining small requests
  // must not hold the loop (and every probe's stamps) for thousands of them.
  static constexpr int kAnswersPerTurn = 16;

  Connection(Responder& owner, bool tls);

  TcpStream& stream() { return stream_; }

  bool handshaking() const { return handshaking_; }

  // Idle: no answer being written. Never sent a byte, mid-request, between requests, or
  // lingering after the last answer.
  bool evictable() const override { return pending_writes_ == 0 && !page_; }
  bool answered() const override { return answered_; }

  void start(const ClientKey& client);
  void leave();
  void close();
  // Goes on with the requests waiting after this turn's share (Responder::defer).
  void resume();

  void on_read(int status, const char* data, size_t len, uint64_t now) noexcept override;
  void on_plain(const char* data, size_t len) override;
  void parse(const char* data, size_t len);

  int send_raw(std::string_view bytes) override;
  void on_written(int status) noexcept override;

 private:
  enum class Field {
    other,
    host,
    expect,
    authorization,
    content_type,
    origin,
    referer,
    fetch_site,
    forwarded
  };

  static Connection* self(llhttp_t* p) { return static_cast<Connection*>(p->data); }

  static bool iequals(std::string_view a, std::string_view b);

  // The request parser's callbacks.
  int on_message_begin();
  int on_url(const char* at, size_t n);
  int on_header_field(const char* at, size_t n);
  int on_header_field_complete();
  int on_header_value(const char* at, size_t n);
  int on_header_value_complete();
  int on_headers_complete();
  int on_body(const char* at, size_t n);
  int on_message_complete();

  static Method method_of(uint8_t m);

  void answer(bool keep);
  void reply(const Reply& a, bool keep, bool head = false);
  void send_body();
  int refuse(int code);
  void oversized(int code);

  bool spent_turn();
  void on_peer_end();
  void on_timeout();
  void answer_out();
  void finish();

  static constexpr size_t kMaxName = 16;
  static constexpr size_t kMaxSite = 300;           // a scheme, a DNS name (253) and a port
  static constexpr size_t kMaxAuthorization = 512;  // a bearer token and then some
  static constexpr size_t kInlineBody = 16 * 1024;  // shared pages up to this go in one write
  static constexpr size_t kKeptScratch = 4096;      // the scratch buffer kept between answers

  Responder& owner_;
  TcpStream stream_;
  Timer timer_;
  std::unique_ptr<Channel> channel_;
  bool tls_;
  bool handshaking_;
  bool spoke_ = false;     // the first byte arrived
  bool answered_ = false;  // a request was complete (and answered)
  uint64_t read_at_ = 0;   // when the read being handled came: a reply's hold counts from it
  llhttp_settings_t settings_;
  llhttp_t parser_;
  std::string url_;
  size_t head_bytes_ = 0;    // bytes of the request head so far, blank lines before it too
  bool head_done_ = false;   // the head of the request being parsed is complete
  bool in_request_ = false;  // a request has begun and is not complete
  bool header_timer_started_ = false;  // its header timeout runs
  size_t body_bytes_ = 0;
  size_t body_limit_ = 0;
  bool reads_body_ = false;  // the route takes this request's body
  std::string body_;         // what it takes, within body_limit_
  const Routes::Route* route_ = nullptr;
  std::string authorization_, content_type_;          // bounded; the token is never logged
  std::string host_, origin_, referer_, fetch_site_;  // bounded
  bool forwarded_ = false;  // Forwarded, X-Forwarded-For or X-Real-IP: through a proxy
  ClientKey client_;
  std::string field_, value_;  // the header being parsed, when it matters (bounded)
  Field field_kind_ = Field::other;
  int hosts_ = 0;
  bool expect_continue_ = false, expect_other_ = false;
  int pending_writes_ = 0;
  SharedPage::Buffer page_;  // a shared page being sent
  size_t page_at_ = 0;
  bool waiting_ = false;      // a request is answered; the next waits until the answer is out
  std::string backlog_;       // bytes after the request being answered
  bool closing_ = false;      // the last answer is queued; no more requests
  bool lingering_ = false;    // the answer is out, FIN sent, waiting for the client's
  bool broken_ = false;       // a write failed: close at once
  bool client_ends_ = false;  // the client said this request is its last
  bool quiet_end_ = false;    // ... and sent nothing after it: close once it is answered
  bool more_unread_ = false;  // the last read filled the buffer: the kernel may hold more
  bool peer_ended_ = false;   // FIN or close_notify came: send what is asked, then close
  int answers_this_turn_ = 0;
  uint64_t turn_ = 0;  // the loop time of the turn answers_this_turn_ counts

 public:
  std::list<std::unique_ptr<Connection>>::iterator self_;
  bool retired = false;
  bool deferred = false;  // in the responder's deferred_
};

}  // namespace pingmesh
