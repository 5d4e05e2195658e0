// Logging to stderr in the original's format ("2006/01/02 15:04:05 message").
#pragma once

#include <utility>

#include "log/output.hpp"

namespace pingmesh::log {

enum class Level { error, warning, notice, info, debug };

// Where log lines go; null: straight to stderr. The caller keeps it alive while set.
void set_output(Output* out);
void set_level(Level max_shown);
bool enabled(Level l);
void write(Level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// For bounds that are hit: the first occurrence is logged, later ones only counted.
class Once {
 public:
  bool first() { return !std::exchange(done_, true); }

 private:
  bool done_ = false;
};

}  // namespace pingmesh::log

#define PM_LOG(level, ...)                                                \
  do {                                                                    \
    if (::pingmesh::log::enabled(::pingmesh::log::Level::level))          \
      ::pingmesh::log::write(::pingmesh::log::Level::level, __VA_ARGS__); \
  } while (0)
