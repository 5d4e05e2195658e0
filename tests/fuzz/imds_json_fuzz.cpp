// JSON that others write (the IMDS credentials document, a peer's /v1/peers) through
// json::top_level_string, as ImdsCredentials and the probe read it. A value found is
// valid text that our own writer and reader carry back unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "export/imds.hpp"
#include "export/json.hpp"
#include "text/json_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  for (const char* key : {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "SrvLoc"}) {
    auto value = pingmesh::json::top_level_string(body, key);
    if (!value) continue;
    if (value->find('\0') != std::string::npos) std::abort();  // \u0000 counts as absent
    auto back =
        pingmesh::json::top_level_string("{\"k\":" + pingmesh::json_string(*value) + "}", "k");
    if (!back || *back != *value) std::abort();
    if (pingmesh::json_string_field(body, key) != *value) std::abort();
  }
  return 0;
}
