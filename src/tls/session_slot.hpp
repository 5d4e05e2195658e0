// A peer's saved TLS session, offered on its next probe when resumption is allowed.
#pragma once

#include <mbedtls/ssl.h>

namespace pingmesh {

class TlsSessionSlot {
 public:
  TlsSessionSlot() { mbedtls_ssl_session_init(&session_); }
  ~TlsSessionSlot() { mbedtls_ssl_session_free(&session_); }
  TlsSessionSlot(const TlsSessionSlot&) = delete;
  TlsSessionSlot& operator=(const TlsSessionSlot&) = delete;

  mbedtls_ssl_session* get() { return &session_; }
  // Whether a handshake has filled it, so it can be offered.
  bool filled() const { return filled_; }
  void set_filled(bool f) { filled_ = f; }

 private:
  mbedtls_ssl_session session_;
  bool filled_ = false;
};

}  // namespace pingmesh
