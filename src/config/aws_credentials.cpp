// The AWS shared credentials file (~/.aws/credentials): one [profile] section with
// aws_access_key_id, aws_secret_access_key and, for temporary credentials,
// aws_session_token.
#include <ini.h>

#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "config/text_file.hpp"

namespace pingmesh {

namespace {

struct Reading {
  std::string_view profile;
  Config::CloudWatch* cw;
};

int on_entry(void* user, const char* section, const char* key, const char* value) {
  auto* r = static_cast<Reading*>(user);
  if (r->profile != section) return 1;
  std::string_view k(key);
  if (k == "aws_access_key_id")
    r->cw->access_key_id = value;
  else if (k == "aws_secret_access_key")
    r->cw->secret_access_key = value;
  else if (k == "aws_session_token")
    r->cw->session_token = value;
  return 1;
}

}  // namespace

bool read_shared_credentials(Config::CloudWatch& cw, const GetEnv& getenv) {
  std::string path = cw.credentials_file;
  if (path.empty()) {
    const char* home = getenv("HOME");
    if (!home) return false;
    path = std::string(home) + "/.aws/credentials";
  }
  // Bounded and regular, like every file a configuration names.
  std::string text;
  if (!read_text_file(path, kMaxConfigFileBytes, &text).empty()) return false;
  Reading r{cw.profile, &cw};
  return ini_parse_string(text.c_str(), on_entry, &r) == 0 && !cw.access_key_id.empty();
}

}  // namespace pingmesh
