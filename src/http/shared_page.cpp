#include "http/shared_page.hpp"

#include <algorithm>

namespace pingmesh {

void SharedPage::prune() {
  std::erase_if(versions_, [](const auto& v) { return v.first.expired(); });
}

size_t SharedPage::held_bytes() {
  prune();
  size_t n = 0;
  for (const auto& v : versions_) n += v.second;
  return n;
}

SharedPage::Buffer SharedPage::get(uint64_t now_ns) {
  held_back_now_ = false;
  if (current_ && built_at_valid_ && now_ns - built_at_ < max_age_ns_) return current_;
  if (current_) {
    // Building frees the current version unless an answer still holds it.
    size_t others = held_bytes() - (current_.use_count() == 1 ? current_->size() : 0);
    if (others + current_->size() > max_held_) {
      ++held_back_;
      held_back_now_ = true;
      if (held_logged_.first())
        PM_LOG(warning,
               "responder: answers not yet read hold %zu bytes of %s; serving the held page "
               "again instead of building more (logged once)",
               held_bytes(), name_.c_str());
      return current_;
    }
  }
  current_ = std::make_shared<const std::string>(build_());
  built_at_ = now_ns;
  built_at_valid_ = true;
  ++builds_;
  prune();
  versions_.emplace_back(current_, current_->size());
  return current_;
}

}  // namespace pingmesh
