#include "probe/peer.hpp"

#include "log/log.hpp"
#include "loop/clock.hpp"

namespace pingmesh {

Peer::Peer(Loop& loop, Resolver& resolver, Url url, PeerSettings settings, ProbeLimits limits,
           Events& events, uint64_t seed, PeerTimers* timers)
    : loop_(loop),
      resolver_(resolver),
      target_(std::move(url), std::move(settings.address_override), std::move(settings.tls)),
      delay_ms_(settings.delay_ms),
      limit_(settings.limit),
      // The original caps the failure limit at the ping limit.
      max_failures_(settings.limit > 0 && settings.max_failures > settings.limit
                        ? settings.limit
                        : settings.max_failures),
      limits_(limits),
      events_(events),
      schedule_(seed),
      own_timers_(timers ? nullptr : std::make_unique<PeerTimers>(loop)),
      timers_(timers ? timers : own_timers_.get()),
      location_(settings.location.empty() ? "unknown" : std::move(settings.location)) {
  target_.identity = settings.identity.empty() ? target_.display_url : std::move(settings.identity);
}

PeerTotals Peer::totals() const {
  PeerTotals t;
  t.successes = counts_.successes;
  t.failures = counts_.failures;
  t.max_failures = max_failures_;
  t.averaged = counts_.averaged;
  t.disturbed = counts_.disturbed;
  t.sum = counts_.sum;
  t.size_sum = counts_.size_sum;
  t.first_start_unix_ns = counts_.first_start_unix_ns;
  return t;
}

PeerTotals Peer::summary() const {
  PeerTotals t = totals();
  t.peer = identity();
  t.url = url();
  if (counts_.successes > 0) t.location = location_;  // known once it answered
  return t;
}

Peer::~Peer() {
  timers_->forget(*this);
}

// Only what later readers need stays with the peer (its totals, latest error, address);
// the probe itself goes. One started again since it ended is kept.
void Peer::free_ended_probe() {
  if (probe_ && !probe_->running()) timers_->keep_spare(std::move(probe_));
}

void Peer::start(uint64_t first_offset_ns) {
  due_ns_ = mono_ns() + first_offset_ns;
  timers_->arm(*this);
}

void Peer::on_tick() {
  uint64_t now = mono_ns();
  if (busy()) {
    ++skipped_ticks_;  // the previous probe is still running: keep the grid, skip this one
  } else {
    if (next_tls_) {
      probe_.reset();  // the last probe, done, may still point at the old session
      target_.tls = std::move(*next_tls_);
      next_tls_.reset();
      if (target_.session) target_.session = std::make_unique<TlsSessionSlot>();
    }
    Probe::Done done = [this](const Sample& s) { on_probe_done(s); };
    if (!probe_) probe_ = timers_->take_spare();  // else its own ended one, not freed yet
    if (probe_)
      probe_->rebind(resolver_, target_, limits_, std::move(done));
    else
      probe_ = std::make_unique<Probe>(loop_, resolver_, target_, limits_, std::move(done));
    probe_->start();
  }
  if (stopping_ || ended_) return;
  uint64_t delay_ns = delay_ms_ * 1000000;
  due_ns_ = schedule_.next(due_ns_, delay_ns);
  while (due_ns_ <= now) due_ns_ = schedule_.next(due_ns_, delay_ns);  // the loop was stalled
  timers_->arm(*this);
}

void Peer::on_probe_done(const Sample& s) {
  if (s.ok()) {
    if (unlogged_failures_)
      PM_LOG(notice, "%s answers again, after %d more failures like the last one logged",
             url().c_str(), unlogged_failures_);
    unlogged_failures_ = 0;
    last_failure_ = FailureReason::none;
    ++counts_.successes;
    latest_unix_ns_ = s.start_unix_ns;
    if (peer_ip_.empty()) peer_ip_ = s.remote_addr;
    if (counts_.successes == 1) {
      counts_.first_start_unix_ns = s.start_unix_ns;
      // A preset location is what the user calls the peer, whatever it says; otherwise
      // it is learned from the first reply, or is the URL if the reply says nothing.
      if (location_ == "unknown") location_ = s.location != "unknown" ? s.location : url();
    }
    if (s.quality.disturbed) ++counts_.disturbed;
    if (s.counts_in_statistics()) {
      ++counts_.averaged;
      counts_.sum.dns += s.t.dns;
      counts_.sum.tcp += s.t.tcp;
      counts_.sum.tls += s.t.tls;
      counts_.sum.first += s.t.first;
      counts_.sum.lastb += s.t.lastb;
      counts_.sum.total += s.t.total;
    }
    counts_.size_sum += s.size;
  } else {
    ++counts_.failures;
    last_error_ = std::string(to_string(s.reason)) + (s.detail.empty() ? "" : ": " + s.detail);
    last_error_unix_ns_ = s.start_unix_ns;
    // The original's words; from -v on, the reason too.
    log_failure(s);
  }
  timers_->free_probe_later(*this);  // we are inside the probe's callback
  events_.on_sample(*this, s);

  bool limit_reached = limit_ > 0 && counts_.successes >= limit_;
  if (limit_reached || counts_.failures >= max_failures_ || stopping_) end();
}

// The original's words, and from -v on the reason. A peer failing the same way again
// and again is logged the first time, then once a minute with the count in between.
void Peer::log_failure(const Sample& s) {
  uint64_t now = mono_ns();
  if (s.reason == last_failure_ && now - last_failure_log_ns_ < kRepeatLogNs &&
      !log::enabled(log::Level::debug)) {
    ++unlogged_failures_;
    return;
  }
  std::string why = log::enabled(log::Level::info) ? std::string(to_string(s.reason)) : "";
  if (!s.detail.empty()) why += (why.empty() ? "" : ": ") + s.detail;
  if (!why.empty()) why = " (" + why + ")";
  if (unlogged_failures_)
    why += "; " + std::to_string(unlogged_failures_) + " more like the last one before it";
  PM_LOG(warning, "HTTP error %d failure %d of %d on %s%s", s.http_code, counts_.failures,
         max_failures_, url().c_str(), why.c_str());
  last_failure_ = s.reason;
  last_failure_log_ns_ = now;
  unlogged_failures_ = 0;
}

void Peer::use_tls_config(const mbedtls_ssl_config* conf, std::shared_ptr<const void> owner) {
  auto next = std::make_unique<TlsTarget>(next_tls_ ? *next_tls_ : target_.tls);
  next->conf = conf;
  next->owner = std::move(owner);
  next_tls_ = std::move(next);
}

void Peer::stop() {
  if (ended_ || stopping_) return;
  stopping_ = true;
  timers_->disarm(*this);
  if (!busy()) end();
}

void Peer::cancel() {
  if (probe_) {
    probe_->cancel();
    timers_->free_probe_later(*this);
  }
  if (stopping_ && !ended_) end();
}

void Peer::end() {
  if (ended_) return;
  ended_ = true;
  if (unlogged_failures_)
    PM_LOG(warning, "%s: %d more failures like the last one logged", url().c_str(),
           unlogged_failures_);
  timers_->disarm(*this);
  events_.on_peer_ended(*this);
}

}  // namespace pingmesh
