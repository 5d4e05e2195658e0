#include "export/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "log/log.hpp"

namespace pingmesh {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

Spool::Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create the spool directory " + dir_ + ": " +
                             std::strerror(errno));
  if (access(dir_.c_str(), W_OK) != 0)
    throw std::runtime_error("cannot write to the spool directory " + dir_);
  scan();
  if (!entries_.empty())
    PM_LOG(notice, "CloudWatch spool: %zu requests (%llu bytes) from before, to send first",
           entries_.size(), (unsigned long long)bytes_);
  enforce_bound();
}

void Spool::scan() {
  DIR* d = opendir(dir_.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (ends_with(name, ".tmp")) {
      unlink(path(name).c_str());  // a write that a crash interrupted
      continue;
    }
    if (!ends_with(name, ".form") || name.find_first_not_of("0123456789") != 20) continue;
    struct stat st;
    if (stat(path(name).c_str(), &st) != 0) continue;
    entries_.push_back({name, uint64_t(st.st_size), std::strtoll(name.c_str(), nullptr, 10)});
    bytes_ += uint64_t(st.st_size);
  }
  closedir(d);
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
}

bool Spool::put(const std::string& body, int64_t unix_ns) {
  char name[64];
  std::snprintf(name, sizeof name, "%020lld-%06u.form", (long long)unix_ns, sequence_++ % 1000000);
  std::string tmp = path(std::string(name) + ".tmp");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  for (size_t at = 0; ok && at < body.size();) {
    ssize_t n = write(fd, body.data() + at, body.size() - at);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    at += ok ? size_t(n) : 0;
  }
  // One small fsync a period, so a crash or power cut cannot leave a torn file.
  ok = ok && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  ok = ok && rename(tmp.c_str(), path(name).c_str()) == 0;
  if (!ok) {
    PM_LOG(error, "CloudWatch spool: cannot write %s: %s", tmp.c_str(), std::strerror(errno));
    unlink(tmp.c_str());
    return false;
  }
  // In name order, so an entry stored with an older time (the halves of a split request)
  // goes before the newer ones.
  Entry e{name, body.size(), unix_ns};
  entries_.insert(std::upper_bound(entries_.begin(), entries_.end(), e,
                                   [](const Entry& a, const Entry& b) { return a.name < b.name; }),
                  std::move(e));
  bytes_ += body.size();
  enforce_bound();
  return true;
}

void Spool::enforce_bound() {
  while (bytes_ > max_bytes_ && entries_.size() > 1) {
    // The oldest, unless it is the one being sent: then the next oldest.
    Entry victim = entries_.front().name == pinned_ ? entries_[1] : entries_.front();
    ++counters_.dropped_full;
    if (!std::exchange(full_logged_, true))
      PM_LOG(warning,
             "CloudWatch spool over %llu bytes: dropping the oldest requests (logged once)",
             (unsigned long long)max_bytes_);
    remove(victim);
  }
}

std::optional<Spool::Entry> Spool::oldest(int64_t now_unix_ns) {
  while (!entries_.empty() && now_unix_ns - entries_.front().unix_ns > kMaxAgeNs) {
    if (counters_.dropped_expired++ == 0)
      PM_LOG(warning,
             "CloudWatch spool: dropping data older than two weeks, which CloudWatch "
             "refuses (logged once)");
    remove(entries_.front());
  }
  if (entries_.empty()) return std::nullopt;
  return entries_.front();
}

std::optional<std::string> Spool::read(const Entry& e) const {
  FILE* f = std::fopen(path(e.name).c_str(), "rb");
  if (!f) return std::nullopt;  // errno says why
  std::string body(e.bytes, '\0');
  size_t got = std::fread(body.data(), 1, body.size(), f);
  std::fclose(f);
  if (got != body.size()) {
    errno = ENOENT;  // a short file will not get longer: drop it
    return std::nullopt;
  }
  return body;
}

void Spool::remove(const Entry& e) {
  unlink(path(e.name).c_str());
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& x) { return x.name == e.name; });
  if (it == entries_.end()) return;
  bytes_ -= it->bytes;
  entries_.erase(it);
}

void Spool::set_aside(const Entry& e) {
  ++counters_.set_aside;
  rename(path(e.name).c_str(), path(e.name + ".rejected").c_str());
  // Kept for a person to look at, but only the newest few.
  std::vector<std::string> rejected;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* f = readdir(d))
      if (ends_with(f->d_name, ".rejected")) rejected.emplace_back(f->d_name);
    closedir(d);
  }
  std::sort(rejected.begin(), rejected.end());
  for (size_t i = 0; i + kKeptRejected < rejected.size(); ++i) unlink(path(rejected[i]).c_str());
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& x) { return x.name == e.name; });
  if (it == entries_.end()) return;
  bytes_ -= it->bytes;
  entries_.erase(it);
}

}  // namespace pingmesh
