"""Accuracy, proven: the daemon's reported phases against peers whose timing is known.

- tests/tools/delay_server: its first byte comes exactly D ms after the request arrived,
  and it says its hold in Server-Timing. First must read D, and First minus that hold the
  network's time.
- tests/tools/tun_delay: a wire of 20 ms each way between two namespaces made here. TCP
  must read 40 ms.
- The same probes while busy loops run (one per CPU, two here), and while clients make
  TLS handshakes with the probing daemon's own responder at full speed: the kernel-timed
  phases must not move, and the samples whose user-space clock was pushed must be flagged
  disturbed.

The delay server and the wire run with SCHED_FIFO (they stand in for other machines: the
load on this machine must starve the daemon under test, not them); the daemon and the
load share the CPU at the default priority. Only loopback and namespaces made here.
The tools' own tests check them with independent clients (curl, stamped_client.py)."""
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading

import pytest

import netns
from conftest import BIN, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_TESTS = os.path.join(os.path.dirname(os.path.abspath(BIN)), "tests")
DELAY_SERVER = os.environ.get("PINGMESH_DELAY_SERVER", os.path.join(BUILD_TESTS, "delay_server"))
TUN_DELAY = os.environ.get("PINGMESH_TUN_DELAY", os.path.join(BUILD_TESTS, "tun_delay"))
ROOT = os.geteuid() == 0
FIFO = ["-f", "50"] if ROOT else []
PHASES = ("tcp", "first")
# Given to the loaded daemons as --disturbed-margin and --disturbed-work (their defaults):
# a sample is disturbed when user-space tcp or first exceeds the kernel's by more than the
# margin, or the loop did more than the bound of other work while it was in flight.
MARGIN_MS, WORK_BOUND_MS = 1.0, 5.0
ROUNDING_MS = 0.0015  # json has 3 decimals
# How late the delay server may wake after its sleep: a quiet VM's idle vCPU can take
# 0.1-0.2 ms to run its thread again (its hold says how late it was).
LATE_WAKEUP_MS = 0.5


class DelayServer:
    """tests/tools/delay_server, its holds collected as (path, hold_ms, arrival)."""

    def __init__(self, addr="127.0.0.1", delay_ms=0, ns=None, seconds=300):
        cmd = [DELAY_SERVER, "-a", addr, "-d", str(delay_ms), "-t", str(seconds), *FIFO]
        if ns:
            cmd = ["ip", "netns", "exec", ns, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("ready "), line + self.proc.stderr.read()
        self.port = int(line.split()[1])
        self.holds = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self):
        for line in self.proc.stdout:
            f = line.split()
            if f and f[0] == "hold":
                self.holds.append((f[7], float(f[1]), f[5]))

    def stop(self):
        """Its closing words: "served N dropped M"."""
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        self._pump.join(timeout=5)
        return err


@pytest.fixture
def delay_servers():
    started = []

    def start(**kw):
        s = DelayServer(**kw)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def median(xs):
    return statistics.median(xs)


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def samples_of(lines):
    out = [json.loads(l) for l in lines if l.startswith('{"type":"sample"')]
    return [s for s in out if s["ok"]]


def probe(daemons, urls, rounds, *extra, before_stop=lambda: None):
    """The ok samples of a daemon probing urls at -d 1 until each had `rounds`: then it
    ends by itself, or, answering probes too (-s), on SIGINT after before_stop(). (A
    SIGINT to one that is ending already could come after it let go of its handler.)"""
    d = daemons(["-d", "1", "-n", str(rounds), "-j", "--timeout", "5", *extra, *urls])
    answering = "-s" in extra

    def done():
        return d.proc.poll() is not None or (
            answering and len(samples_of(list(d.out))) >= rounds * len(urls))

    assert d.wait_for(done, timeout=rounds + 60), d.stderr()
    before_stop()
    if d.proc.poll() is None:
        d.signal(signal.SIGINT)
    assert d.finish() == 0, d.stderr()
    return samples_of(d.out)


def kernel_timed(samples):
    """Checks each sample reports tcp and first by the kernel, and returns them."""
    for s in samples:
        assert s["timing"] == "kernel", s
        for p in PHASES:
            assert s["clock"][p] == "kernel" and f"{p}_ms" in s["kernel"], s
            assert s[f"{p}_ms"] == s["kernel"][f"{p}_ms"], s
    return samples


