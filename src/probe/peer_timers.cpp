#include "probe/peer_timers.hpp"

#include <algorithm>

#include "loop/clock.hpp"
#include "probe/peer.hpp"
#include "probe/probe.hpp"

namespace pingmesh {

PeerTimers::~PeerTimers() = default;

std::unique_ptr<Probe> PeerTimers::take_spare() {
  if (spares_.empty()) return nullptr;
  std::unique_ptr<Probe> p = std::move(spares_.back());
  spares_.pop_back();
  ++spares_taken_;
  return p;
}

void PeerTimers::keep_spare(std::unique_ptr<Probe> probe) {
  if (spares_.size() >= kSpareProbes) return;  // freed here: more were in flight than usual
  probe->release();
  spares_.push_back(std::move(probe));
}

bool PeerTimers::before(size_t a, size_t b) const {
  return heap_[a].due_ns < heap_[b].due_ns;
}

void PeerTimers::place(size_t i, Entry e) {
  heap_[i] = e;
  e.peer->timer_slot_ = uint32_t(i);
}

void PeerTimers::sift_up(size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(i, parent)) return;
    Entry p = heap_[parent];
    place(parent, heap_[i]);
    place(i, p);
    i = parent;
  }
}

void PeerTimers::sift_down(size_t i) {
  for (;;) {
    size_t least = i, l = 2 * i + 1, r = l + 1;
    if (l < heap_.size() && before(l, least)) least = l;
    if (r < heap_.size() && before(r, least)) least = r;
    if (least == i) return;
    Entry p = heap_[least];
    place(least, heap_[i]);
    place(i, p);
    i = least;
  }
}

void PeerTimers::arm(Peer& peer) {
  disarm(peer);
  heap_.push_back(Entry{peer.due_ns(), &peer});
  place(heap_.size() - 1, heap_.back());
  sift_up(heap_.size() - 1);
  if (!timer_armed_ || peer.due_ns() < timer_due_ns_) schedule();
}

void PeerTimers::disarm(Peer& peer) {
  size_t i = peer.timer_slot_;
  if (i == kNoSlot) return;
  peer.timer_slot_ = kNoSlot;
  Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  sift_down(i);
  sift_up(i);
  // The uv timer may now wake for nothing: it finds no tick due and sleeps again.
}

void PeerTimers::free_probe_later(Peer& peer) {
  if (std::find(ended_.begin(), ended_.end(), &peer) == ended_.end()) ended_.push_back(&peer);
  if (!timer_armed_ || timer_due_ns_ > mono_ns() + kFreeWithinNs) {
    timer_.start(0);
    timer_armed_ = true;
    timer_due_ns_ = 0;
  }
}

std::shared_ptr<const PeerShape> PeerTimers::share(const PeerShape& s) {
  std::shared_ptr<const PeerShape> found;
  std::erase_if(shapes_, [&](const std::weak_ptr<const PeerShape>& w) {
    auto p = w.lock();
    if (p && !found && *p == s) found = std::move(p);
    return w.expired();
  });
  if (found) return found;
  auto made = std::make_shared<const PeerShape>(s);
  shapes_.push_back(made);
  return made;
}

void PeerTimers::forget(Peer& peer) {
  disarm(peer);
  std::erase(ended_, &peer);
}

void PeerTimers::schedule() {
  uint64_t now = mono_ns();
  if (!ended_.empty() && (heap_.empty() || heap_[0].due_ns > now + kFreeWithinNs)) {
    timer_.start(0);
    timer_armed_ = true;
    timer_due_ns_ = 0;
    return;
  }
  if (heap_.empty()) {
    timer_.stop();
    timer_armed_ = false;
    return;
  }
  uint64_t due = heap_[0].due_ns;
  timer_.start(due <= now ? 0 : (due - now + 999'999) / 1'000'000);
  timer_armed_ = true;
  timer_due_ns_ = due;
}

void PeerTimers::on_timer() {
  timer_armed_ = false;
  // Both lists keep their buffers: no allocation a probe.
  freeing_.swap(ended_);
  for (Peer* p : freeing_) p->free_ended_probe();  // frees no peer and calls nothing back
  freeing_.clear();
  // Each due peer once: a tick arms the next one in the future, and the count bounds it.
  uint64_t now = mono_ns() + kEarlyNs;
  for (size_t n = heap_.size(); n > 0 && !heap_.empty() && heap_[0].due_ns <= now; --n) {
    Peer* p = heap_[0].peer;
    disarm(*p);
    p->on_tick();
  }
  schedule();
}

}  // namespace pingmesh
