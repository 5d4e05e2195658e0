// The IMDS credentials document (…/security-credentials/<role>), as the metadata
// service's reply body reaches ImdsCredentials: the role line, then the four fields.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "export/imds.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  std::string role = body.substr(0, body.find('\n'));
  if (role.size() > body.size()) std::abort();
  for (const char* key : {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}) {
    std::string value = pingmesh::json_string_field(body, key);
    // A value stands between two quotes in the document, and holds none.
    if (!value.empty() &&
        (body.find('"' + value + '"') == std::string::npos || value.find('"') != std::string::npos))
      std::abort();
  }
  return 0;
}
