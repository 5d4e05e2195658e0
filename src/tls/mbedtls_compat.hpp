// The few places where mbedTLS 2.28 (Debian 12) and 3.x differ.
#pragma once

#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#define PINGMESH_MBEDTLS3 1
#else
#define PINGMESH_MBEDTLS3 0
#endif

namespace pingmesh::mbed {

inline void init_crypto() {
#if PINGMESH_MBEDTLS3 && defined(MBEDTLS_PSA_CRYPTO_C)
  psa_crypto_init();  // TLS 1.3 in 3.x needs PSA
#endif
}

inline void min_tls12(mbedtls_ssl_config* conf) {
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
  mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

inline int parse_keyfile(mbedtls_pk_context* pk, const char* path,
                         int (*rng)(void*, unsigned char*, size_t), void* rng_state) {
#if PINGMESH_MBEDTLS3
  return mbedtls_pk_parse_keyfile(pk, path, nullptr, rng, rng_state);
#else
  (void)rng;
  (void)rng_state;
  return mbedtls_pk_parse_keyfile(pk, path, nullptr);
#endif
}

inline int check_pair(const mbedtls_pk_context* pub, const mbedtls_pk_context* prv,
                      int (*rng)(void*, unsigned char*, size_t), void* rng_state) {
#if PINGMESH_MBEDTLS3
  return mbedtls_pk_check_pair(pub, prv, rng, rng_state);
#else
  (void)rng;
  (void)rng_state;
  return mbedtls_pk_check_pair(pub, prv);
#endif
}

inline int sha256(const unsigned char* in, size_t len, unsigned char out[32]) {
#if PINGMESH_MBEDTLS3
  return mbedtls_sha256(in, len, out, 0);
#else
  return mbedtls_sha256_ret(in, len, out, 0);
#endif
}

// mbedTLS 3.5 verifies IP addresses in subjectAltName itself; 2.28 only knows DNS names.
constexpr bool kVerifiesIpNames = MBEDTLS_VERSION_NUMBER >= 0x03050000;

}  // namespace pingmesh::mbed
