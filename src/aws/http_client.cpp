#include "aws/http_client.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "aws/system_cas.hpp"
#include "text/printable.hpp"

namespace pingmesh {

namespace {

constexpr size_t kBodyPiece = 16 * 1024;    // written at a time: a 1 MB body is not copied whole
constexpr size_t kMaxTunnelAnswer = 16384;  // a proxy's answer to CONNECT

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Whether a value can go in a header as it is: one line (tabs allowed), bounded. A token
// from the metadata service or a credentials file is data, never more headers.
bool header_value_ok(std::string_view value) {
  if (value.size() > HttpClient::kMaxHeaderValue) return false;
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

bool header_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  return true;
}

// "HTTP/1.x SP 3DIGIT SP": the status line of a proxy's answer to CONNECT; 0 if not one.
int connect_status(std::string_view answer) {
  auto digit = [&](size_t i) { return answer[i] >= '0' && answer[i] <= '9'; };
  if (answer.size() < 13 || answer.compare(0, 7, "HTTP/1.") != 0 || !digit(7) || answer[8] != ' ' ||
      !digit(9) || !digit(10) || !digit(11) || answer[12] != ' ')
    return 0;
  return (answer[9] - '0') * 100 + (answer[10] - '0') * 10 + (answer[11] - '0');
}

// The key usage the negotiated key exchange needs of the leaf: RSA key transport
// encrypts to it, every other suite we allow (ECDHE, TLS 1.3) has it sign.
unsigned key_usage_for(const char* suite) {
  std::string_view s = suite ? suite : "";
  return s.starts_with("TLS-RSA-") ? MBEDTLS_X509_KU_KEY_ENCIPHERMENT
                                   : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
}

}  // namespace

HttpClient::HttpClient(Loop& loop, Resolver& resolver, Options options)
    : loop_(loop),
      resolver_(resolver),
      options_(std::move(options)),
      connect_timer_(loop, [this] { on_deadline(true); }),
      total_timer_(loop, [this] { on_deadline(false); }),
      finish_timer_(loop, [this] {
        if (!finished_) return;
        Response r = std::move(*finished_);
        finished_.reset();
        Done done = std::move(done_);
        done_ = nullptr;
        done(std::move(r));  // may send the next request (never destroy the client)
      }) {}

HttpClient::~HttpClient() {
  cancel();
}

std::string HttpClient::host_header(const Url& url) {
  return url.authority;
}

bool HttpClient::send(std::string method, const Url& url, HttpHeaders headers,
                      std::string_view body, Done done) {
  if (busy()) return false;
  done_ = std::move(done);
  url_ = url;
  body_ = body;
  body_sent_ = 0;
  answered_ = false;
  parse_state_ = ResponseParser::State::incomplete;
  connect_error_.clear();
  proxy_.reset();
  std::string proxy_error;
  if (options_.use_proxy) proxy_ = proxy_for(url_, &proxy_error, options_.env);
  bool absolute = proxy_ && !url_.tls();  // http through a proxy: the URL whole, no tunnel
  head_ = method + " " + (absolute ? "http://" + url_.authority + url_.target() : url_.target()) +
          " HTTP/1.1\r\nHost: " + host_header(url_) + "\r\n";
  if (!options_.user_agent.empty()) head_ += "User-Agent: " + options_.user_agent + "\r\n";
  if (absolute && !proxy_->authorization.empty())
    head_ += "Proxy-Authorization: " + proxy_->authorization + "\r\n";
  std::string header_error;
  for (auto& [name, value] : headers) {
    if (!header_name_ok(name) || !header_value_ok(value)) {
      header_error = "the header " + printable_text(name, 64) + " is not one line of at most " +
                     std::to_string(kMaxHeaderValue) + " bytes (not sent)";
      break;
    }
    head_ += name + ": " + value + "\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT")
    head_ += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head_ += "Connection: close\r\n\r\n";
  total_timer_.start(options_.timeout_ms);
  connect_timer_.start(options_.connect_timeout_ms);
  if (!proxy_error.empty() || !header_error.empty()) {
    fail(!header_error.empty() ? header_error : proxy_error);
    return true;
  }
  stage_ = Stage::resolving;
  const std::string& host = proxy_ ? proxy_->host : url_.host;
  uint16_t port = proxy_ ? proxy_->port : url_.port;
  resolver_.resolve(host, port, ticket_, [this](FailureReason reason, Addresses addrs, uint64_t) {
    on_resolved(reason, std::move(addrs));
  });
  return true;
}

void HttpClient::cancel() {
  drop_connection();
  ticket_.cancel();
  connect_timer_.stop();
  total_timer_.stop();
  finish_timer_.stop();
  finished_.reset();
  done_ = nullptr;
  stage_ = Stage::idle;
}

void HttpClient::drop_connection() {
  channel_.reset();  // before the stream it writes to
  tls_ = nullptr;
  parser_.reset();
  if (stream_) stream_->close();
  stream_.reset();
  writes_out_ = 0;
  tunnel_answer_.clear();
}

void HttpClient::on_resolved(FailureReason reason, Addresses addrs) {
  if (reason != FailureReason::none || addrs.empty()) {
    failf("cannot resolve %s%s (%s)", proxy_ ? "the proxy " : "",
          (proxy_ ? proxy_->host : url_.host).c_str(), to_string(reason).data());
    return;
  }
  addrs_ = std::move(addrs);
  next_addr_ = 0;
  stage_ = Stage::connecting;
  connect_next();
}

// The addresses in order, until one takes the connection.
void HttpClient::connect_next() {
  drop_connection();
  while (next_addr_ < addrs_.size()) {
    const sockaddr* sa = reinterpret_cast<const sockaddr*>(&addrs_[next_addr_++]);
    stream_ = std::make_unique<TcpStream>(loop_, static_cast<TcpStream::Events&>(*this));
    int rc = stream_->connect(sa);
    if (rc == 0) return;
    connect_error_ = format_addr(sa) + ": " + uv_strerror(rc);
    stream_.reset();
  }
  failf("cannot connect to %s", connect_error_.empty() ? "any address" : connect_error_.c_str());
}

void HttpClient::on_connect(int status, uint64_t) noexcept {
  if (status != 0) {
    const sockaddr* sa = reinterpret_cast<const sockaddr*>(&addrs_[next_addr_ - 1]);
    connect_error_ = format_addr(sa) + (proxy_ ? " (the proxy)" : "") + ": " + uv_strerror(status);
    connect_next();
    return;
  }
  stream_->no_delay();
  if (int rc = stream_->start_reading(); rc != 0)
    return failf("cannot read from the connection: %s", uv_strerror(rc));
  if (proxy_ && url_.tls()) {
    stage_ = Stage::tunnel;
    std::string target = bracketed(url_.host) + ":" + std::to_string(url_.port);
    std::string connect = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!options_.user_agent.empty()) connect += "User-Agent: " + options_.user_agent + "\r\n";
    if (!proxy_->authorization.empty())
      connect += "Proxy-Authorization: " + proxy_->authorization + "\r\n";
    connect += "\r\n";
    if (send_raw(connect) != 0) failf("cannot write to the proxy %s", proxy_->display.c_str());
    return;
  }
  if (url_.tls())
    start_tls();
  else
    on_secure();
}

