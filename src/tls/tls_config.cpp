#include "tls/tls_config.hpp"

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>

#include <stdexcept>
#include <utility>

#include "tls/mbedtls_compat.hpp"

namespace pingmesh {

namespace {

const char* kAlpn[] = {"http/1.1", nullptr};

void check(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + mbedtls_error_text(rc));
}

// The ECDHE groups, cheapest first. mbedTLS 2.28's default order starts with secp521r1
// (about 2.7 ms more per handshake on each side than x25519), and its server takes its own
// order over the client's, its client offers its own order. Every group stays in the list:
// 2.28 also accepts a peer's EC certificate key only on a listed curve. 3.x orders its
// default list by cost already (and names groups differently): left alone there. Why
// these: README, "TLS cost".
void prefer_fast_groups(mbedtls_ssl_config* conf) {
#if !PINGMESH_MBEDTLS3
  static const mbedtls_ecp_group_id* groups = [] {
    static mbedtls_ecp_group_id list[32];  // 2.28 has 13 (MBEDTLS_ECP_DP_MAX says 12)
    size_t n = 0;
    for (auto fast : {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1})
      if (mbedtls_ecp_curve_info_from_grp_id(fast)) list[n++] = fast;
    for (const mbedtls_ecp_group_id* id = mbedtls_ecp_grp_id_list();
         *id != MBEDTLS_ECP_DP_NONE && n < 31; ++id)
      if (*id != MBEDTLS_ECP_DP_CURVE25519 && *id != MBEDTLS_ECP_DP_SECP256R1) list[n++] = *id;
    list[n] = MBEDTLS_ECP_DP_NONE;
    return list;
  }();
  mbedtls_ssl_conf_curves(conf, groups);
#else
  (void)conf;
#endif
}

// mbedTLS 2.28 signs and verifies with an EC key (id-ecPublicKey) through a copy of its
// group made for each call, so the base point's comb table, about half of a P-256
// signature, is rebuilt every time. The same key in an ECDSA context keeps its group and
// the table with it: a responder's signature drops from 0.86 to 0.39 ms, a check by a
// trusted EC CA from 1.75 to 1.26 ms (README, "TLS cost"). Such a key no longer does
// static ECDH (TLS-ECDH-ECDSA-*, no forward secrecy; OpenSSL dropped them in 1.1.0).
void keep_ec_tables(mbedtls_pk_context* pk) {
#if !PINGMESH_MBEDTLS3
  if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY) return;
  mbedtls_pk_context ecdsa;
  mbedtls_pk_init(&ecdsa);
  if (mbedtls_pk_setup(&ecdsa, mbedtls_pk_info_from_type(MBEDTLS_PK_ECDSA)) == 0 &&
      mbedtls_ecdsa_from_keypair(mbedtls_pk_ec(ecdsa), mbedtls_pk_ec(*pk)) == 0)
    std::swap(*pk, ecdsa);
  mbedtls_pk_free(&ecdsa);  // the EC key, or the unused ECDSA context
#else
  (void)pk;
#endif
}

}  // namespace

std::string mbedtls_error_text(int code) {
  char buf[160];
  mbedtls_strerror(code, buf, sizeof buf);
  return buf;
}

TlsRandom::TlsRandom() {
  mbed::init_crypto();
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  const unsigned char personal[] = "pingmesh";
  int rc =
      mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_, personal, sizeof personal - 1);
  if (rc != 0) {
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_entropy_free(&entropy_);
    throw std::runtime_error("TLS random generator: " + mbedtls_error_text(rc));
  }
}

TlsRandom::~TlsRandom() {
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

int TlsRandom::generate(void* self, unsigned char* out, size_t len) {
  return mbedtls_ctr_drbg_random(&static_cast<TlsRandom*>(self)->drbg_, out, len);
}

TlsClientConfig::TlsClientConfig(TlsRandom& random, const TlsClientOptions& options)
    : options_(options) {
  mbedtls_ssl_config_init(&conf_);
  mbedtls_x509_crt_init(&ca_);
  try {
    check(mbedtls_ssl_config_defaults(&conf_, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT),
          "TLS client configuration");
    mbedtls_ssl_conf_rng(&conf_, &TlsRandom::generate, &random);
    mbed::min_tls12(&conf_);
    prefer_fast_groups(&conf_);
    check(mbedtls_ssl_conf_alpn_protocols(&conf_, kAlpn), "TLS ALPN");
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(&conf_, options.allow_resumption
                                                 ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                 : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
    if (options.verify) {
      int rc = mbedtls_x509_crt_parse_file(&ca_, options.ca_file.c_str());
      // A bundle may hold a few certificates mbedTLS cannot read (rc > 0); none is fatal.
      if (rc < 0 || ca_.version == 0)
        throw std::runtime_error("cannot read CA certificates from " + options.ca_file + ": " +
                                 (rc < 0 ? mbedtls_error_text(rc) : "none parsed"));
      for (mbedtls_x509_crt* c = &ca_; c && c->version; c = c->next) keep_ec_tables(&c->pk);
      mbedtls_ssl_conf_ca_chain(&conf_, &ca_, nullptr);
      mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
      mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_NONE);
    }
  } catch (...) {
    mbedtls_x509_crt_free(&ca_);
    mbedtls_ssl_config_free(&conf_);
    throw;
  }
}

TlsClientConfig::~TlsClientConfig() {
  mbedtls_x509_crt_free(&ca_);
  mbedtls_ssl_config_free(&conf_);
}

TlsServerConfig::TlsServerConfig(TlsRandom& random, const std::string& cert_file,
                                 const std::string& key_file) {
  mbedtls_ssl_config_init(&conf_);
  mbedtls_x509_crt_init(&cert_);
  mbedtls_pk_init(&key_);
  mbedtls_ssl_cache_init(&cache_);
  mbedtls_ssl_cache_set_max_entries(&cache_, 256);
  mbedtls_ssl_cache_set_timeout(&cache_, 3600);
  try {
    check(mbedtls_x509_crt_parse_file(&cert_, cert_file.c_str()),
          "cannot read TLS certificate " + cert_file);
    check(mbed::parse_keyfile(&key_, key_file.c_str(), &TlsRandom::generate, &random),
          "cannot read TLS key " + key_file);
    check(mbedtls_ssl_config_defaults(&conf_, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT),
          "TLS server configuration");
    mbedtls_ssl_conf_rng(&conf_, &TlsRandom::generate, &random);
    mbed::min_tls12(&conf_);
    prefer_fast_groups(&conf_);
    check(mbedtls_ssl_conf_alpn_protocols(&conf_, kAlpn), "TLS ALPN");
    check(mbed::check_pair(&cert_.pk, &key_, &TlsRandom::generate, &random),
          "TLS certificate " + cert_file + " and key " + key_file + " do not match");
    keep_ec_tables(&key_);  // after the pair check, which wants both keys of one type
    check(mbedtls_ssl_conf_own_cert(&conf_, &cert_, &key_), "TLS certificate " + cert_file);
    mbedtls_ssl_conf_session_cache(&conf_, &cache_, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
  } catch (...) {
    mbedtls_ssl_cache_free(&cache_);
    mbedtls_pk_free(&key_);
    mbedtls_x509_crt_free(&cert_);
    mbedtls_ssl_config_free(&conf_);
    throw;
  }
}

TlsServerConfig::~TlsServerConfig() {
  mbedtls_ssl_cache_free(&cache_);
  mbedtls_pk_free(&key_);
  mbedtls_x509_crt_free(&cert_);
  mbedtls_ssl_config_free(&conf_);
}

}  // namespace pingmesh
