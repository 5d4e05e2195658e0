#include "aws/system_cas.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "dns/resolver.hpp"
#include "tls/certificate.hpp"

namespace pingmesh {

namespace {

using Bytes = std::string;

void put_length(Bytes& out, size_t n) {
  if (n < 0x80) {
    out += char(n);
    return;
  }
  Bytes digits;
  for (; n; n >>= 8) digits.insert(digits.begin(), char(n & 0xff));
  out += char(0x80 | digits.size());
  out += digits;
}

Bytes tlv(unsigned char tag, const Bytes& value) {
  Bytes out(1, char(tag));
  put_length(out, value.size());
  return out + value;
}

void put_utf8(Bytes& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// The string types OpenSSL canonicalises, and how many bytes a character takes in each
// (0: UTF-8 already); any other type is hashed as it is.
int char_width(unsigned char tag) {
  switch (tag) {
    case MBEDTLS_ASN1_UTF8_STRING:
      return 0;
    case MBEDTLS_ASN1_PRINTABLE_STRING:
    case MBEDTLS_ASN1_T61_STRING:
    case MBEDTLS_ASN1_IA5_STRING:
    case 0x1a:   // VisibleString
      return 1;  // read as Latin-1, as OpenSSL does
    case MBEDTLS_ASN1_BMP_STRING:
      return 2;
    case MBEDTLS_ASN1_UNIVERSAL_STRING:
      return 4;
    default:
      return -1;
  }
}

bool is_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

Bytes canonical_text(int width, const unsigned char* p, size_t n) {
  Bytes utf8;
  if (width == 0) {
    utf8.assign(reinterpret_cast<const char*>(p), n);
  } else {
    for (size_t i = 0; i + size_t(width) <= n; i += size_t(width)) {
      uint32_t cp = 0;
      for (int b = 0; b < width; ++b) cp = cp << 8 | p[i + size_t(b)];
      put_utf8(utf8, cp);
    }
  }
  size_t a = 0, b = utf8.size();
  while (a < b && is_space(utf8[a])) ++a;
  while (b > a && is_space(utf8[b - 1])) --b;
  Bytes out;
  for (size_t i = a; i < b; ++i) {
    unsigned char c = utf8[i];
    if (c >= 0x80) {
      out += char(c);
    } else if (is_space(c)) {
      out += ' ';
      while (i + 1 < b && is_space(utf8[i + 1])) ++i;
    } else {
      out += char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  return out;
}

// One element: its tag, its value, and where the next one starts; false past the end.
bool next_tlv(const unsigned char*& p, const unsigned char* end, unsigned char* tag,
              const unsigned char** value, size_t* len) {
  if (p >= end) return false;
  *tag = *p;
  unsigned char* q = const_cast<unsigned char*>(p) + 1;
  if (mbedtls_asn1_get_len(&q, end, len) != 0) return false;
  *value = q;
  p = q + *len;
  return true;
}

}  // namespace

bool openssl_name_hash(const unsigned char* der, size_t len, uint32_t* hash) {
  const unsigned char* p = der;
  const unsigned char* end = der + len;
  unsigned char tag;
  const unsigned char* seq;
  size_t seq_len;
  if (!next_tlv(p, end, &tag, &seq, &seq_len) || tag != (MBEDTLS_ASN1_CONSTRUCTED | 0x10))
    return false;
  Bytes canon;
  const unsigned char* sets_end = seq + seq_len;
  for (const unsigned char* s = seq; s < sets_end;) {
    const unsigned char* set;
    size_t set_len;
    if (!next_tlv(s, sets_end, &tag, &set, &set_len) || tag != (MBEDTLS_ASN1_CONSTRUCTED | 0x11))
      return false;
    std::vector<Bytes> members;
    for (const unsigned char* a = set; a < set + set_len;) {
      const unsigned char *atv, *oid, *value;
      size_t atv_len, oid_len, value_len;
      unsigned char oid_tag, value_tag;
      if (!next_tlv(a, set + set_len, &tag, &atv, &atv_len)) return false;
      const unsigned char* q = atv;
      if (!next_tlv(q, atv + atv_len, &oid_tag, &oid, &oid_len) ||
          !next_tlv(q, atv + atv_len, &value_tag, &value, &value_len))
        return false;
      Bytes member = tlv(oid_tag, Bytes(reinterpret_cast<const char*>(oid), oid_len));
      int width = char_width(value_tag);
      if (width < 0)
        member += tlv(value_tag, Bytes(reinterpret_cast<const char*>(value), value_len));
      else
        member += tlv(MBEDTLS_ASN1_UTF8_STRING, canonical_text(width, value, value_len));
      members.push_back(tlv(MBEDTLS_ASN1_CONSTRUCTED | 0x10, member));
    }
    for (size_t i = 1; i < members.size(); ++i)  // DER's SET OF order (mostly one member)
      for (size_t j = i; j > 0 && members[j] < members[j - 1]; --j)
        std::swap(members[j], members[j - 1]);
    Bytes joined;
    for (auto& m : members) joined += m;
    canon += tlv(MBEDTLS_ASN1_CONSTRUCTED | 0x11, joined);
  }
  unsigned char md[20];
  if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1),
                 reinterpret_cast<const unsigned char*>(canon.data()), canon.size(), md) != 0)
    return false;
  *hash = uint32_t(md[0]) | uint32_t(md[1]) << 8 | uint32_t(md[2]) << 16 | uint32_t(md[3]) << 24;
  return true;
}

std::string verify_with_ca_dir(const mbedtls_x509_crt& chain, const std::string& dir,
                               const CaDirCheck& check) {
  // Each certificate's issuer, once: the root's own, when the server sends it, too. A
  // server's chain is its to choose: the files read for it are bounded.
  std::vector<uint32_t> hashes;
  for (const mbedtls_x509_crt* c = &chain; c && c->version; c = c->next) {
    uint32_t hash;
    if (!openssl_name_hash(c->issuer_raw.p, c->issuer_raw.len, &hash) ||
        std::find(hashes.begin(), hashes.end(), hash) != hashes.end())
      continue;
    if (hashes.size() >= check.max_issuers) {
      if (check.issuers_skipped) ++*check.issuers_skipped;
      continue;
    }
    hashes.push_back(hash);
  }
  bool ip_host = is_ip_literal(check.host);
  const char* name = ip_host || check.host.empty() ? nullptr : check.host.c_str();
  mbedtls_x509_crt cas;
  mbedtls_x509_crt_init(&cas);
  for (uint32_t hash : hashes) {
    for (int n = 0; n < 8; ++n) {  // HASH.0, HASH.1, …: names that hash alike
      char file[32];
      snprintf(file, sizeof file, "/%08x.%d", hash, n);
      std::string path = dir + file;
      struct stat st;
      if (stat(path.c_str(), &st) != 0) break;
      mbedtls_x509_crt_parse_file(&cas, path.c_str());  // one that cannot be read: skipped
    }
  }
  std::string why;
  if (cas.version == 0) {
    why = "no CA in " + dir + " issued it";
  } else {
    uint32_t flags = 0;
    int rc = mbedtls_x509_crt_verify(const_cast<mbedtls_x509_crt*>(&chain), &cas, nullptr, name,
                                     &flags, nullptr, nullptr);
    if (rc != 0) why = flags ? verify_failure_words(flags) : "cannot be verified";
  }
  // mbedTLS checks these only when it verifies in the handshake; 3.5+ would check an IP
  // in verify too, but one path for every version is the one tested.
  if (why.empty() && ip_host && !certificate_names_ip(chain, check.host)) why = "name mismatch";
  if (why.empty() &&
      mbedtls_x509_crt_check_extended_key_usage(&chain, MBEDTLS_OID_SERVER_AUTH,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0)
    why = "not for servers (extended key usage)";
  if (why.empty() && mbedtls_x509_crt_check_key_usage(&chain, check.key_usage) != 0)
    why = check.key_usage == MBEDTLS_X509_KU_DIGITAL_SIGNATURE ? "not for signing (key usage)"
                                                               : "not for key exchange (key usage)";
  mbedtls_x509_crt_free(&cas);
  return why;
}

}  // namespace pingmesh
