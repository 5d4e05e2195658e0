// CPU per full TLS handshake, client and server apart: our own client and server
// configurations handshake N times in memory (no sockets), each side's CPU counted with
// the thread CPU clock around its own mbedTLS calls. Options override one choice at a
// time so curves, key types and ciphersuites can be compared on the same footing.
//   tls_handshake_cost CERT KEY CA N [curves=NAME,NAME] [suite=NAME]
// Prints "client_ms C server_ms S handshakes N group G suite X" (G: the first of curves=,
// or "default": our configurations' own order).
#include <mbedtls/ecp.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "tls/tls_config.hpp"

using namespace pingmesh;

namespace {

struct Pipe {
  std::string data;
  size_t used = 0;
};

struct End {  // one side's view: what it reads, where it writes
  Pipe* in;
  Pipe* out;
};

int pipe_send(void* p, const unsigned char* buf, size_t len) {
  static_cast<End*>(p)->out->data.append(reinterpret_cast<const char*>(buf), len);
  return int(len);
}

int pipe_recv(void* p, unsigned char* buf, size_t len) {
  auto* pipe = static_cast<End*>(p)->in;
  size_t n = std::min(len, pipe->data.size() - pipe->used);
  if (n == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  std::memcpy(buf, pipe->data.data() + pipe->used, n);
  pipe->used += n;
  return int(n);
}

double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

// One step of one side's handshake, its CPU added to *ms. True when it is done.
bool step(mbedtls_ssl_context* ssl, double* ms, int* error) {
  double t0 = thread_cpu_ms();
  int rc = mbedtls_ssl_handshake(ssl);
  *ms += thread_cpu_ms() - t0;
  if (rc == 0) return true;
  if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) *error = rc;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CERT KEY CA N [curves=NAME,NAME] [suite=NAME]\n", argv[0]);
    return 64;
  }
  static mbedtls_ecp_group_id curves[8] = {MBEDTLS_ECP_DP_NONE};
  static int suites[2] = {0, 0};
  for (int i = 5; i < argc; ++i) {
    if (std::strncmp(argv[i], "curves=", 7) == 0) {  // a list, first preferred
      int k = 0;
      for (char* name = std::strtok(argv[i] + 7, ","); name && k < 7;
           name = std::strtok(nullptr, ",")) {
        const mbedtls_ecp_curve_info* c = mbedtls_ecp_curve_info_from_name(name);
        if (!c) return std::fprintf(stderr, "unknown curve %s\n", name), 64;
        curves[k++] = c->grp_id;
      }
      curves[k] = MBEDTLS_ECP_DP_NONE;
    } else if (std::strncmp(argv[i], "suite=", 6) == 0) {
      suites[0] = mbedtls_ssl_get_ciphersuite_id(argv[i] + 6);
      if (!suites[0]) return std::fprintf(stderr, "unknown suite %s\n", argv[i] + 6), 64;
    }
  }
  int n = std::atoi(argv[4]);
  TlsRandom random;
  TlsClientOptions o;
  o.ca_file = argv[3];
  TlsClientConfig client(random, o);
  TlsServerConfig server(random, argv[1], argv[2]);
  // A benchmark's override of one choice; the daemon never changes a built config.
  auto* cconf = const_cast<mbedtls_ssl_config*>(client.get());
  auto* sconf = const_cast<mbedtls_ssl_config*>(server.get());
  for (auto* conf : {cconf, sconf}) {
    if (curves[0] != MBEDTLS_ECP_DP_NONE) mbedtls_ssl_conf_curves(conf, curves);
    if (suites[0]) mbedtls_ssl_conf_ciphersuites(conf, suites);
  }
  double client_ms = 0, server_ms = 0;
  std::string group = "?", suite = "?";
  for (int i = 0; i < n; ++i) {
    Pipe to_server, to_client;
    mbedtls_ssl_context c, s;
    mbedtls_ssl_init(&c);
    mbedtls_ssl_init(&s);
    double t0 = thread_cpu_ms();
    mbedtls_ssl_setup(&c, cconf);
    mbedtls_ssl_set_hostname(&c, "localhost");
    client_ms += thread_cpu_ms() - t0;
    t0 = thread_cpu_ms();
    mbedtls_ssl_setup(&s, sconf);
    server_ms += thread_cpu_ms() - t0;
    End client_end{&to_client, &to_server}, server_end{&to_server, &to_client};
    mbedtls_ssl_set_bio(&c, &client_end, pipe_send, pipe_recv, nullptr);
    mbedtls_ssl_set_bio(&s, &server_end, pipe_send, pipe_recv, nullptr);
    int error = 0;
    bool c_done = false, s_done = false;
    for (int turns = 0; turns < 100 && !(c_done && s_done) && !error; ++turns) {
      if (!c_done) c_done = step(&c, &client_ms, &error);
      if (!s_done && !error) s_done = step(&s, &server_ms, &error);
    }
    if (error || !c_done || !s_done) {
      std::fprintf(stderr, "handshake %d failed: %s\n", i, mbedtls_error_text(error).c_str());
      return 1;
    }
    if (i == 0) {
      suite = mbedtls_ssl_get_ciphersuite(&c);
      // The first listed group: both sides list the same, so it is the one agreed
      // (2.28 frees the handshake's ECDH context, where the group is, before we could ask).
      group = curves[0] != MBEDTLS_ECP_DP_NONE ? mbedtls_ecp_curve_info_from_grp_id(curves[0])->name
                                               : "default";
    }
    mbedtls_ssl_free(&c);
    mbedtls_ssl_free(&s);
  }
  std::printf("client_ms %.3f server_ms %.3f handshakes %d group %s suite %s\n", client_ms / n,
              server_ms / n, n, group.c_str(), suite.c_str());
  return 0;
}