// The configuration made from the CA file as it is now: a stat a connection, a parse
// only when the file is another (inode, size or mtime changed). No channel uses the old
// one here: each connection's channel is gone before the next one's handshake.
bool HttpClient::tls_config_current(std::string* why) {
  bool by_file = !options_.ca_file.empty();  // else: checked after the handshake, by hash
  FileId id;
  if (by_file) {
    struct stat st;
    if (stat(options_.ca_file.c_str(), &st) != 0) {
      *why = "cannot read the CA file " + options_.ca_file + ": " + strerror(errno);
      return false;
    }
    if (size_t(st.st_size) > options_.max_ca_file) {
      *why = "the CA file " + options_.ca_file + " is larger than " +
             std::to_string(options_.max_ca_file) + " bytes: not read";
      if (ca_file_too_big_logged_.first()) PM_LOG(error, "%s (logged once)", why->c_str());
      return false;
    }
    id = {st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    const FileId& was = ca_file_id_;
    if (tls_config_ && id.dev == was.dev && id.ino == was.ino && id.size == was.size &&
        id.mtime.tv_sec == was.mtime.tv_sec && id.mtime.tv_nsec == was.mtime.tv_nsec)
      return true;
  } else if (tls_config_) {
    return true;
  }
  tls_config_.reset();
  try {
    if (!random_) random_ = std::make_unique<TlsRandom>();
    TlsClientOptions o;
    o.verify = by_file;
    if (by_file) o.ca_file = options_.ca_file;
    tls_config_ = std::make_unique<TlsClientConfig>(*random_, o);
  } catch (const std::exception& e) {
    *why = std::string("TLS: ") + e.what();
    return false;
  }
  if (by_file) ++ca_file_loads_;
  ca_file_id_ = id;
  return true;
}

void HttpClient::start_tls() {
  stage_ = Stage::handshake;
  if (std::string why; !tls_config_current(&why)) return fail(why);
  TlsPeerCheck check;
  (is_ip_literal(url_.host) ? check.ip_name : check.server_name) = url_.host;
  // Without a CA file the handshake does not verify: on_secure checks it all, the same
  // way on every mbedTLS version.
  check.verify = !options_.ca_file.empty();
  auto tls =
      std::make_unique<TlsChannel>(tls_config_->get(), static_cast<Channel::Wire&>(*this), check);
  tls_ = tls.get();
  channel_ = std::move(tls);
  channel_->start();  // the ClientHello
}

// TCP (and TLS) is up: the certificate checked, if no CA file did it, then the request.
void HttpClient::on_secure() {
  if (tls_ && options_.ca_file.empty()) {
    const mbedtls_x509_crt* chain = tls_->peer_certificate();
    CaDirCheck check;
    check.host = url_.host;
    check.key_usage = key_usage_for(tls_->facts().cipher);
    check.issuers_skipped = &issuers_skipped_;
    uint64_t skipped = issuers_skipped_;
    std::string why = chain ? verify_with_ca_dir(*chain, options_.ca_dir, check) : "no certificate";
    if (issuers_skipped_ > skipped && issuers_skipped_logged_.first())
      PM_LOG(warning,
             "%s sent a chain naming more than %zu issuers: the rest not looked up in %s "
             "(logged once)",
             url_.host.c_str(), check.max_issuers, options_.ca_dir.c_str());
    if (!why.empty()) return untrusted(why);
  }
  if (!channel_) channel_ = std::make_unique<PlainChannel>(static_cast<Channel::Wire&>(*this));
  connect_timer_.stop();
  stage_ = Stage::exchange;
  parser_ = std::make_unique<ResponseParser>(options_.max_body);
  send_request();
}

void HttpClient::send_request() {
  size_t first = std::min(body_.size(), kBodyPiece);
  std::string bytes = head_;
  bytes.append(body_.substr(0, first));
  body_sent_ = first;
  if (channel_->send(bytes) != 0) fail("cannot write the request");
}

// The rest of the body, a piece at a time as the previous one leaves.
void HttpClient::send_more() {
  if (stage_ != Stage::exchange || writes_out_ > 0 || body_sent_ >= body_.size()) return;
  std::string_view piece = body_.substr(body_sent_, kBodyPiece);
  body_sent_ += piece.size();
  if (channel_->send(piece) != 0) fail("cannot write the request");
}

int HttpClient::send_raw(std::string_view bytes) {
  if (!stream_) return -1;
  int rc = stream_->write(bytes);
  if (rc == 0) ++writes_out_;
  return rc;
}

void HttpClient::on_written(int status) noexcept {
  if (writes_out_ > 0) --writes_out_;
  if (status != 0 && status != UV_ECANCELED && stage_ != Stage::idle)
    return failf("cannot write the request: %s", uv_strerror(status));
  send_more();
}

void HttpClient::on_plain(const char* data, size_t len) {
  if (!parser_ || answered_) return;  // bytes before the request, or after the answer
  parse_state_ = parser_->feed(data, len);
  answered_ = parse_state_ != ResponseParser::State::incomplete;
}

void HttpClient::read_tunnel_answer(const char* data, size_t len) {
  tunnel_answer_.append(data, len);
  size_t end = tunnel_answer_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (tunnel_answer_.size() > kMaxTunnelAnswer)
      failf("the proxy %s sent an answer too long to CONNECT", proxy_->display.c_str());
    return;
  }
  int status = connect_status(tunnel_answer_);
  if (status == 0)
    return failf("the proxy %s did not answer CONNECT in HTTP", proxy_->display.c_str());
  if (status != 200)
    return failf("the proxy %s refused the tunnel to %s: HTTP %d", proxy_->display.c_str(),
                 url_.authority.c_str(), status);
  std::string rest = tunnel_answer_.substr(end + 4);
  tunnel_answer_.clear();
  start_tls();
  if (!rest.empty() && channel_) on_read(0, rest.data(), rest.size(), 0);
}

