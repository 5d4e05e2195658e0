// One uv timer for many peers: their ticks, in a heap by due time, and the freeing of
// their ended probes on a later turn. A uv timer is 152 bytes of heap and its wrapper 40
// more: at 100,000 peers one per peer is 20 MB of what is otherwise one timer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "loop/timer.hpp"

namespace pingmesh {

class Peer;
struct PeerShape;  // peer.hpp

class PeerTimers {
 public:
  explicit PeerTimers(Loop& loop) : timer_(loop, [this] { on_timer(); }) {}
  PeerTimers(const PeerTimers&) = delete;
  PeerTimers& operator=(const PeerTimers&) = delete;

  // The peer's tick at its due_ns(), replacing any it had; disarm drops it.
  void arm(Peer& peer);
  void disarm(Peer& peer);
  // Frees the peer's ended probe on a later turn: never inside the probe's callback.
  void free_probe_later(Peer& peer);
  // The peer goes: nothing of it is called any more.
  void forget(Peer& peer);

  // The one copy of s that its peers share (kept while one of them lives).
  std::shared_ptr<const PeerShape> share(const PeerShape& s);

  size_t armed() const { return heap_.size(); }
  size_t probes_to_free() const { return ended_.size(); }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // uv's clock is in milliseconds: a tick up to this early is run, not waited for.
  static constexpr uint64_t kEarlyNs = 1'000'000;

  void on_timer();
  void schedule();  // the uv timer for the earliest tick, or at once for ended probes
  bool before(size_t a, size_t b) const;
  void place(size_t i, Peer* p);
  void sift_up(size_t i);
  void sift_down(size_t i);

  Timer timer_;
  bool timer_armed_ = false;
  uint64_t timer_due_ns_ = 0;
  std::vector<Peer*> heap_;   // a binary min-heap on due_ns(); each peer knows its slot
  std::vector<Peer*> ended_;  // peers whose probe ended since the last turn
  std::vector<std::weak_ptr<const PeerShape>> shapes_;  // a few: one per distinct shape
};

}  // namespace pingmesh
