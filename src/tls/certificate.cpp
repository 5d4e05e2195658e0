#include "tls/certificate.hpp"

#include <arpa/inet.h>
#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tls/mbedtls_compat.hpp"

namespace pingmesh {

std::string verify_failure_words(uint32_t flags) {
  struct Word {
    uint32_t flag;
    const char* text;
  };
  static const Word kWords[] = {
      {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
      {MBEDTLS_X509_BADCERT_FUTURE, "not yet valid"},
      {MBEDTLS_X509_BADCERT_CN_MISMATCH, "name mismatch"},
      {MBEDTLS_X509_BADCERT_NOT_TRUSTED, "untrusted"},
      {MBEDTLS_X509_BADCERT_REVOKED, "revoked"},
      {MBEDTLS_X509_BADCERT_KEY_USAGE, "wrong key usage"},
      {MBEDTLS_X509_BADCERT_EXT_KEY_USAGE, "wrong extended key usage"},
      {MBEDTLS_X509_BADCERT_BAD_MD, "weak signature hash"},
      {MBEDTLS_X509_BADCERT_BAD_KEY, "weak key"},
  };
  std::string out;
  for (const auto& w : kWords) {
    if (!(flags & w.flag)) continue;
    if (!out.empty()) out += ", ";
    out += w.text;
    flags &= ~w.flag;
  }
  if (flags) out += out.empty() ? "verification failed" : ", other problems";
  return out;
}

bool certificate_names_ip(const mbedtls_x509_crt& crt, const std::string& ip) {
  unsigned char want[16];
  size_t want_len = 4;
  if (inet_pton(AF_INET, ip.c_str(), want) != 1) {
    if (inet_pton(AF_INET6, ip.c_str(), want) != 1) return false;
    want_len = 16;
  }
  // v3_ext points at Extensions ::= SEQUENCE OF Extension.
  unsigned char* p = crt.v3_ext.p;
  if (!p) return false;
  const unsigned char* end = p + crt.v3_ext.len;
  size_t len;
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
    return false;
  end = p + len;
  const char san_oid[] = MBEDTLS_OID_SUBJECT_ALT_NAME;
  while (p < end) {
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
      return false;
    const unsigned char* ext_end = p + len;
    size_t oid_len;
    if (mbedtls_asn1_get_tag(&p, ext_end, &oid_len, MBEDTLS_ASN1_OID)) return false;
    bool is_san = oid_len == sizeof san_oid - 1 && std::memcmp(p, san_oid, oid_len) == 0;
    p += oid_len;
    if (!is_san) {
      p = const_cast<unsigned char*>(ext_end);
      continue;
    }
    int critical;
    mbedtls_asn1_get_bool(&p, ext_end, &critical);  // optional
    if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING)) return false;
    if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
      return false;
    const unsigned char* names_end = p + len;
    while (p < names_end) {
      unsigned char tag = *p++;
      if (mbedtls_asn1_get_len(&p, names_end, &len)) return false;
      // iPAddress is [7] IMPLICIT OCTET STRING.
      if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == want_len &&
          std::memcmp(p, want, len) == 0)
        return true;
      p += len;
    }
    return false;
  }
  return false;
}

int64_t not_after_unix(const mbedtls_x509_crt& crt) {
  struct tm tm {};
  tm.tm_year = crt.valid_to.year - 1900;
  tm.tm_mon = crt.valid_to.mon - 1;
  tm.tm_mday = crt.valid_to.day;
  tm.tm_hour = crt.valid_to.hour;
  tm.tm_min = crt.valid_to.min;
  tm.tm_sec = crt.valid_to.sec;
  return int64_t(timegm(&tm));
}

int days_until_expiry(const mbedtls_x509_crt& crt, time_t now) {
  return int(std::floor(difftime(time_t(not_after_unix(crt)), now) / 86400.0));
}

std::string public_key_pin(const mbedtls_x509_crt& crt) {
  std::vector<unsigned char> der(4096);
  int n =
      mbedtls_pk_write_pubkey_der(const_cast<mbedtls_pk_context*>(&crt.pk), der.data(), der.size());
  if (n <= 0) return {};
  unsigned char digest[32];
  if (mbed::sha256(der.data() + der.size() - size_t(n), size_t(n), digest) != 0) return {};
  unsigned char b64[64];
  size_t olen = 0;
  if (mbedtls_base64_encode(b64, sizeof b64, &olen, digest, sizeof digest) != 0) return {};
  return std::string(reinterpret_cast<char*>(b64), olen);
}

}  // namespace pingmesh