void HttpClient::on_read(int status, const char* data, size_t len, uint64_t) noexcept {
  if (stage_ == Stage::tunnel) {
    if (status != 0) return failf("the proxy %s closed the connection", proxy_->display.c_str());
    return read_tunnel_answer(data, len);
  }
  if (!channel_) return;
  bool closed = status != 0;
  if (!closed) {
    bool was_ready = channel_->ready();
    Channel::Progress p = channel_->receive(data, len, *this);  // parser_ may complete here
    if (p.error != FailureReason::none) {
      std::string words = tls_ ? tls_->failure_text() : "";
      if (p.error == FailureReason::tls_verify) return untrusted(words);
      return failf("TLS with %s: %s", url_.host.c_str(), words.empty() ? "failed" : words.c_str());
    }
    if (!was_ready && channel_->ready()) return on_secure();
    closed = p.closed;
  }
  if (answered_) return complete();
  if (!closed) return;
  if (stage_ == Stage::exchange && parser_ && parser_->status() != 0 &&
      (parse_state_ = parser_->finish()) == ResponseParser::State::complete)
    return complete();
  failf("%s %s %s", url_.host.c_str(),
        status == 0 || status == UV_EOF ? "closed the connection" : uv_strerror(status),
        stage_ == Stage::exchange ? "before the answer was complete" : "during the TLS handshake");
}

