#include "tls/tls_channel.hpp"

#include <mbedtls/x509.h>

#include <algorithm>
#include <cstring>

#include "tls/certificate.hpp"
#include "tls/mbedtls_compat.hpp"
#include "tls/tls_config.hpp"

namespace pingmesh {

TlsChannel::TlsChannel(const mbedtls_ssl_config* conf, Wire& wire, TlsPeerCheck check)
    : wire_(wire), check_(std::move(check)) {
  mbedtls_ssl_init(&ssl_);
  setup_ok_ = mbedtls_ssl_setup(&ssl_, conf) == 0;
  if (!setup_ok_) return;
  mbedtls_ssl_set_bio(&ssl_, this, &TlsChannel::bio_send, &TlsChannel::bio_recv, nullptr);
  const std::string& name =
      !check_.server_name.empty() || mbed::kVerifiesIpNames ? check_.server_name : std::string();
  const std::string& verified = name.empty() && mbed::kVerifiesIpNames ? check_.ip_name : name;
  // An explicit null says "no name to check" (mbedTLS 3.6.3+ refuses to guess).
  mbedtls_ssl_set_hostname(&ssl_, verified.empty() ? nullptr : verified.c_str());
  if (check_.resume && check_.resume->filled())
    mbedtls_ssl_set_session(&ssl_, check_.resume->get());
}

TlsChannel::~TlsChannel() {
  mbedtls_ssl_free(&ssl_);
}

int TlsChannel::bio_send(void* self, const unsigned char* buf, size_t len) {
  static_cast<TlsChannel*>(self)->out_.append(reinterpret_cast<const char*>(buf), len);
  return int(len);  // sent by flush(); nothing is ever partial
}

int TlsChannel::flush() {
  if (out_.empty()) return 0;
  int rc = wire_.send_raw(out_);
  out_.clear();
  return rc;
}

int TlsChannel::bio_recv(void* self, unsigned char* buf, size_t len) {
  auto* c = static_cast<TlsChannel*>(self);
  size_t avail = c->in_.size() - c->in_used_;
  if (avail == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  size_t n = std::min(len, avail);
  std::memcpy(buf, c->in_.data() + c->in_used_, n);
  c->in_used_ += n;
  if (c->in_used_ == c->in_.size()) {
    c->in_.clear();
    c->in_used_ = 0;
  }
  return int(n);
}

bool TlsChannel::start() {
  if (!setup_ok_) {
    failure_text_ = "TLS setup failed";
    return false;
  }
  handshake();  // a client writes its hello now; a server waits for one
  flush();
  return false;
}

FailureReason TlsChannel::handshake() {
  int rc = mbedtls_ssl_handshake(&ssl_);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return FailureReason::none;
  if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    failure_text_ = verify_failure_words(mbedtls_ssl_get_verify_result(&ssl_));
    return FailureReason::tls_verify;
  }
  if (rc != 0) {
    failure_text_ = mbedtls_error_text(rc);
    return FailureReason::tls_handshake;
  }
  ready_ = true;
  facts_.version = mbedtls_ssl_get_version(&ssl_);
  facts_.cipher = mbedtls_ssl_get_ciphersuite(&ssl_);
  if (const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_)) {
    facts_.has_certificate = true;
    facts_.cert_days_left = days_until_expiry(*peer, time(nullptr));
    facts_.cert_not_after_unix = not_after_unix(*peer);
  }
  if (check_.resume)
    check_.resume->set_filled(mbedtls_ssl_get_session(&ssl_, check_.resume->get()) == 0);
  return check_peer();
}

// What mbedTLS 2.28 leaves to us: IP names, and the optional key pin.
FailureReason TlsChannel::check_peer() {
  const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_);
  if (check_.verify && !mbed::kVerifiesIpNames && !check_.ip_name.empty() &&
      (!peer || !certificate_names_ip(*peer, check_.ip_name))) {
    failure_text_ = "name mismatch";
    return FailureReason::tls_verify;
  }
  if (!check_.pin_sha256.empty() && (!peer || public_key_pin(*peer) != check_.pin_sha256)) {
    failure_text_ = "public key does not match the pin";
    return FailureReason::tls_verify;
  }
  return FailureReason::none;
}

Channel::Progress TlsChannel::receive(const char* data, size_t len, Reader& reader) {
  Progress p;
  in_.append(data, len);
  if (!ready_) {
    p.error = handshake();
    if (flush() != 0 && p.error == FailureReason::none) p.error = FailureReason::reset;
    if (p.error != FailureReason::none || !ready_) return p;
    p.became_ready = true;
  }
  p = read_plain(reader, p);
  flush();  // alerts, or a renegotiation refusal
  return p;
}

Channel::Progress TlsChannel::read_plain(Reader& reader, Progress p) {
  unsigned char buf[16384];
  for (;;) {
    int n = mbedtls_ssl_read(&ssl_, buf, sizeof buf);
    if (n > 0) {
      reader.on_plain(reinterpret_cast<char*>(buf), size_t(n));
      continue;
    }
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) return p;
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      p.closed = true;
      return p;
    }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    if (n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;  // TLS 1.3 in 3.x
#endif
    failure_text_ = mbedtls_error_text(n);
    p.error = FailureReason::tls_handshake;
    return p;
  }
}

int TlsChannel::close_notify() {
  int rc = mbedtls_ssl_close_notify(&ssl_);
  int sent = flush();
  return rc != 0 ? rc : sent;
}

int TlsChannel::send(std::string_view plain) {
  while (!plain.empty()) {
    int n = mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(plain.data()),
                              plain.size());
    if (n <= 0) return n == 0 ? -1 : n;
    plain.remove_prefix(size_t(n));
  }
  return flush();
}

}  // namespace pingmesh
