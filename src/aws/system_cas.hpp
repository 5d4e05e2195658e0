// The system's CAs looked up one by one, as OpenSSL's CA directory lays them out
// (c_rehash: /etc/ssl/certs/HASH.N, HASH from the certificate's subject name), instead
// of parsing Debian's 140-certificate bundle (about 1 MB once parsed by libcurl's
// OpenSSL, some 300 KB by mbedTLS) for every connection: only the roots a server's chain
// names as its issuers are read.
#pragma once

#include <mbedtls/x509_crt.h>

#include <cstdint>
#include <string>

namespace pingmesh {

// OpenSSL's X509_NAME_hash (the SHA-1 of the name's canonical form: string values as
// UTF-8, trimmed, inner whitespace one space, ASCII lowercased), for a DER Name.
// Returns false for a name it cannot read.
bool openssl_name_hash(const unsigned char* der, size_t len, uint32_t* hash);

struct CaDirCheck {
  // The host the leaf must name: a DNS name, or an IP literal (looked up in its iPAddress
  // names here, whatever the mbedTLS version: the handshake did not verify).
  std::string host;
  // The leaf's keyUsage bit the key exchange needs (the handshake did not check it).
  unsigned key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  // Issuer names looked up, at most (a chain names one or two); past it, counted.
  size_t max_issuers = 10;
  uint64_t* issuers_skipped = nullptr;
};

// Checks a server's chain against the CAs in dir that issued one of its certificates.
// Empty when trusted, else why not in words.
std::string verify_with_ca_dir(const mbedtls_x509_crt& chain, const std::string& dir,
                               const CaDirCheck& check);

}  // namespace pingmesh
