// A page that is expensive to build and may be large (/v1/peers): built at most once per
// max_age into one immutable buffer that every answer in flight shares. Answers to clients
// that do not read keep old versions alive; when the versions held would pass max_held
// bytes, the newest one is served again instead of building another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "log/log.hpp"

namespace pingmesh {

class SharedPage {
 public:
  using Build = std::function<std::string()>;
  using Buffer = std::shared_ptr<const std::string>;

  // name is the path, for the log line when the bound holds a rebuild back.
  SharedPage(std::string name, Build build, uint64_t max_age_ns, size_t max_held)
      : name_(std::move(name)),
        build_(std::move(build)),
        max_age_ns_(max_age_ns),
        max_held_(max_held) {}

  // The page as of at most max_age ago (or older, when the bound holds it back).
  Buffer get(uint64_t now_ns);
  // Built again at the next get, whatever its age: what it shows has changed.
  void invalidate() { built_at_valid_ = false; }

  // Bytes of every version still referenced, the current one included.
  size_t held_bytes();
  uint64_t builds() const { return builds_; }
  uint64_t held_back() const { return held_back_; }  // times a rebuild was skipped
  bool held_back_now() const { return held_back_now_; }

 private:
  void prune();

  std::string name_;
  Build build_;
  uint64_t max_age_ns_;
  size_t max_held_;
  Buffer current_;
  uint64_t built_at_ = 0;
  bool built_at_valid_ = false;
  log::Once held_logged_;
  std::vector<std::pair<std::weak_ptr<const std::string>, size_t>> versions_;
  uint64_t builds_ = 0;
  uint64_t held_back_ = 0;
  bool held_back_now_ = false;
};

}  // namespace pingmesh
