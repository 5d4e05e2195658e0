// Every setting once: its ini section and key, its command-line flag, its environment
// variable, and how its text is read. The command line and the ini file both use this
// table, so every flag has an ini key.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace pingmesh {

// What a flag or key does with its text: "" on success, else why it is not acceptable.
using ApplySetting = std::string (*)(Config& c, std::string_view text);
// Its value in the Config, as the ini file would say it (secrets masked).
using ShowSetting = std::string (*)(const Config& c);

struct Setting {
  const char* section;  // ini section, or nullptr for command-line-only flags
  const char* key;      // ini key
  const char* flag;     // command-line flag without dashes, or nullptr
  const char* env;      // environment variable, or nullptr
  bool takes_value;     // on the command line
  ApplySetting apply;
  ShowSetting show = nullptr;  // nullptr for entries without a section
  bool path = false;           // a file or directory: in the ini, relative to the ini's folder
};

const Setting* find_setting_by_flag(std::string_view flag);
const Setting* find_setting_by_key(std::string_view section, std::string_view key);
// The whole table, in --check-config's order; entries with a section have an ini key.
const Setting* settings_begin();
const Setting* settings_end();

}  // namespace pingmesh
