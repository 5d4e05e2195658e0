#include "http/responder.hpp"

#include <llhttp.h>

#include <cstring>
#include <stdexcept>

#include "http/ping_page.hpp"
#include "tls/tls_channel.hpp"

namespace pingmesh {

namespace {

const char kIndexPage[] =
    "<html><head><title>pingmesh</title></head><body>\n"
    "<h1>pingmesh</h1>\n<ul>\n"
    "<li><a href=\"/v1/ping\">/v1/ping</a>: the ping page</li>\n"
    "<li><a href=\"/v1/peers\">/v1/peers</a>: peers and their statistics (JSON)</li>\n"
    "</ul>\n</body></html>\n";

std::string response(int code, const char* reason, const char* type, std::string_view body,
                     bool keep_alive, bool head = false) {
  std::string r;
  r.reserve(160 + body.size());
  r += "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
  if (type) r += std::string("Content-Type: ") + type + "\r\n";
  if (code == 405) r += "Allow: GET, HEAD\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  if (!head) r += body;
  return r;
}

}  // namespace

class Responder::Connection : public TcpStream::Events,
                              public Channel::Wire,
                              public Channel::Reader {
 public:
  static constexpr uint64_t kLingerMs = 1000;
  static constexpr size_t kMaxBacklog = 128 * 1024;

  Connection(Responder& owner, bool tls)
      : owner_(owner),
        stream_(owner.loop_, *this),
        timer_(owner.loop_, [this] { on_timeout(); }),
        handshaking_(tls) {
    if (tls)
      channel_ = std::make_unique<TlsChannel>(owner.options_.tls, *this);
    else
      channel_ = std::make_unique<PlainChannel>(*this);
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = [](llhttp_t* p) { return self(p)->on_message_begin(); };
    settings_.on_url = [](llhttp_t* p, const char* at, size_t n) { return self(p)->on_url(at, n); };
    settings_.on_header_field = [](llhttp_t* p, const char*, size_t n) {
      return self(p)->count_header(n);
    };
    settings_.on_header_value = [](llhttp_t* p, const char*, size_t n) {
      return self(p)->count_header(n);
    };
    settings_.on_body = [](llhttp_t* p, const char*, size_t n) { return self(p)->on_body(n); };
    settings_.on_message_complete = [](llhttp_t* p) { return self(p)->on_message_complete(); };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
  }

  TcpStream& stream() { return stream_; }

  bool handshaking() const { return handshaking_; }

  void start() {
    stream_.no_delay();
    timer_.start(handshaking_ ? owner_.options_.handshake_timeout_ms
                              : owner_.options_.header_timeout_ms);
    stream_.start_reading();
    channel_->start();
  }

  ~Connection() {
    if (handshaking_) --owner_.handshakes_;
  }

  void close() {
    timer_.stop();
    stream_.close();
  }

  void on_read(int status, const char* data, size_t len, uint64_t) noexcept override {
    if (status != 0) {
      owner_.retire(this);
      return;
    }
    if (closing_) return;  // answered with Connection: close; discard until the peer's FIN
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
      timer_.start(owner_.options_.header_timeout_ms);
    }
    if (p.closed && !closing_) {
      owner_.retire(this);
      return;
    }
    if (closing_ && pending_writes_ == 0) owner_.retire(this);  // nothing left to send
  }

