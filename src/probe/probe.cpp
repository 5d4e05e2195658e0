#include "probe/probe.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "http/ping_page.hpp"
#include "loop/clock.hpp"
#include "loop/tcp.hpp"

namespace pingmesh {

namespace {

FailureReason connect_reason(int status) {
  switch (status) {
    case UV_ECONNREFUSED:
      return FailureReason::connect_refused;
    case UV_ETIMEDOUT:
      return FailureReason::connect_timeout;
    default:
      return FailureReason::connect_error;
  }
}

constexpr uint64_t kAttemptDelayMs = 250;

// Time in the probe's own callbacks, from the event's time to the callback's end: the
// loop's busy time less this is the other work the probe overlapped.
class OwnWork {
 public:
  OwnWork(uint64_t& total, uint64_t since) : total_(total), since_(since) {}
  ~OwnWork() { total_ += mono_ns() - since_; }

 private:
  uint64_t& total_;
  uint64_t since_;
};

}  // namespace

// Forwards its stream's events to the probe, which tells the attempts apart by them.
class Probe::Attempt final : public TimedStream::Events {
 public:
  Attempt(Loop& loop, Probe& probe, const sockaddr_storage& to)
      : stream(loop, *this), address(to), probe_(probe) {}
  void on_connect(int status, const TimedStream::Connected& c) noexcept override {
    probe_.on_connect(*this, status, c);
  }
  void on_read(int status, const char* data, size_t len,
               const TimedStream::Received& r) noexcept override {
    probe_.on_read(status, data, len, r);
  }

  TimedStream stream;
  sockaddr_storage address;

