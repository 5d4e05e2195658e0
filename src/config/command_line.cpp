// The command line: Go's flag syntax, as the original's (-name, --name, -name=value,
// -name value), read for syntax here and applied last by load_config.
#include <string_view>

#include "config/config.hpp"
#include "config/settings.hpp"

namespace pingmesh {

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      cl.endpoints.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string_view> value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto take_value = [&]() -> std::string {
      if (value) return std::string(*value);
      if (i + 1 >= argc) throw UsageError("flag -" + std::string(name) + " needs a value");
      return argv[++i];
    };
    auto switch_on = [&]() {
      if (value && *value != "true" && *value != "1") {
        if (*value == "false" || *value == "0") return false;
        throw UsageError("flag -" + std::string(name) + " takes no value, or true/false");
      }
      return true;
    };

    if (name == "help" || name == "h") {
      cl.action = CommandLine::Action::help;
    } else if (name == "version") {
      cl.action = CommandLine::Action::version;
    } else if (name == "check-config") {
      cl.action = CommandLine::Action::check_config;
    } else if (name == "C" || name == "config") {
      cl.config_path = take_value();
    } else if (name == "v") {
      cl.verbose = switch_on();
    } else if (name == "V") {
      cl.very_verbose = switch_on();
    } else if (name == "q") {
      cl.quiet = switch_on();
    } else if (const Setting* s = find_setting_by_flag(name)) {
      if (s->takes_value) {
        cl.settings.push_back({s, take_value()});
      } else if (switch_on()) {
        cl.settings.push_back({s, ""});
      }
    } else {
      throw UsageError("unknown flag '" + std::string(arg) + "'");
    }
  }
  return cl;
}

}  // namespace pingmesh
