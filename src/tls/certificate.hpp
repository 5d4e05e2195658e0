// What we read from a peer's certificate: why verification failed, in words; whether
// it names an IP address; when it expires; its public key's pin.
#pragma once

#include <mbedtls/x509_crt.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace pingmesh {

// "expired", "not yet valid", "name mismatch", "untrusted", … joined with ", ".
std::string verify_failure_words(uint32_t flags);

// Whether subjectAltName lists this IP address (mbedTLS 2.28 does not check these).
bool certificate_names_ip(const mbedtls_x509_crt& crt, const std::string& ip);

// notAfter as unix seconds.
int64_t not_after_unix(const mbedtls_x509_crt& crt);
// Whole days from now until notAfter; negative once expired.
int days_until_expiry(const mbedtls_x509_crt& crt, time_t now);

// base64(sha256(SubjectPublicKeyInfo)), the form of HPKP and curl's --pinnedpubkey.
std::string public_key_pin(const mbedtls_x509_crt& crt);

}  // namespace pingmesh
