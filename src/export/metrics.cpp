#include "export/metrics.hpp"

#include <algorithm>
#include <climits>

namespace pingmesh {

void Metrics::on_sample(const Sample& s, int) noexcept {
  on_sample(s, SharedString());
}

void Metrics::on_sample(const Sample& s, const SharedString& identity) noexcept {
  auto it = peers_.find(std::string_view(s.peer));
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) {
      ++untracked_;
      if (untracked_logged_.first())
        PM_LOG(warning, "metrics: more than %zu peers; samples of the others are only counted",
               max_peers_);
      return;
    }
    SharedString key = identity.str() == s.peer ? identity : SharedString(s.peer);
    it = peers_.emplace(std::move(key), PeerSeries{}).first;
  }
  PeerSeries& p = it->second;
  p.last_sample_unix_ns = s.start_unix_ns;
  p.last_http_code = s.http_code;
  if (s.cert_not_after_unix != 0) p.cert_not_after_unix = s.cert_not_after_unix;
  const SampleQuality& q = s.quality;
  p.flags[0] += q.disturbed;
  p.flags[1] += q.missing_stamps;
  p.flags[2] += q.coalesced;
  p.flags[3] += q.retransmitted;
  p.last_loop_lag_us = uint32_t(std::min<uint64_t>(q.loop_lag_ns / 1000, UINT32_MAX));
  p.last_other_work_us = uint32_t(std::min<uint64_t>(q.other_work_ns / 1000, UINT32_MAX));
  if (s.ok())
    p.recent.add_ok(s.t.total);
  else
    p.recent.add_failed();
  if (!s.ok()) {
    ++p.failed;
    p.failures.add(size_t(s.reason) - 1);
    return;
  }
  ++p.ok;
  for (size_t i = 0; i < p.kernel_timed.size(); ++i)
    p.kernel_timed[i] += s.reported_by_kernel(kKernelTimedPhases[i].bit);
  if (!s.counts_in_statistics()) return;  // disturbed, and no kernel time to fall back on
  const Timings& t = s.t;
  if (t.dns != 0) p.phases.add(PhaseIndex::dns, t.dns);
  p.phases.add(PhaseIndex::tcp, t.tcp);
  if (s.tls_version) p.phases.add(PhaseIndex::tls, t.tls);
  p.phases.add(PhaseIndex::first, t.first);
  p.phases.add(PhaseIndex::lastb, t.lastb);
  p.phases.add(PhaseIndex::total, t.total);
}

void Metrics::forget(std::string_view peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) peers_.erase(it);
}

const PeerSeries* Metrics::find(std::string_view peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

}  // namespace pingmesh
