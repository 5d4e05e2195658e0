// Store and forward for CloudWatch: each request body is a file in the spool directory,
// written atomically (temporary file, fsync, rename) before it is sent and removed once
// CloudWatch has accepted it. What a restart finds is replayed, oldest first. Bounded:
// past max_bytes the oldest go first; data older than CloudWatch accepts (two weeks) is
// dropped. Every drop is counted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pingmesh {

class Spool {
 public:
  struct Entry {
    std::string name;  // file name: <unix ns>-<sequence>.form, so names sort by age
    uint64_t bytes = 0;
    int64_t unix_ns = 0;
  };
  struct Counters {
    uint64_t dropped_full = 0;     // oldest removed to stay under max_bytes
    uint64_t dropped_expired = 0;  // older than CloudWatch accepts
    uint64_t set_aside = 0;        // refused by CloudWatch (4xx): kept as *.rejected
  };
  static constexpr int64_t kMaxAgeNs = 14LL * 24 * 3600 * 1000000000;
  static constexpr size_t kKeptRejected = 16;

  // Creates the directory if needed; throws std::runtime_error if it cannot be used.
  Spool(std::string dir, uint64_t max_bytes);

  // Stores one request body; false (and logged) when the disk refuses it.
  bool put(const std::string& body, int64_t unix_ns);
  // The oldest entry still to send, after dropping expired ones.
  std::optional<Entry> oldest(int64_t now_unix_ns);
  std::optional<std::string> read(const Entry& e) const;
  void remove(const Entry& e);
  void set_aside(const Entry& e);
  // The entry being sent: the size bound drops others first.
  void pin(const std::string& name) { pinned_ = name; }
  size_t size() const { return entries_.size(); }
  uint64_t bytes() const { return bytes_; }
  const Counters& counters() const { return counters_; }

 private:
  void scan();
  void enforce_bound();
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
  uint64_t max_bytes_;
  std::vector<Entry> entries_;  // oldest first
  uint64_t bytes_ = 0;
  uint32_t sequence_ = 0;
  std::string pinned_;
  Counters counters_;
  bool full_logged_ = false;
};

}  // namespace pingmesh
