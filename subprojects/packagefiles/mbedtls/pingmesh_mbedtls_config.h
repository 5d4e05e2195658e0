/* The bundled mbedTLS 2.28's configuration (-Dmbedtls=bundled; ../../mbedtls.wrap):
 * what pingmesh's TLS uses and nothing else. A TLS 1.2 client and server (the probe, the
 * responder), forward-secret ECDHE only, AEAD suites only, certificates from PEM files
 * checked against a CA bundle. Debian's build has every module (498 KB of a 1.4 MB static
 * binary); this one has the few below. Why each speed setting: bench/README.md, "TLS". */
#ifndef PINGMESH_MBEDTLS_CONFIG_H
#define PINGMESH_MBEDTLS_CONFIG_H

/* The system. */
#define MBEDTLS_HAVE_ASM       /* bignum's multiply-accumulate in assembly */
#define MBEDTLS_HAVE_TIME      /* session cache timeouts */
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity */
#define MBEDTLS_FS_IO          /* certificates, keys and CA bundles from files */

/* Protocol: TLS 1.2 only (no SSL 3, TLS 1.0/1.1, DTLS, renegotiation); SNI, ALPN,
 * extended master secret; session tickets (the client's --tls-resume) and the server's
 * session cache. The peer's certificate is kept: its expiry and pin are read after the
 * handshake. */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_CACHE_C
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES

/* Key exchange: ECDHE signed by ECDSA or RSA. x25519 first (README, "TLS cost"), in
 * Project Everest's verified code, which is 10 times faster than 2.28's generic ladder;
 * P-256 and P-384 for servers that offer only those and for certificate keys (P-384 for
 * CAs such as ISRG Root X2). */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM /* P-256's and P-384's own reductions: 3 times faster */
/* A 5-bit comb for P-256's base point (6 for P-384) where the table is kept (our own
 * ECDSA keys): a signature 7% faster, for a 2 KB table. The default is 4. */
#define MBEDTLS_ECP_WINDOW_SIZE 6
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15

/* Record protection: AES-GCM (AES-NI where the CPU has it) and ChaCha20-Poly1305. */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

/* Hashes: SHA-256 and SHA-384/512 for TLS and certificates; SHA-1 only so that the CA
 * bundle's older roots (self-signed with SHA-1, such as DigiCert Global Root CA) parse:
 * the default profile refuses SHA-1 in a chain, and a trusted root's own signature is
 * never checked. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA256_SMALLER /* loops, not unrolled: 5 KB less; a handshake hashes a few KB */
#define MBEDTLS_SHA512_SMALLER

/* Certificates and keys: X.509 and PEM parsing (certificate.cpp reads the SAN itself),
 * the public key written out for its pin (base64 of its SHA-256). */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* Randomness: the kernel's (getrandom) into a CTR-DRBG. */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* Error codes in words: a sample's detail and the logs print them. */
#define MBEDTLS_ERROR_C

#include "mbedtls/check_config.h"

#endif /* PINGMESH_MBEDTLS_CONFIG_H */