void HttpClient::complete() {
  if (parse_state_ != ResponseParser::State::complete)
    return failf("the answer from %s is not HTTP", url_.host.c_str());
  Response r;
  r.status = parser_->status();
  r.body = parser_->body_start();
  if (parser_->body_bytes() > options_.max_body) {
    ++answers_cut_;
    if (cut_logged_.first())
      PM_LOG(notice, "an answer from %s of %llu bytes was kept to its first %zu (logged once)",
             url_.host.c_str(), (unsigned long long)parser_->body_bytes(), options_.max_body);
  }
  finish(std::move(r));
}

void HttpClient::on_deadline(bool connecting) {
  failf("no %s %s within %llu ms", connecting ? "connection to" : "answer from",
        bracketed(url_.host).c_str(),
        (unsigned long long)(connecting ? options_.connect_timeout_ms : options_.timeout_ms));
}

void HttpClient::untrusted(const std::string& why) {
  failf("SSL peer certificate of %s not trusted: %s", url_.host.c_str(), why.c_str());
}

void HttpClient::failf(const char* format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  fail(text);
}

void HttpClient::fail(std::string why) {
  if (stage_ == Stage::idle && !done_) return;
  Response r;
  r.error = std::move(why);
  finish(std::move(r));
}

// Ends the request: the connection is dropped now (never inside a channel's own call:
// on_plain only notes the answer), done is called on the next loop turn.
void HttpClient::finish(Response r) {
  if (finished_ || !done_) return;
  drop_connection();
  ticket_.cancel();
  connect_timer_.stop();
  total_timer_.stop();
  stage_ = Stage::idle;
  finished_ = std::move(r);
  finish_timer_.start(0);
}

}  // namespace pingmesh
