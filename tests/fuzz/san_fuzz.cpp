// The IP subjectAltName walk (certificate_names_ip) on a peer's certificate. Two ways in:
// the input as a whole DER certificate, as mbedTLS hands it over after parsing; and the
// input as the raw Extensions block, to reach the walk with what mbedTLS would refuse.
#include <mbedtls/x509_crt.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "tls/certificate.hpp"

namespace {

void walk(const mbedtls_x509_crt& crt) {
  for (const char* ip : {"127.0.0.1", "::1", "192.0.2.1"}) pingmesh::certificate_names_ip(crt, ip);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  if (mbedtls_x509_crt_parse_der(&crt, data, size) == 0) {
    walk(crt);
    pingmesh::days_until_expiry(crt, 0);
  }
  mbedtls_x509_crt_free(&crt);

  // An exact-size copy, so that reading one byte past the end is caught.
  auto ext = std::make_unique<unsigned char[]>(size ? size : 1);
  if (size) std::memcpy(ext.get(), data, size);
  mbedtls_x509_crt raw;
  mbedtls_x509_crt_init(&raw);
  raw.v3_ext.p = size ? ext.get() : nullptr;
  raw.v3_ext.len = size;
  walk(raw);
  raw.v3_ext.p = nullptr;  // not mbedTLS's to free
  mbedtls_x509_crt_free(&raw);
  return 0;
}