# --- the tools, checked by independent clients -------------------------------------------

def stamped_probes(host, port, path, count, ns=None):
    cmd = [sys.executable, os.path.join(HERE, "stamped_client.py"), host, str(port), path,
           str(count)]
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]


# (D = 0 is "at once": a thread's start, slower under ASan, is not a delay to check.)
@pytest.mark.parametrize("delay_ms", [1, 10, 100])
def test_delay_server_holds_exactly_d(delay_servers, delay_ms):
    srv = delay_servers()
    probes = stamped_probes("127.0.0.1", srv.port, f"/delay/{delay_ms}?x=1", 15)
    # By the kernel's stamps, as the daemon will time it: its hold plus the loopback's
    # two crossings, well under 0.2 ms.
    first = median([p["kernel_first_ms"] for p in probes])
    assert all(p["hold_ms"] is not None for p in probes)
    said = sorted(p["hold_ms"] for p in probes)
    assert delay_ms <= first <= median(said) + 0.2, probes
    assert srv.stop().startswith("served 15 dropped 0")
    recorded = sorted(h for path, h, arrival in srv.holds)
    assert said == recorded
    assert all(path == f"/delay/{delay_ms}?x=1" and arrival == "kernel"
               for path, h, arrival in srv.holds)
    # D, late by no more than a wake-up.
    assert delay_ms <= median(said) <= delay_ms + LATE_WAKEUP_MS, said


def test_delay_server_connections_do_not_wait_for_each_other(delay_servers):
    srv = delay_servers(delay_ms=200)
    procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer}",
                               f"http://127.0.0.1:{srv.port}/?c={i}"], stdout=subprocess.PIPE,
                              text=True) for i in range(20)]
    firsts = [float(p.communicate(timeout=10)[0]) for p in procs]
    # Twenty at once, each 200 ms: one after another would take 4 s for the last.
    assert max(firsts) < 0.6, firsts
    assert min(firsts) >= 0.2, firsts
    assert len(srv.holds) == 20 and all(200 <= h < 201 for _, h, _ in srv.holds), srv.holds


