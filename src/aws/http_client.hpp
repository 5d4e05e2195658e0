// One HTTP/1.1 request at a time, on the loop, over the project's own stack: c-ares for
// the name, a TCP stream, mbedTLS for https, llhttp for the answer (Content-Length,
// chunked or until close). What CloudWatch and the instance metadata service need, no
// more: a proxy from the environment (an absolute URL for http, a CONNECT tunnel for
// https), the server's certificate verified against a CA file or the system's CAs
// looked up by subject hash, a connect and a total deadline, a bounded answer.
// A connection per request: one request a period does not need one kept open, and the
// TLS session's memory (two 16 KB record buffers, the peer's chain) is freed between them.
// The configuration stays (with a CA file's certificates, parsed again once it changes).
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/proxy.hpp"
#include "aws/sigv4.hpp"
#include "dns/resolver.hpp"
#include "http/response_parser.hpp"
#include "http/url.hpp"
#include "log/log.hpp"
#include "loop/tcp.hpp"
#include "loop/timer.hpp"
#include "tls/tls_channel.hpp"
#include "tls/tls_config.hpp"

namespace pingmesh {

class HttpClient final : TcpStream::Events, Channel::Wire, Channel::Reader {
 public:
  struct Options {
    uint64_t connect_timeout_ms = 5000;  // name, TCP, proxy tunnel and TLS handshake
    uint64_t timeout_ms = 15000;         // the whole exchange
    bool use_proxy = true;               // the environment's proxy variables
    EnvLookup env = [](const char* name) { return getenv(name); };
    std::string ca_file;  // https: trust these alone (read again once it changes); empty:
    std::string ca_dir = "/etc/ssl/certs";  // the system's, looked up by subject hash
    size_t max_ca_file = 1 << 20;           // bytes: a bigger CA file is refused
    size_t max_body = 64 * 1024;            // kept of the answer; the rest is read and dropped
    std::string user_agent = "pingmesh/" PINGMESH_VERSION;
  };
  struct Response {
    std::string error;  // empty when an answer came; else why not, in words
    int status = 0;
    std::string body;
  };
  // Called once per request, from the loop (never from inside send); the client may be
  // given its next request from there (not destroyed: defer that).
  using Done = std::function<void(Response)>;

  HttpClient(Loop& loop, Resolver& resolver, Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // headers: the request's own, Host excluded (it comes from the URL); Content-Length,
  // User-Agent and Connection: close are added. body is not copied: it must stay
  // unchanged until done. False (and no done) while a request is in flight.
  bool send(std::string method, const Url& url, HttpHeaders headers, std::string_view body,
            Done done);
  // Abandons the request in flight, without calling done.
  void cancel();
  bool busy() const { return static_cast<bool>(done_); }
  // Answers whose body was longer than max_body (kept to it; logged once).
  uint64_t answers_cut() const { return answers_cut_; }
  // Times the CA file was parsed (once, then once each time it changed).
  uint64_t ca_file_loads() const { return ca_file_loads_; }
  // Issuer names of servers' chains not looked up in ca_dir, past the bound (logged once).
  uint64_t issuers_skipped() const { return issuers_skipped_; }

  // The longest header value sent (a token is a few KB).
  static constexpr size_t kMaxHeaderValue = 8192;

  // The Host header a request to url carries (signers sign it).
  static std::string host_header(const Url& url);

 private:
  enum class Stage { idle, resolving, connecting, tunnel, handshake, exchange };

  void on_resolved(FailureReason reason, Addresses addrs);
  void connect_next();
  void on_connect(int status, uint64_t now) noexcept override;
  void on_read(int status, const char* data, size_t len, uint64_t now) noexcept override;
  void on_written(int status) noexcept override;
  int send_raw(std::string_view bytes) override;
  void on_plain(const char* data, size_t len) override;
  void read_tunnel_answer(const char* data, size_t len);
  void start_tls();
  bool tls_config_current(std::string* why);
  void on_secure();
  void send_request();
  void send_more();
  void fail(std::string why);
  void failf(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void untrusted(const std::string& why);
  void on_deadline(bool connecting);
  void complete();
  void finish(Response r);
  void drop_connection();

  Loop& loop_;
  Resolver& resolver_;
  Options options_;
  std::unique_ptr<TlsRandom> random_;  // made at the first https request

  // The request in flight.
  Done done_;
  Url url_;
  std::string head_;
  std::string_view body_;
  size_t body_sent_ = 0;
  std::optional<Proxy> proxy_;
  Stage stage_ = Stage::idle;
  Resolver::Ticket ticket_;
  Addresses addrs_;
  size_t next_addr_ = 0;
  std::string connect_error_;
  std::unique_ptr<TcpStream> stream_;
  std::unique_ptr<TlsClientConfig> tls_config_;  // kept between connections
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    timespec mtime{};
  } ca_file_id_;                      // the CA file tls_config_ was made from
  std::unique_ptr<Channel> channel_;  // plain or TLS, once TCP (and a tunnel) is up
  TlsChannel* tls_ = nullptr;         // channel_, when it is TLS
  std::unique_ptr<ResponseParser> parser_;
  std::string tunnel_answer_;
  int writes_out_ = 0;
  bool answered_ = false;  // the parser has the whole answer, or has given up
  ResponseParser::State parse_state_ = ResponseParser::State::incomplete;
  Timer connect_timer_, total_timer_, finish_timer_;
  std::optional<Response> finished_;  // handed to done on the next loop turn
  uint64_t answers_cut_ = 0;
  uint64_t ca_file_loads_ = 0;
  uint64_t issuers_skipped_ = 0;
  log::Once cut_logged_, ca_file_too_big_logged_, issuers_skipped_logged_;
};

}  // namespace pingmesh
