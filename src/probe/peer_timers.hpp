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
class Probe;
struct PeerShape;  // peer.hpp

class PeerTimers {
 public:
  explicit PeerTimers(Loop& loop) : timer_(loop, [this] { on_timer(); }) {}
  ~PeerTimers();
  PeerTimers(const PeerTimers&) = delete;
  PeerTimers& operator=(const PeerTimers&) = delete;

  // The peer's tick at its due_ns(), replacing any it had; disarm drops it.
  void arm(Peer& peer);
  void disarm(Peer& peer);
  // Frees the peer's ended probe on a later turn, never inside the probe's callback: at
  // the next tick of any peer if one is due within kFreeWithinNs, else at once.
  void free_probe_later(Peer& peer);
  // The peer goes: nothing of it is called any more.
  void forget(Peer& peer);

  // Ended probes kept for the next ticks of any peer, up to kSpareProbes: a probe and
  // its two uv timers are not made and freed again each round. Never inside a callback
  // of the probe (free_probe_later's rule).
  std::unique_ptr<Probe> take_spare();
  void keep_spare(std::unique_ptr<Probe> probe);
  size_t spares() const { return spares_.size(); }
  uint64_t spares_taken() const { return spares_taken_; }

  // The one copy of s that its peers share (kept while one of them lives).
  std::shared_ptr<const PeerShape> share(const PeerShape& s);

  size_t armed() const { return heap_.size(); }
  size_t probes_to_free() const { return ended_.size(); }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // uv's clock is in milliseconds: a tick up to this early is run, not waited for.
  static constexpr uint64_t kEarlyNs = 1'000'000;
  // An ended probe waits for the next tick of any peer if it comes within this, rather
  // than wake the loop once more for it alone (with many peers, one comes soon).
  static constexpr uint64_t kFreeWithinNs = 50'000'000;

  void on_timer();
  void schedule();  // the uv timer for the earliest tick, or at once for ended probes
  bool before(size_t a, size_t b) const;
  struct Entry {
    uint64_t due_ns;  // the peer's due_ns() when armed: the heap reads no peer to order
    Peer* peer;
  };
  void place(size_t i, Entry e);
  void sift_up(size_t i);
  void sift_down(size_t i);

  Timer timer_;
  bool timer_armed_ = false;
  uint64_t timer_due_ns_ = 0;
  std::vector<Entry> heap_;     // a binary min-heap on due_ns; each peer knows its slot
  std::vector<Peer*> ended_;    // peers whose probe ended since the last turn
  std::vector<Peer*> freeing_;  // ended_ as on_timer takes it
  static constexpr size_t kSpareProbes = 4;  // about the probes in flight at one time
  std::vector<std::unique_ptr<Probe>> spares_;
  uint64_t spares_taken_ = 0;
  std::vector<std::weak_ptr<const PeerShape>> shapes_;  // a few: one per distinct shape
};

}  // namespace pingmesh