@contextlib.contextmanager
def make_wire(*extra):
    """Namespaces "cl" and "sv" joined by tun_delay at 20 ms each way (198.18.1.1 in cl,
    198.18.1.2 in sv); yields (names, its process)."""
    with netns.namespaces("cl", "sv") as ns:
        proc = subprocess.Popen([TUN_DELAY, "-a", ns["cl"], "-b", ns["sv"], "-d", "20", "-t",
                                 "300", *FIFO, *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            for side, dev, me, other in (("cl", "tda", "198.18.1.1", "198.18.1.2"),
                                         ("sv", "tdb", "198.18.1.2", "198.18.1.1")):
                # IPv4 only: no IPv6 autoconfiguration packets beside the test's.
                subprocess.run(["ip", "netns", "exec", ns[side], "sysctl", "-qw",
                                f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=True)
                netns.ip("-n", ns[side], "addr", "add", me, "peer", other, "dev", dev)
                netns.ip("-n", ns[side], "link", "set", dev, "up")
            yield ns, proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def wire():
    with make_wire() as w:
        yield w


def stop_wire(proc):
    """tun_delay's counts: {"a>b": n, "b>a": n, "dropped": n, "errors": n}."""
    proc.terminate()
    f = proc.communicate(timeout=10)[1].split()
    return {"a>b": int(f[2]), "b>a": int(f[4]), "dropped": int(f[7]) + int(f[9]),
            "errors": int(f[11])}


def test_tun_delay_makes_a_40ms_round_trip(wire, delay_servers):
    ns, proc = wire
    srv = delay_servers(addr="198.18.1.2", ns=ns["sv"])
    probes = stamped_probes("198.18.1.2", srv.port, "/", 15, ns=ns["cl"])
    rtt = median([p["rtt_ms"] for p in probes])
    assert 40 <= rtt <= 41, probes
    assert all(p["retrans"] == 0 for p in probes)
    # D = 0: the first byte one round trip after the request.
    assert 40 <= median([p["kernel_first_ms"] for p in probes]) <= 41, probes
    connects = []
    for _ in range(10):
        # curl at SCHED_FIFO too: its user-space clock is not starved by this machine's load.
        out = subprocess.run(["ip", "netns", "exec", ns["cl"], "chrt", "-f", "40", "curl", "-s",
                              "-o", "/dev/null", "-w", "%{time_connect}",
                              f"http://198.18.1.2:{srv.port}/"],
                             capture_output=True, text=True, timeout=10)
        connects.append(float(out.stdout) * 1000)
    assert 40 <= median(connects) <= 41, connects
    counts = stop_wire(proc)
    assert counts["dropped"] == 0 and counts["errors"] == 0, counts
    assert counts["a>b"] >= 25 * 4 and counts["b>a"] >= 25 * 3, counts


def test_tun_delay_bounds_its_queue():
    """A burst over its queue (-q 8): the excess is dropped and counted, the rest arrive."""
    with make_wire("-q", "8") as (ns, proc):
        got = subprocess.Popen(["ip", "netns", "exec", ns["sv"], sys.executable, "-c",
                                "import socket\n"
                                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                "s.bind(('198.18.1.2', 9999)); s.settimeout(1); n = 0\n"
                                "print('ready', flush=True)\n"
                                "try:\n    while n < 100: s.recv(100); n += 1\n"
                                "except OSError: pass\nprint(n)"],
                               stdout=subprocess.PIPE, text=True)
        assert got.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", ns["cl"], sys.executable, "-c",
                        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                        "for i in range(40): s.sendto(b'x' * 64, ('198.18.1.2', 9999))"],
                       check=True, timeout=10)
        arrived = int(got.communicate(timeout=10)[0])
        counts = stop_wire(proc)
    assert 8 <= arrived < 40 and counts["a>b"] == arrived, (arrived, counts)
    assert counts["dropped"] == 40 - arrived, counts


# --- the daemon -------------------------------------------------------------------------

PEERS = 20  # -d is whole seconds: 20 peers at -d 1 give 20 samples a second


@pytest.mark.parametrize("addr,delay_ms", [("127.0.0.1", 1), ("127.0.0.1", 10),
                                            ("127.0.0.1", 100), ("::1", 10)])
def test_first_is_the_peers_delay(daemons, delay_servers, addr, delay_ms):
    srv = delay_servers(addr=addr)
    host = f"[{addr}]" if ":" in addr else addr
    urls = [f"http://{host}:{srv.port}/delay/{delay_ms}?peer={i}" for i in range(PEERS)]
    samples = kernel_timed(probe(daemons, urls, 2))
    assert len(samples) >= 2 * PEERS
    first = median([s["first_ms"] for s in samples])
    hold = median([s["peer_ms"] for s in samples])
    # D within 0.2 ms, beyond what the server itself says it was late by (its wake-up).
    assert delay_ms <= hold <= delay_ms + LATE_WAKEUP_MS, (hold, samples[:3])
    assert delay_ms <= first <= delay_ms + 0.2 + (hold - delay_ms), (first, hold, samples[:3])
    # The peer's time is its hold, as it said it (Server-Timing) and recorded it.
    recorded = {}
    for path, hold, _ in srv.holds:
        recorded.setdefault(path.split("?peer=")[1], []).append(hold)
    for s in samples:
        assert s["peer_ms"] in recorded[s["peer"].split("?peer=")[1]], s
        assert abs(s["network_first_ms"] - (s["first_ms"] - s["peer_ms"])) <= 2 * ROUNDING_MS
    # What is left of First is the network's: on loopback, the kernel's round trip.
    network = median([s["first_ms"] - s["peer_ms"] for s in samples])
    tcp = median([s["tcp_ms"] for s in samples])
    assert abs(network - tcp) <= 0.2, (network, tcp)


def test_timing_user_reports_the_loops_clock(daemons, delay_servers, tmp_path):
    """timing = user: the reported phases are the loop's own (the original's definitions),
    the kernel's still ride along."""
    srv = delay_servers()
    ini = tmp_path / "user.ini"
    ini.write_text("[node]\ntiming = user\n")
    urls = [f"http://127.0.0.1:{srv.port}/delay/1?peer={i}" for i in range(5)]
    samples = probe(daemons, urls, 1, "-C", str(ini))
    assert len(samples) == 5
    for s in samples:
        assert s["timing"] == "user" and set(s["clock"].values()) == {"user"}, s
        for p in ("tcp", "first", "total"):
            assert s[f"{p}_ms"] == s["user"][f"{p}_ms"], s
        assert {"tcp_ms", "first_ms"} <= set(s["kernel"]), s
        assert s["user"]["first_ms"] >= s["kernel"]["first_ms"], s


def test_tcp_through_a_20ms_wire(wire, delay_servers):
    ns, proc = wire
    srv = delay_servers(addr="198.18.1.2", ns=ns["sv"])
    urls = [f"http://198.18.1.2:{srv.port}/delay/0?peer={i}" for i in range(PEERS)]
    host = netns.Host(ns["cl"])
    try:
        d = host.daemon("-d", "1", "-n", "2", "-j", "--timeout", "5", *urls)
        out, err = d.communicate(timeout=60)
        assert d.returncode == 0, err
    finally:
        host.stop_all()
    samples = kernel_timed(samples_of(out.splitlines()))
    assert len(samples) >= 2 * PEERS, err
    tcp = [s["tcp_ms"] for s in samples]
    network = [s["network_first_ms"] for s in samples]
    print(f"wire: tcp p50 {median(tcp):.3f} max {max(tcp):.3f}, network first p50 "
          f"{median(network):.3f}, user tcp p50 {median(s['user']['tcp_ms'] for s in samples):.3f}")
    # Within 1 ms (the bound), and never under the wire's 40: nothing can answer
    # sooner than the wire lets it.
    assert 40 <= median(tcp) <= 41 and min(tcp) >= 40, tcp
    assert not any(s["quality"]["retransmitted"] for s in samples)
    assert 40 <= median(network) <= 41, network
    assert stop_wire(proc)["dropped"] == 0


# --- under load -------------------------------------------------------------------------

LOAD_PEERS, LOAD_ROUNDS, LOAD_DELAY_MS = 40, 6, 10
LOAD_SECONDS = LOAD_ROUNDS + 4  # the load outlasts the probes


def busy_loops(seconds):
    """Busy loops, bounded in time and in count: one per CPU (two on the 2-core machines
    this was written on), so that they take turns with the daemon on every core."""
    n = max(2, os.cpu_count() or 2)
    code = ("import time\nend = time.monotonic() + %f\n"
            "for i in range(10**11):\n"
            "    if i & 0xffff == 0 and time.monotonic() > end: break\n" % seconds)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def tls_flood(port, seconds):
    return [subprocess.Popen([sys.executable, os.path.join(HERE, "tls_handshakes.py"),
                              "--port", str(port), "--seconds", str(seconds),
                              "--threads", "4", "--addresses", "200"],
                             stdout=subprocess.PIPE, text=True)]


def loaded_run(daemons, certs, srv, load):
    """The daemon (with its own http and https responder) probing the delay server while
    `load` runs: (samples, what the load said)."""
    port, tls_port = free_port(), free_port()
    urls = [f"http://127.0.0.1:{srv.port}/delay/{LOAD_DELAY_MS}?peer={i}"
            for i in range(LOAD_PEERS)]
    loads = {"idle": lambda: [], "busy": lambda: busy_loops(LOAD_SECONDS),
             "tls": lambda: tls_flood(tls_port, LOAD_SECONDS)}[load]()
    said = []

    def end_load():  # with the probes, before the daemon stops answering
        for p in loads:
            if p.returncode is None:
                p.terminate()
                out = p.communicate(timeout=30)[0]
                said.append(json.loads(out) if out else p.returncode)

    try:
        samples = probe(daemons, urls, LOAD_ROUNDS, "--disturbed-margin", str(MARGIN_MS / 1e3),
                        "--disturbed-work", str(WORK_BOUND_MS / 1e3), "-s", str(port), "--tls-port",
                        str(tls_port), "--cert", str(certs / "server.pem"), "--key",
                        str(certs / "server.key"), before_stop=end_load)
    finally:
        end_load()
    return kernel_timed(samples), said


@pytest.fixture(scope="module")
def idle_figures():
    return {}


def on_time(s):
    """Whether the delay server answered within 0.5 ms of its D, by its own hold."""
    return s["peer_ms"] <= LOAD_DELAY_MS + 0.5


def figures(samples):
    f = {"network": (median([s["network_first_ms"] for s in samples]),
                     pct([s["network_first_ms"] for s in samples], 99))}
    for side in ("user", "kernel"):
        for p in PHASES:
            xs = [s[side][f"{p}_ms"] for s in samples]
            f[f"{side}_{p}"] = (median(xs), pct(xs, 99))
    return f


def check_disturbed_flags(samples):
    """Each sample is disturbed exactly when its user-space tcp or first exceeds the
    kernel's by more than the margin, or it overlapped more than the bound of other work.
    Returns how many exceeded the margin."""
    exceeded = 0
    for s in samples:
        excess = max(s["user"][f"{p}_ms"] - s["kernel"][f"{p}_ms"] for p in PHASES)
        work = s["quality"]["other_work_ms"]
        if excess > MARGIN_MS + ROUNDING_MS:
            exceeded += 1
        why = (f"user-kernel {excess:.3f} ms, other work {work:.3f} ms", s["quality"], s)
        if excess > MARGIN_MS + ROUNDING_MS or work > WORK_BOUND_MS + ROUNDING_MS:
            assert s["quality"]["disturbed"], why
        elif excess < MARGIN_MS - ROUNDING_MS and work < WORK_BOUND_MS - ROUNDING_MS:
            assert not s["quality"]["disturbed"], why
    return exceeded


@pytest.mark.skipif(not ROOT, reason="the delay server needs SCHED_FIFO (root) to stand "
                    "in for another machine while this one is loaded")
@pytest.mark.parametrize("load", ["idle", "busy", "tls"])
def test_kernel_timed_phases_hold_under_load(daemons, delay_servers, certs, idle_figures,
                                             load):
    srv = delay_servers()
    samples, said = loaded_run(daemons, certs, srv, load)
    assert len(samples) >= LOAD_PEERS * LOAD_ROUNDS
    f = figures(samples)
    exceeded = check_disturbed_flags(samples)
    disturbed = sum(s["quality"]["disturbed"] for s in samples)
    print(f"{load}: {len(samples)} samples, {exceeded} over the margin, {disturbed} "
          f"disturbed, {sum(not on_time(s) for s in samples)} with the peer late, load {said}; " +
          ", ".join(f"{k} p50 {a:.3f} p99 {b:.3f}" for k, (a, b) in f.items()))
    if load == "idle":
        idle_figures.update(f)
        return
    if not idle_figures:
        pytest.skip("needs the idle run first")
    for p in PHASES:
        idle_p50 = idle_figures[f"kernel_{p}"][0]
        p50, p99 = f[f"kernel_{p}"]
        # First holds the peer's own wake-up, which is slower on a quiet machine (its CPU
        # idles deeper): 10.14 ms idle against 10.03 loaded, seen in CI. Its p50 is judged
        # on First less the peer's hold, the network's part (below).
        if p != "first":
            assert abs(p50 - idle_p50) <= 0.1, (p, p50, idle_p50)
        if p == "first":
            # Even at SCHED_FIFO the delay server is now and then late on this loaded VM
            # (by up to 20 ms, its own hold says so): First is then late by as much, while
            # First less the hold stays the network's. The prober's own p99 is judged on
            # the samples whose peer was on time, and on First less the peer's hold.
            p99 = pct([s["first_ms"] for s in samples if on_time(s)], 99)
        assert p99 - idle_p50 <= 1.0, (p, p99, idle_p50)
    late = [s for s in samples if not on_time(s)]
    assert len(late) <= len(samples) // 20, [s["peer_ms"] for s in late]
    idle_network = idle_figures["network"][0]
    network_p50, network_p99 = f["network"]
    assert abs(network_p50 - idle_network) <= 0.1, (network_p50, idle_network)
    # Tighter than the 1 ms, as measured (p99 0.05-0.12 ms here under either load).
    assert network_p99 - idle_network <= 0.5, (network_p99, idle_network)
    if load == "tls":
        # Full speed: the responder, not the clients, sets the pace (20-70 a second here).
        assert said[0]["handshakes"] >= 5 * LOAD_SECONDS, said
        # The flood really pushed the loop's clock: otherwise this proves nothing.
        assert exceeded >= len(samples) // 10, (exceeded, f)
    else:
        assert exceeded >= 1, (exceeded, f)
