// An immutable string held at one copy by all its owners: a peer's URL is its name in the
// Peer, its entry in the wanted list and its metrics key, and at 100,000 peers three
// copies of it are 16 MB. One thread only: the count is a plain number.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace pingmesh {

class SharedString {
 public:
  SharedString() = default;
  explicit SharedString(std::string s) : rep_(new Rep{1, std::move(s)}) {
    rep_->text.shrink_to_fit();  // built by appending, a string can hold twice its length
  }
  SharedString(const SharedString& o) noexcept : rep_(o.rep_) {
    if (rep_) ++rep_->owners;
  }
  SharedString(SharedString&& o) noexcept : rep_(std::exchange(o.rep_, nullptr)) {}
  SharedString& operator=(SharedString o) noexcept {
    std::swap(rep_, o.rep_);
    return *this;
  }
  ~SharedString() {
    if (rep_ && --rep_->owners == 0) delete rep_;
  }

  bool empty() const { return !rep_ || rep_->text.empty(); }
  const std::string& str() const {
    static const std::string none;
    return rep_ ? rep_->text : none;
  }
  operator std::string_view() const { return str(); }
  bool operator==(const SharedString& o) const { return str() == o.str(); }

 private:
  struct Rep {
    size_t owners;
    std::string text;
  };
  Rep* rep_ = nullptr;
};

// Orders SharedStrings and string_views together (a map keyed by one is searched by either).
struct SharedStringLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a < b; }
};

}  // namespace pingmesh
