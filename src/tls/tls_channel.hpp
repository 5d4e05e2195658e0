// A TLS session over a memory BIO: ciphertext comes from the loop's reads and leaves
// through the loop's writes, so no mbedTLS call ever blocks, and the TCP connect and
// the handshake are timed apart. One class for both sides; the config decides which.
#pragma once

#include <mbedtls/ssl.h>

#include <ctime>
#include <string>

#include "tls/channel.hpp"
#include "tls/session_slot.hpp"

namespace pingmesh {

// What a client checks beyond the CA chain.
struct TlsPeerCheck {
  std::string server_name;  // SNI and name verification; empty for an IP literal
  std::string ip_name;      // an IP literal host, checked against subjectAltName
  std::string pin_sha256;   // base64 SPKI pin; empty = none
  bool verify = true;
  TlsSessionSlot* resume = nullptr;  // a saved session to offer and refresh
};

struct TlsFacts {
  const char* version = nullptr;  // static strings from mbedTLS
  const char* cipher = nullptr;
  bool has_certificate = false;
  int cert_days_left = 0;
  int64_t cert_not_after_unix = 0;
};

class TlsChannel final : public Channel {
 public:
  TlsChannel(const mbedtls_ssl_config* conf, Wire& wire, TlsPeerCheck check = {});
  ~TlsChannel() override;
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  bool start() override;
  Progress receive(const char* data, size_t len, Reader& reader) override;
  int send(std::string_view plain) override;
  bool ready() const override { return ready_; }
  // Ends this side of the session (a close_notify alert); the peer may still send.
  int close_notify();

  const TlsFacts& facts() const { return facts_; }
  // The chain the server sent (for checks of one's own after the handshake); null if none.
  const mbedtls_x509_crt* peer_certificate() const { return mbedtls_ssl_get_peer_cert(&ssl_); }
  // Why the handshake failed, in words ("expired", "handshake failure", …).
  const std::string& failure_text() const { return failure_text_; }

 private:
  static int bio_send(void* self, const unsigned char* buf, size_t len);
  static int bio_recv(void* self, unsigned char* buf, size_t len);
  FailureReason handshake();
  FailureReason check_peer();
  Progress read_plain(Reader& reader, Progress p);
  int flush();

  // Records mbedTLS writes during one call are sent as one write: a handshake flight
  // leaves in one segment instead of waiting on Nagle and delayed ACKs.
  std::string out_;
  mbedtls_ssl_context ssl_;
  Wire& wire_;
  TlsPeerCheck check_;
  std::string in_;  // ciphertext received, not yet consumed by mbedTLS
  size_t in_used_ = 0;
  bool setup_ok_ = false;
  bool ready_ = false;
  TlsFacts facts_;
  std::string failure_text_;
};

}  // namespace pingmesh
