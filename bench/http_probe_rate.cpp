// HTTP probes per second on one core: pingmesh's Probe run back to back against one URL
// (each one starts in the callback of the last, with no timer between), for a number of
// seconds. Prints "probes N failed F seconds S rate R p50_us tcp T first F total T",
// the same line as raw_prober -b, which it is compared with.
//   http_probe_rate URL SECONDS
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dns/resolver.hpp"
#include "loop/clock.hpp"
#include "loop/timer.hpp"
#include "probe/probe.hpp"

using namespace pingmesh;

namespace {

uint64_t p50_us(std::vector<uint64_t>& v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2] / 1000;
}

// Two slots, used in turn: a probe is never destroyed inside its own callback. The new
// probe goes in the other slot, whose probe ended one round before.
struct BackToBack {
  BackToBack(Loop& l, Resolver& r, ProbeTarget& t) : loop(l), resolver(r), target(t) {}
  Loop& loop;
  Resolver& resolver;
  ProbeTarget& target;
  std::unique_ptr<Probe> slot[2];
  int next = 0;
  bool stopping = false;
  int ok = 0, failed = 0;
  std::vector<uint64_t> tcp, first, total;

  void start_one() {
    int i = next;
    next ^= 1;
    slot[i] = std::make_unique<Probe>(loop, resolver, target, ProbeLimits{},
                                      [this](const Sample& s) { on_done(s); });
    slot[i]->start();
  }
  void on_done(const Sample& s) {
    if (!s.ok()) {
      ++failed;  // one failure ends the run: a failed start may call back inside start()
      stopping = true;
      loop.stop();
      return;
    }
    ++ok;
    if (tcp.size() < (1u << 21)) {
      tcp.push_back(s.t.tcp);
      first.push_back(s.t.first);
      total.push_back(s.t.total);
    }
    if (!stopping) start_one();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s URL SECONDS\n", argv[0]);
    return 64;
  }
  std::string error;
  auto url = parse_url(argv[1], &error);
  if (!url) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 64;
  }
  Loop loop;
  uint64_t started = 0, ended = 0;
  int ok = 0, failed = 0;
  uint64_t tcp = 0, first = 0, total = 0;
  {
    Resolver resolver(loop, {});
    ProbeTarget target(*url, "");
    BackToBack run(loop, resolver, target);
    Timer stop(loop, [&] {
      run.stopping = true;
      loop.stop();
    });
    stop.start(uint64_t(std::atof(argv[2]) * 1000));
    started = mono_ns();
    run.start_one();
    loop.run();
    ended = mono_ns();
    for (auto& p : run.slot)
      if (p) p->cancel();
    ok = run.ok;
    failed = run.failed;
    tcp = p50_us(run.tcp);
    first = p50_us(run.first);
    total = p50_us(run.total);
  }
  double secs = double(ended - started) / 1e9;
  std::printf("probes %d failed %d seconds %.2f rate %.1f p50_us tcp %llu first %llu total %llu\n",
              ok, failed, secs, ok / secs, (unsigned long long)tcp, (unsigned long long)first,
              (unsigned long long)total);
  return failed == 0 ? 0 : 1;
}
