// libcurl, loaded with dlopen only when CloudWatch is enabled: linking Debian's libcurl
// costs about 6 MB of RSS even when unused. curl.h gives the types; no symbol is linked.
#pragma once

#include <curl/curl.h>

#include <string>

namespace pingmesh {

struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_version_info) version_info;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_multi_init) multi_init;
  decltype(&curl_multi_setopt) multi_setopt;
  decltype(&curl_multi_add_handle) multi_add_handle;
  decltype(&curl_multi_remove_handle) multi_remove_handle;
  decltype(&curl_multi_socket_action) multi_socket_action;
  decltype(&curl_multi_info_read) multi_info_read;
  decltype(&curl_multi_assign) multi_assign;
  decltype(&curl_multi_cleanup) multi_cleanup;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  // libcurl's built-in CA directory (hashed names, OpenSSL's c_rehash layout); null if none.
  const char* default_ca_path;

  // Loads libcurl.so.4 once (later calls return the same table); throws
  // std::runtime_error naming what is missing: no libcurl, too old (< 7.75 has no SigV4).
  static const CurlApi& load();

  // What keeps a transfer small (bench/README, 2026-12-01): HTTP/1.1 (no HTTP/2 session
  // for one request a period), buffers sized to what we send and get back, and the CAs
  // looked up one by one in the CA directory instead of parsing the whole bundle. A
  // ca_file replaces the system's CAs (re-read for each new connection); verification
  // stays on.
  void lean_transfer(CURL* easy, const std::string& ca_file) const;
};

}  // namespace pingmesh
