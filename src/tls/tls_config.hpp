// TLS configurations, built once at start-up: the random generator, the client side
// (CA chain, verification, ALPN) and the server side (certificate and key).
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/x509_crt.h>

#include <string>

namespace pingmesh {

// Entropy and a DRBG seeded once; shared by every TLS session of the process.
class TlsRandom {
 public:
  TlsRandom();  // throws std::runtime_error
  ~TlsRandom();
  TlsRandom(const TlsRandom&) = delete;
  TlsRandom& operator=(const TlsRandom&) = delete;

  static int generate(void* self, unsigned char* out, size_t len);

 private:
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
};

struct TlsClientOptions {
  bool verify = true;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  bool allow_resumption = false;  // default: a full handshake on every probe
};

class TlsClientConfig {
 public:
  TlsClientConfig(TlsRandom& random, const TlsClientOptions& options);  // throws
  ~TlsClientConfig();
  TlsClientConfig(const TlsClientConfig&) = delete;
  TlsClientConfig& operator=(const TlsClientConfig&) = delete;

  const mbedtls_ssl_config* get() const { return &conf_; }
  const TlsClientOptions& options() const { return options_; }
  const mbedtls_x509_crt& trusted() const { return ca_; }  // empty when not verifying

 private:
  TlsClientOptions options_;
  mbedtls_ssl_config conf_;
  mbedtls_x509_crt ca_;
};

class TlsServerConfig {
 public:
  TlsServerConfig(TlsRandom& random, const std::string& cert_file,
                  const std::string& key_file);  // throws
  ~TlsServerConfig();
  TlsServerConfig(const TlsServerConfig&) = delete;
  TlsServerConfig& operator=(const TlsServerConfig&) = delete;

  const mbedtls_ssl_config* get() const { return &conf_; }
  const mbedtls_pk_context& key() const { return key_; }

 private:
  mbedtls_ssl_config conf_;
  mbedtls_x509_crt cert_;
  mbedtls_pk_context key_;
  mbedtls_ssl_cache_context cache_;  // lets clients that allow it resume, bounded
};

// mbedTLS's words for an error code.
std::string mbedtls_error_text(int code);

}  // namespace pingmesh