 private:
  Probe& probe_;
};

ProbeTarget::ProbeTarget(Url u, std::string override_ip, TlsTarget tls_target)
    : url(std::move(u)),
      address_override(std::move(override_ip)),
      display_url(url.display()),
      tls(std::move(tls_target)) {
  if (tls.conf && tls.resume) session = std::make_unique<TlsSessionSlot>();
  request = "GET " + url.target() + " HTTP/1.1\r\nHost: " + url.authority +
            "\r\nUser-Agent: pingmesh/" PINGMESH_VERSION
            "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

Probe::Probe(Loop& loop, Resolver& resolver, ProbeTarget& target, const ProbeLimits& limits,
             Done done)
    : loop_(loop),
      resolver_(&resolver),
      target_(&target),
      tls_target_(target.tls),
      limits_(limits),
      done_(std::move(done)),
      timer_(loop, [this] { on_timeout(); }),
      attempt_timer_(loop, [this] { on_attempt_delay(); }) {}

Probe::~Probe() {
  cancel();
}

void Probe::rebind(Resolver& resolver, ProbeTarget& target, const ProbeLimits& limits, Done done) {
  release();
  resolver_ = &resolver;
  target_ = &target;
  tls_target_ = target.tls;
  limits_ = limits;
  done_ = std::move(done);
}

void Probe::release() {
  clear_round();
  sample_ = Sample{};
  tls_target_ = TlsTarget{};  // rebind sets it: a spare keeps no TLS configuration alive
}

void Probe::clear_round() {
  if (running()) cancel();
  conn_.reset();
  stream_ = nullptr;
  channel_.reset();
  tls_ = nullptr;
  parser_.reset();
  parse_state_ = ResponseParser::State::incomplete;
  addrs_.clear();
  phase_ = Phase::idle;
}

void Probe::start() {
  clear_round();  // what the last round left, when the probe is used again
  t_start_ = mono_ns();
  idle_at_start_ = uv_metrics_idle_time(loop_.get());
  own_work_ns_ = 0;
  k_ = KernelTimes{};
  t_tcp_ = t_ready_ = t_first_ = 0;
  sample_ = Sample{};
  sample_.kernel_timing = limits_.kernel_timing;
  sample_.start_unix_ns = wall_unix_ns();
  sample_.url = target_->display_url;
  sample_.peer = target_->identity;
  phase_ = Phase::dns;

  const std::string& host =
      target_->address_override.empty() ? target_->url.host : target_->address_override;
  if (auto local = resolve_locally(host, target_->url.port)) {
    // An IP literal takes no time to resolve: DNS is exactly 0, as in the original.
    // on_resolved arms the timer (the connect's limit within the probe's).
    uint64_t now = is_ip_literal(host) ? t_start_ : mono_ns();
    on_resolved(FailureReason::none, std::move(*local), now);
    return;
  }
  arm_timer(t_start_, limits_.timeout_ms);
  resolver_->resolve(host, target_->url.port, ticket_,
                     [this](FailureReason reason, Addresses addrs, uint64_t now) {
                       on_resolved(reason, std::move(addrs), now);
                     });
}

void Probe::on_resolved(FailureReason reason, Addresses addrs, uint64_t now) {
  if (reason != FailureReason::none) {
    finish(reason, now);
    return;
  }
  t_dns_ = now;
  addrs_ = std::move(addrs);
  next_addr_ = 0;
  phase_ = Phase::connect;
  // connect_timeout bounds the whole phase, every address together, as Go's dialer does.
  arm_timer(now, limits_.connect_timeout_ms);
  start_attempts(now);
}

// Starts a connect to the next address: at once when the last one failed, or when
// the last one has not answered within kAttemptDelayMs (RFC 8305, section 5). Those
// still in flight go on; the first to complete wins. An address that fails at once
// (no IPv6 route, say) hands over to the next without waiting.
void Probe::start_attempts(uint64_t now) {
  attempt_timer_.stop();
  while (next_addr_ < addrs_.size()) {
    auto attempt = std::make_unique<Attempt>(loop_, *this, addrs_[next_addr_++]);
    int rc = attempt->stream.connect(reinterpret_cast<const sockaddr*>(&attempt->address));
    if (rc != 0) {
      connect_failure_ = connect_reason(rc);
      continue;
    }
    if (next_addr_ > 1) k_.single_attempt = false;
    attempts_.push_back(std::move(attempt));
    if (next_addr_ < addrs_.size()) attempt_timer_.start(kAttemptDelayMs);
    return;
  }
  if (attempts_.empty()) finish(connect_failure_, now);
}

void Probe::on_attempt_delay() {
  if (phase_ == Phase::connect) start_attempts(mono_ns());
}

// May destroy `attempt` (this is its own callback: TimedStream touches nothing after it).
void Probe::on_connect(Attempt& attempt, int status, const TimedStream::Connected& c) noexcept {
  if (phase_ != Phase::connect) return;
  OwnWork own(own_work_ns_, c.now);
  uint64_t now = c.now;
  auto it = std::find_if(attempts_.begin(), attempts_.end(),
                         [&](const auto& a) { return a.get() == &attempt; });
  if (it == attempts_.end()) return;
  std::unique_ptr<Attempt> done = std::move(*it);
  attempts_.erase(it);
  if (status != 0 && status != UV_ECONNRESET) {
    connect_failure_ = connect_reason(status);
    start_attempts(now);  // done is destroyed on return
    return;
  }
  // The first to complete wins; the others are dropped before they can answer. TCP
  // stays the original's "connect done - DNS done": it includes the wait on addresses
  // that did not answer, which is what a client of this name lives through.
  drop_attempts();
  conn_ = std::move(done);
  stream_ = &conn_->stream;
  sample_.remote_addr = format_addr(reinterpret_cast<const sockaddr*>(&conn_->address));
  if (status == UV_ECONNRESET) {
    // Accepted, then reset before we saw the connect complete: the server was reached.
    finish(FailureReason::reset, now);
    return;
  }
  t_tcp_ = now;
  k_.rtt = c.rtt_ns;
  k_.retransmitted = c.retransmitted;
  // The SYN/ACK came about one round trip after the connect began.
  if (c.rtt_ns && !c.retransmitted) note_lag(now, stream_->connect_started_ns() + c.rtt_ns);

  if (tls_target_.conf) {
    TlsPeerCheck check;
    // SNI and the verified name come from the URL, also when -I picks the address.
    (is_ip_literal(target_->url.host) ? check.ip_name : check.server_name) = target_->url.host;
    check.pin_sha256 = tls_target_.pin_sha256;
    check.verify = tls_target_.verify;
    check.resume = target_->session.get();
    auto tls = std::make_unique<TlsChannel>(tls_target_.conf, *this, std::move(check));
    tls_ = tls.get();
    channel_ = std::move(tls);
  } else {
    channel_ = std::make_unique<PlainChannel>(*this);
  }
  phase_ = Phase::handshake;
  // Plain http is ready at once, and on_ready arms the request's limit.
  if (tls_) arm_timer(now, limits_.tls_timeout_ms);
  if (channel_->start()) {
    on_ready(now);
  } else if (tls_ && !tls_->failure_text().empty()) {
    sample_.detail = tls_->failure_text();
    finish(FailureReason::tls_handshake, now);
  }
}

// The connection is ready for HTTP: TCP is up and the handshake, if any, is done.
void Probe::on_ready(uint64_t now) {
  t_ready_ = now;
  if (k_.round_open && k_.round_answered) close_round();
  k_.round_open = false;
  if (tls_) {
    sample_.user.tls = now - t_tcp_;
    sample_.tls_version = tls_->facts().version;
    sample_.tls_cipher = tls_->facts().cipher;
    sample_.cert_days_left = tls_->facts().cert_days_left;
    sample_.cert_not_after_unix = tls_->facts().cert_not_after_unix;
  }
  phase_ = Phase::request;
  arm_timer(now, limits_.timeout_ms);
  parser_.emplace(target_->keep_body_bytes);
  if (channel_->send(target_->request) != 0) finish(FailureReason::reset, now);
}

int Probe::send_raw(std::string_view bytes) {
  uint32_t id = 0;
  // Handshake rounds end at their answer's last segment; only the request's answer
  // needs its first segment's own arrival.
  int rc = stream_->write(bytes, &id, phase_ == Phase::request);
  if (rc != 0) return rc;
  if (phase_ == Phase::handshake) {
    // A flight after an answer ends the round that answer closed and begins the next.
    if (k_.round_open && k_.round_answered) close_round();
    if (!k_.round_open) {
      k_.round_open = true;
      k_.round_answered = false;
    }
    k_.round_write = id;  // the round's send is its flight's last write
  } else if (phase_ == Phase::request) {
    k_.request_write = id;
    k_.request_sent = true;
  }
  return 0;
}

// A handshake round trip ends: our flight's send to the last answer read before we
// went on. Our own work between rounds (the handshake's computation, the loop's other
// work) is in neither.
void Probe::close_round() {
  k_.round_open = false;
  uint64_t sent = stream_ ? stream_->sent_at(k_.round_write) : 0;
  if (!sent || !k_.round_arrived || k_.round_arrived < sent) {
    k_.tls_missing = true;
    return;
  }
  k_.tls += k_.round_arrived - sent;
}

void Probe::note_lag(uint64_t now, uint64_t event_ns) {
  if (event_ns && now > event_ns) k_.lag = std::max(k_.lag, now - event_ns);
}

void Probe::on_plain(const char* data, size_t len) {
  if (!parser_ || parse_state_ != ResponseParser::State::incomplete) return;
  if (!t_first_) t_first_ = read_now_;
  parse_state_ = parser_->feed(data, len);
}

void Probe::on_read(int status, const char* data, size_t len,
                    const TimedStream::Received& r) noexcept {
  if (phase_ != Phase::handshake && phase_ != Phase::request) return;
  OwnWork own(own_work_ns_, r.now);
  uint64_t now = r.now;
  read_now_ = now;
  bool ended = false;
  if (status == 0) {
    note_lag(now, r.arrived_ns);
    if (phase_ == Phase::handshake) {
      k_.round_arrived = r.arrived_ns;
      k_.round_answered = k_.round_open;
    } else if (k_.request_sent) {
      if (!k_.response_read) {
        k_.response_read = true;
        k_.first = r.first_arrived_ns;
        k_.coalesced = r.coalesced;
      }
      k_.last = r.arrived_ns;
    }
    Channel::Progress p = channel_->receive(data, len, *this);
    if (p.error != FailureReason::none) {
      if (tls_) sample_.detail = tls_->failure_text();
      finish(p.error, now);
      return;
    }
    if (p.became_ready) on_ready(now);
    ended = p.closed;
  } else if (status == UV_EOF) {
    ended = true;
  } else {
    finish(FailureReason::reset, now);
    return;
  }
  if (phase_ == Phase::done) return;
  if (ended) {
    if (phase_ == Phase::handshake) {
      sample_.detail = "the server closed the connection during the handshake";
      finish(FailureReason::tls_handshake, now);
      return;
    }
    if (parse_state_ == ResponseParser::State::incomplete) parse_state_ = parser_->finish();
    if (parse_state_ == ResponseParser::State::error) {
      finish(FailureReason::closed_early, now);
      return;
    }
  }
  if (parse_state_ == ResponseParser::State::error) {
    finish(FailureReason::http_parse, now);
  } else if (parse_state_ == ResponseParser::State::complete) {
    finish(parser_->status() > 304 ? FailureReason::http_status : FailureReason::none, now);
  }
}

void Probe::on_timeout() {
  uint64_t now = mono_ns();
  switch (phase_) {
    case Phase::dns:
      finish(FailureReason::dns_timeout, now);
      break;
    case Phase::connect:
      finish(FailureReason::connect_timeout, now);
      break;
    case Phase::handshake:
      finish(FailureReason::tls_timeout, now);
      break;
    case Phase::request:
      finish(FailureReason::read_timeout, now);
      break;
    default:
      break;
  }
}

// The timer fires at the phase's own limit or at the probe's deadline, whichever is first.
void Probe::arm_timer(uint64_t now, uint64_t phase_limit_ms) {
  uint64_t deadline = t_start_ + limits_.timeout_ms * 1000000;
  uint64_t left_ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
  timer_.start(std::min(left_ms, phase_limit_ms));
}

void Probe::finish(FailureReason reason, uint64_t now) {
  Phase reached = phase_;
  phase_ = Phase::done;
  ticket_.cancel();
  timer_.stop();
  drop_attempts();

  // Phases that ended are timed; the phase that failed shows the time spent in it;
  // phases never reached stay 0, and so does Total unless the response ended.
  bool completed = reason == FailureReason::none || reason == FailureReason::http_status;
  Timings& t = sample_.user;
  if (reached == Phase::dns) {
    t.dns = now - t_start_;
  } else {
    t.dns = t_dns_ - t_start_;
    t.tcp = (t_tcp_ ? t_tcp_ : now) - t_dns_;
    if (reached == Phase::handshake) t.tls = now - t_tcp_;
    if (reached == Phase::request) {
      t.first = (t_first_ ? t_first_ : now) - t_ready_;
      if (t_first_) t.lastb = now - t_first_;
    }
    if (completed) t.total = now - t_dns_;
  }
  time_by_kernel(completed);  // before the stream closes: it may still hold stamps
  judge_quality(now);
  sample_.t = sample_.user;
  if (sample_.kernel_timing) {
    for (const KernelTimedPhase& p : kKernelTimedPhases)
      if (sample_.kernel_phases & p.bit) sample_.t.*p.value = sample_.kernel.*p.value;
  }
  // A probe that gives up resets; one that completed closes politely.
  if (stream_) stream_->close_stream(!completed);

  sample_.reason = reason;
  if (parser_ && parser_->status() && completed) {
    sample_.http_code = parser_->status();
    sample_.size = parser_->body_bytes();
    sample_.peer_hold_ns = parser_->server_hold_ns();
  } else {
    sample_.http_code = 502;  // the original's code for any transport failure
  }
  sample_.location = "unknown";
  if (sample_.http_code == 200 && is_pingmesh_path(target_->url.path)) {
    auto loc = extract_location(parser_->body_start(), target_->url.path.ends_with("/v1/peers"));
    if (!loc.empty()) sample_.location = std::move(loc);
  }
  if (done_) done_(sample_);
}

// The phases from the kernel's stamps, where it gave them: TCP is the SYN's round trip,
// TLS the handshake's round trips, First from the request's send to the response's first
// arrival, LastB from there to the last arrival, Total their sum. None of them holds the
// loop's own work, so other probes, clients' handshakes or output cannot inflate them.
void Probe::time_by_kernel(bool completed) {
  Timings& k = sample_.kernel;
  uint8_t& phases = sample_.kernel_phases;
  SampleQuality& q = sample_.quality;
  if (t_tcp_) {
    q.retransmitted = k_.retransmitted;
    if (k_.rtt && !k_.retransmitted) {
      // When earlier addresses did not answer, the wait on them comes first, as a
      // client of this name lives through it (the loop's clock: our own timer's).
      uint64_t waited = k_.single_attempt ? 0 : stream_->connect_started_ns() - t_dns_;
      k.tcp = waited + k_.rtt;
      phases |= kKernelTcp;
    } else if (!k_.rtt) {
      ++q.missing_stamps;
    }
  }
  if (tls_ && t_ready_) {
    if (!k_.tls_missing && k_.tls) {
      k.tls = k_.tls;
      phases |= kKernelTls;
    } else {
      ++q.missing_stamps;
    }
  }
  if (!completed) return;
  uint64_t sent = k_.request_sent && stream_ ? stream_->sent_at(k_.request_write) : 0;
  if (sent && k_.first >= sent) {
    k.first = k_.first - sent;
    phases |= kKernelFirst;
    q.coalesced = k_.coalesced;
    if (k_.last >= k_.first) {
      k.lastb = k_.last - k_.first;
      phases |= kKernelLastb;
    } else {
      ++q.missing_stamps;
    }
  } else {
    ++q.missing_stamps;
  }
  uint8_t parts = kKernelTcp | kKernelFirst | kKernelLastb | (tls_ ? kKernelTls : 0);
  if ((phases & parts) == parts) {
    k.total = k.tcp + k.tls + k.first + k.lastb;
    phases |= kKernelTotal;
  }
}

// Whether the loop's clock can be trusted for this sample: how late the loop ran, what
// else it did meanwhile, and how far its times are from the kernel's.
void Probe::judge_quality(uint64_t now) {
  SampleQuality& q = sample_.quality;
  q.loop_lag_ns = k_.lag;
  uint64_t idle = uv_metrics_idle_time(loop_.get()) - idle_at_start_;
  uint64_t busy = now - t_start_ > idle ? now - t_start_ - idle : 0;
  q.other_work_ns = busy > own_work_ns_ ? busy - own_work_ns_ : 0;
  const Timings& u = sample_.user;
  const Timings& k = sample_.kernel;
  auto beyond_margin = [&](KernelPhase p, uint64_t Timings::*phase) {
    return (sample_.kernel_phases & p) && u.*phase > k.*phase + limits_.disturbed_margin_ns;
  };
  // TCP's loop time holds the wait on other addresses: comparable only for one connect.
  q.disturbed = (k_.single_attempt && beyond_margin(kKernelTcp, &Timings::tcp)) ||
                beyond_margin(kKernelFirst, &Timings::first) ||
                q.other_work_ns > limits_.disturbed_work_ns;
}

std::string_view Probe::body() const {
  return parser_ ? std::string_view(parser_->body_start()) : std::string_view();
}

void Probe::cancel() {
  if (!running()) return;
  phase_ = Phase::done;
  ticket_.cancel();
  timer_.stop();
  drop_attempts();
  if (stream_) stream_->close_stream(true);
}

void Probe::drop_attempts() {
  attempt_timer_.stop();
  for (auto& a : attempts_) a->stream.close_stream(true);
  attempts_.clear();
}

}  // namespace pingmesh
