#include "curl/curl_api.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace pingmesh {

namespace {

template <typename F>
void bind(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (!out) throw std::runtime_error(std::string("libcurl has no ") + name);
}

// Debian's libcurl4 (OpenSSL) links libldap and librtmp, and they link GnuTLS, whose
// constructor initialises it on load (priorities, p11-kit): about 0.8 MB of RSS for a
// library we never call (LDAP would call gnutls_global_init itself). GnuTLS skips that
// when GNUTLS_NO_IMPLICIT_INIT is set: set for the dlopen only, then restored, so no
// other code sees it (one thread, and no child is started meanwhile).
class WithoutImplicitGnutlsInit {
 public:
  WithoutImplicitGnutlsInit() {
    if (const char* v = getenv(kName)) before_ = v;
    setenv(kName, "1", 1);
  }
  ~WithoutImplicitGnutlsInit() {
    if (before_)
      setenv(kName, before_->c_str(), 1);
    else
      unsetenv(kName);
  }
  WithoutImplicitGnutlsInit(const WithoutImplicitGnutlsInit&) = delete;
  WithoutImplicitGnutlsInit& operator=(const WithoutImplicitGnutlsInit&) = delete;

 private:
  static constexpr const char* kName = "GNUTLS_NO_IMPLICIT_INIT";
  std::optional<std::string> before_;
};

void* open_libcurl() {
  WithoutImplicitGnutlsInit quiet_gnutls;
  return dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
}

CurlApi load_once() {
  void* lib = open_libcurl();
  if (!lib)
    throw std::runtime_error(
        "CloudWatch needs libcurl (Debian: apt-get install libcurl4), and it cannot be "
        "loaded: " +
        std::string(dlerror()));
  CurlApi a{};
  bind(lib, "curl_global_init", a.global_init);
  bind(lib, "curl_version_info", a.version_info);
  bind(lib, "curl_easy_init", a.easy_init);
  bind(lib, "curl_easy_setopt", a.easy_setopt);
  bind(lib, "curl_easy_getinfo", a.easy_getinfo);
  bind(lib, "curl_easy_cleanup", a.easy_cleanup);
  bind(lib, "curl_easy_strerror", a.easy_strerror);
  bind(lib, "curl_multi_init", a.multi_init);
  bind(lib, "curl_multi_setopt", a.multi_setopt);
  bind(lib, "curl_multi_add_handle", a.multi_add_handle);
  bind(lib, "curl_multi_remove_handle", a.multi_remove_handle);
  bind(lib, "curl_multi_socket_action", a.multi_socket_action);
  bind(lib, "curl_multi_info_read", a.multi_info_read);
  bind(lib, "curl_multi_assign", a.multi_assign);
  bind(lib, "curl_multi_cleanup", a.multi_cleanup);
  bind(lib, "curl_slist_append", a.slist_append);
  bind(lib, "curl_slist_free_all", a.slist_free_all);
  const curl_version_info_data* v = a.version_info(CURLVERSION_NOW);
  if (!v || v->version_num < 0x074b00)
    throw std::runtime_error("CloudWatch needs libcurl 7.75 or later for SigV4; found " +
                             std::string(v ? v->version : "an unknown version"));
  a.default_ca_path = v->capath;
  if (a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("libcurl could not initialise");
  return a;
}

}  // namespace

const CurlApi& CurlApi::load() {
  static const CurlApi api = load_once();
  return api;
}

void CurlApi::lean_transfer(CURL* easy, const std::string& ca_file) const {
  easy_setopt(easy, CURLOPT_HTTP_VERSION, long(CURL_HTTP_VERSION_1_1));
  // AWS's answers are a few hundred bytes; bodies go out 16 KB a write (the minimum)
  // instead of through a 64 KB upload buffer.
  easy_setopt(easy, CURLOPT_BUFFERSIZE, 4096L);
  easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  if (!ca_file.empty()) {
    easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());  // copied by curl
    easy_setopt(easy, CURLOPT_CAPATH, nullptr);
    easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);  // a renewed file: read at the next connection
  } else if (default_ca_path && *default_ca_path) {
    // Debian's bundle is 140 certificates, about 1 MB once parsed: the directory has the
    // same ones by subject hash, and only the root a chain needs is read.
    easy_setopt(easy, CURLOPT_CAINFO, nullptr);
    easy_setopt(easy, CURLOPT_CAPATH, default_ca_path);
  }
}

}  // namespace pingmesh
