#include "probe/peer.hpp"

#include "log/log.hpp"
#include "loop/clock.hpp"

namespace pingmesh {

Peer::Peer(Loop& loop, Resolver& resolver, Url url, PeerSettings settings, ProbeLimits limits,
           Events& events, uint64_t seed, PeerTimers* timers)
    : schedule_(seed),
      timers_(timers),
      location_(settings.location.empty() ? "unknown" : std::move(settings.location)) {
  if (!timers_) timers_ = (extra().own_timers = std::make_unique<PeerTimers>(loop)).get();
  PeerShape shape;
  shape.loop = &loop;
  shape.resolver = &resolver;
  shape.events = &events;
  shape.delay_ms = settings.delay_ms;
  shape.limit = settings.limit;
  // The original caps the failure limit at the ping limit.
  shape.max_failures = settings.limit > 0 && settings.max_failures > settings.limit
                           ? settings.limit
                           : settings.max_failures;
  shape.limits = limits;
  shape_ = timers_->share(shape);
  std::string display = url.display();
  if (settings.url_text.str() == display)
    display_url_ = settings.url_text;
  else
    display_url_ = SharedString(std::move(display));
  if (!settings.identity.empty() && settings.identity != display_url_.str()) {
    identity_ = settings.identity == settings.url_text.str() ? settings.url_text
                                                             : SharedString(settings.identity);
  }
  if (!url.query.empty()) extra().query = url.query;
  if (!settings.address_override.empty())
    extra().address_override = std::move(settings.address_override);
  if (settings.tls.conf) extra().tls = std::move(settings.tls);
  if (target_url() != url) extra().url = std::move(url);
}

Peer::Extra& Peer::extra() {
  if (!extra_) extra_ = std::make_unique<Extra>();
  return *extra_;
}

Url Peer::target_url() const {
  if (extra_ && extra_->url) return *extra_->url;
  std::string text = url();
  if (extra_ && !extra_->query.empty()) text += "?" + extra_->query;
  return parse_url(text, nullptr).value_or(Url{});
}

const std::string& Peer::last_error() const {
  static const std::string none;
  return errors_ ? errors_->last_error : none;
}

// What the probe reads, from the peer's text; the TLS session stays with the peer
// between probes (free_ended_probe takes it back).
ProbeTarget Peer::make_target() {
  ProbeTarget t(target_url(), extra_ ? extra_->address_override : std::string(),
                extra_ ? extra_->tls : TlsTarget{});
  t.identity = identity();
  if (extra_ && extra_->session && t.session) t.session = std::move(extra_->session);
  return t;
}

// A spare probe of any peer's, ended, is used again when there is one (PeerTimers).
Peer::Flight::Flight(Peer& peer, ProbeTarget t)
    : target(std::move(t)), probe(peer.timers_->take_spare()) {
  Probe::Done done = [&peer](const Sample& s) { peer.on_probe_done(s); };
  if (probe)
    probe->rebind(*peer.shape_->resolver, target, peer.shape_->limits, std::move(done));
  else
    probe = std::make_unique<Probe>(*peer.shape_->loop, *peer.shape_->resolver, target,
                                    peer.shape_->limits, std::move(done));
}

PeerTotals Peer::totals() const {
  PeerTotals t;
  t.successes = counts_.successes;
  t.failures = counts_.failures;
  t.max_failures = max_failures();
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
  if (!flight_ || flight_->probe->running()) return;
  if (flight_->target.session) extra().session = std::move(flight_->target.session);
  timers_->keep_spare(std::move(flight_->probe));
  flight_.reset();
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
    free_ended_probe();  // the last one, done: its session comes back
    if (extra_ && extra_->next_tls) {
      extra_->tls = std::move(*extra_->next_tls);
      extra_->next_tls.reset();
      extra_->session.reset();  // verified against the old CA: a new probe starts afresh
    }
    flight_ = std::make_unique<Flight>(*this, make_target());
    flight_->probe->start();
  }
  if (stopping_ || ended_) return;
  uint64_t delay_ns = delay_ms() * 1000000;
  due_ns_ = schedule_.next(due_ns_, delay_ns);
  while (due_ns_ <= now) due_ns_ = schedule_.next(due_ns_, delay_ns);  // the loop was stalled
  timers_->arm(*this);
}

void Peer::on_probe_done(const Sample& s) {
  if (s.ok()) {
    if (errors_) {
      if (errors_->unlogged_failures)
        PM_LOG(notice, "%s answers again, after %d more failures like the last one logged",
               url().c_str(), errors_->unlogged_failures);
      errors_->unlogged_failures = 0;
      errors_->last_failure = FailureReason::none;
    }
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
    if (!errors_) errors_ = std::make_unique<Errors>();
    errors_->last_error =
        std::string(to_string(s.reason)) + (s.detail.empty() ? "" : ": " + s.detail);
    errors_->last_error_unix_ns = s.start_unix_ns;
    // The original's words; from -v on, the reason too.
    log_failure(s);
  }
  timers_->free_probe_later(*this);  // we are inside the probe's callback
  shape_->events->on_sample(*this, s);

  bool limit_reached = limit() > 0 && counts_.successes >= limit();
  if (limit_reached || counts_.failures >= max_failures() || stopping_) end();
}

// The original's words, and from -v on the reason. A peer failing the same way again
// and again is logged the first time, then once a minute with the count in between.
void Peer::log_failure(const Sample& s) {
  uint64_t now = mono_ns();
  Errors& e = *errors_;
  if (s.reason == e.last_failure && now - e.last_failure_log_ns < kRepeatLogNs &&
      !log::enabled(log::Level::debug)) {
    ++e.unlogged_failures;
    return;
  }
  std::string why = log::enabled(log::Level::info) ? std::string(to_string(s.reason)) : "";
  if (!s.detail.empty()) why += (why.empty() ? "" : ": ") + s.detail;
  if (!why.empty()) why = " (" + why + ")";
  if (e.unlogged_failures)
    why += "; " + std::to_string(e.unlogged_failures) + " more like the last one before it";
  PM_LOG(warning, "HTTP error %d failure %d of %d on %s%s", s.http_code, counts_.failures,
         max_failures(), url().c_str(), why.c_str());
  e.last_failure = s.reason;
  e.last_failure_log_ns = now;
  e.unlogged_failures = 0;
}

void Peer::use_tls_config(const mbedtls_ssl_config* conf, std::shared_ptr<const void> owner) {
  Extra& x = extra();
  auto next = std::make_unique<TlsTarget>(x.next_tls ? *x.next_tls : x.tls);
  next->conf = conf;
  next->owner = std::move(owner);
  x.next_tls = std::move(next);
}

void Peer::stop() {
  if (ended_ || stopping_) return;
  stopping_ = true;
  timers_->disarm(*this);
  if (!busy()) end();
}

void Peer::cancel() {
  if (flight_) {
    flight_->probe->cancel();
    timers_->free_probe_later(*this);
  }
  if (stopping_ && !ended_) end();
}

void Peer::end() {
  if (ended_) return;
  ended_ = true;
  if (errors_ && errors_->unlogged_failures)
    PM_LOG(warning, "%s: %d more failures like the last one logged", url().c_str(),
           errors_->unlogged_failures);
  timers_->disarm(*this);
  shape_->events->on_peer_ended(*this);
}

}  // namespace pingmesh