  // Request bytes, decrypted when the connection is TLS.
  void on_plain(const char* data, size_t len) override {
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

  // Parses until the end of one request. Requests are answered one at a time: the next
  // one waits in backlog_, and the socket is not read, until the answer is out. So a
  // client that pipelines without reading cannot make us queue answers without bound.
  void parse(const char* data, size_t len) {
    auto err = llhttp_execute(&parser_, data, len);
    if (err == HPE_OK || closing_) return;
    if (err == HPE_PAUSED) {
      const char* rest = llhttp_get_error_pos(&parser_);
      backlog_.assign(rest, size_t(data + len - rest));
      waiting_ = true;
      stream_.stop_reading();
      return;
    }
    if (err == HPE_PAUSED_UPGRADE) {  // CONNECT or Upgrade: answered, then closed
      closing_ = true;
      return;
    }
    if (err == HPE_USER) {
      ++owner_.counters_.oversized_requests;
      if (owner_.oversize_logged_.first())
        PM_LOG(warning,
               "responder: request over the header or body bound, answered 431/413 (logged once)");
      send(response(oversize_code_,
                    oversize_code_ == 431 ? "Request Header Fields Too Large" : "Content Too Large",
                    nullptr, "", false));
    } else {
      ++owner_.counters_.bad_requests;
      send(response(400, "Bad Request", nullptr, "", false));
    }
    closing_ = true;
  }

  int send_raw(std::string_view bytes) override {
    int rc = stream_.write(bytes);
    if (rc == 0) ++pending_writes_;
    return rc;
  }

  void on_written(int status) noexcept override {
    --pending_writes_;
    if (status != 0) {
      owner_.retire(this);
    } else if (pending_writes_ > 0) {
      return;
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
      if (closing_ && pending_writes_ == 0) owner_.retire(this);
    }
  }

 private:
  static Connection* self(llhttp_t* p) { return static_cast<Connection*>(p->data); }

  int on_message_begin() {
    url_.clear();
    header_bytes_ = 0;
    body_bytes_ = 0;
    timer_.start(owner_.options_.header_timeout_ms);
    return 0;
  }

  int on_url(const char* at, size_t n) {
    if (count_header(n) != 0) return -1;
    url_.append(at, n);
    return 0;
  }

  int count_header(size_t n) {
    header_bytes_ += n;
    if (header_bytes_ <= owner_.options_.max_header_bytes) return 0;
    oversize_code_ = 431;
    return -1;
  }

  int on_body(size_t n) {
    body_bytes_ += n;
    if (body_bytes_ <= owner_.options_.max_body_bytes) return 0;
    oversize_code_ = 413;
    return -1;
  }

  int on_message_complete() {
    ++owner_.counters_.requests;
    bool keep = llhttp_should_keep_alive(&parser_);
    auto method = llhttp_method_t(parser_.method);
    bool head = method == HTTP_HEAD;
    std::string_view path(url_);
    path = path.substr(0, path.find('?'));

    if (path != "/v1/ping" && path != "/v1/peers" && path != "/") {
      send(response(404, "Not Found", "text/plain; charset=utf-8", "404 page not found\n", keep,
                    head));
    } else if (method != HTTP_GET && !head) {
      send(response(405, "Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n",
                    keep));
    } else if (path == "/v1/ping") {
      send(response(200, "OK", "text/html; charset=utf-8", owner_.ping_page_, keep, head));
    } else if (path == "/v1/peers") {
      send(response(200, "OK", "application/json", owner_.peers_json_(), keep, head));
    } else {
      send(response(200, "OK", "text/html; charset=utf-8", kIndexPage, keep, head));
    }
    if (!keep) {
      closing_ = true;
      return HPE_PAUSED;
    }
    timer_.start(owner_.options_.idle_timeout_ms);
    return HPE_PAUSED;  // one request at a time
  }

  void send(const std::string& bytes) {
    if (channel_->send(bytes) != 0) closing_ = true;
  }

  void on_timeout() {
    if (lingering_) {
      owner_.retire(this);
      return;
    }
    ++owner_.counters_.timeouts;
    if (owner_.timeout_logged_.first())
      PM_LOG(notice,
             "responder: closed a connection idle past its header or idle timeout (logged once)");
    owner_.retire(this);
  }

  Responder& owner_;
  TcpStream stream_;
  Timer timer_;
  std::unique_ptr<Channel> channel_;
  bool handshaking_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  std::string url_;
  size_t header_bytes_ = 0;
  size_t body_bytes_ = 0;
  int oversize_code_ = 431;
  int pending_writes_ = 0;
  bool waiting_ = false;    // a request is answered; the next waits until the answer is out
  std::string backlog_;     // bytes after the request being answered
  bool closing_ = false;    // the last answer is queued; no more requests
  bool lingering_ = false;  // the answer is out, FIN sent, waiting for the client's

 public:
  std::list<std::unique_ptr<Connection>>::iterator self_;
  bool retired = false;
};

Responder::Responder(Loop& loop, Options options, JsonSource peers_json)
    : loop_(loop),
      options_(std::move(options)),
      peers_json_(std::move(peers_json)),
      ping_page_(ping_page(options_.location)),
      reaper_(loop, [this] { reap(); }) {}

Responder::~Responder() {
  stop();
}

void Responder::start() {
  if (options_.plain) port_ = listen_all(options_.port, false);
  if (options_.tls) tls_port_ = listen_all(options_.tls_port, true);
}

// Listens on every address at one port; returns the port (chosen by the first bind when 0).
uint16_t Responder::listen_all(uint16_t port, bool tls) {
  for (size_t i = 0; i < options_.addresses.size(); ++i) {
    const auto& a = options_.addresses[i];
    sockaddr_storage ss{};
    if (uv_ip4_addr(a.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
        uv_ip6_addr(a.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0)
      throw std::runtime_error("listen address '" + a + "' is not an IP address");
    auto l = std::make_unique<TcpListener>(
        loop_, [this, tls](TcpListener& self) { on_connection(self, tls); });
    int rc = l->listen(reinterpret_cast<sockaddr*>(&ss));
    if (rc != 0) {
      std::string why =
          "cannot listen on " + a + " port " + std::to_string(port) + ": " + uv_strerror(rc);
      if (i == 0) throw std::runtime_error(why);
      PM_LOG(notice, "%s (serving without it)", why.c_str());
      continue;
    }
    if (port == 0) port = uint16_t(l->port());
    listeners_.push_back(std::move(l));
  }
  return port;
}

void Responder::stop() {
  listeners_.clear();
  for (auto& c : connections_) c->close();
  connections_.clear();
  retired_.clear();
}

void Responder::on_connection(TcpListener& listener, bool tls) {
  auto c = std::make_unique<Connection>(*this, tls);
  if (tls) ++handshakes_;  // counted from here; close() gives it back
  if (listener.accept(c->stream()) != 0) return;
  ++counters_.connections;
  if (tls && handshakes_ > options_.max_handshakes) {
    ++counters_.rejected_handshakes;
    if (handshakes_logged_.first())
      PM_LOG(warning, "responder: %zu TLS handshakes in progress, refusing more (logged once)",
             handshakes_ - 1);
    c->close();
    return;
  }
  if (connections_.size() >= options_.max_connections) {
    ++counters_.rejected_connections;
    if (full_logged_.first())
      PM_LOG(warning, "responder: %zu connections open, refusing more (logged once)",
             connections_.size());
    c->close();
    return;
  }
  c->start();
  connections_.push_front(std::move(c));
  connections_.front()->self_ = connections_.begin();
}

void Responder::retire(Connection* c) {
  if (c->retired) return;
  c->retired = true;
  c->close();
  retired_.push_back(std::move(*c->self_));
  connections_.erase(c->self_);
  reaper_.start(0);
}

void Responder::reap() {
  retired_.clear();
}

}  // namespace pingmesh
