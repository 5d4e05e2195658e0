#!/usr/bin/python3
"""The daemon's phases by its own clock and by the kernel's, side by side, idle and
loaded: idle, two busy loops, and clients making full TLS handshakes with the daemon's
own https responder at full speed (tests/system/tls_handshakes.py, from 200 loopback
addresses). The daemon (also answering on http and https) probes PEERS URLs of
tests/tools/delay_server (D = 10 ms by default, SCHED_FIFO so that the load starves the
daemon, not this stand-in for another machine) at -d 1 for ROUNDS rounds per scenario.

    bench/accuracy_load.py [--rounds 10] [--peers 40] [--delay-ms 10] [--build build]
                           [--scenarios idle,busy,tls] [--server-normal]

Prints, per scenario and phase, p50/p90/p99 (ms) of user-space and kernel-timed values,
the delay server's own hold (the truth for First minus the network), the samples whose
user-space tcp or first exceeds the kernel's by more than 1 ms (the daemon's default
margin), and those flagged disturbed. Loopback only; every loop bounded in time."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = os.path.join(ROOT, "tests", "system")
MARGIN_MS = 1.0


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lines:
    """A process's stdout collected line by line."""

    def __init__(self, proc):
        self.proc, self.lines = proc, []
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line)


def delay_server(build, delay_ms, fifo):
    cmd = [os.path.join(build, "tests", "delay_server"), "-d", str(delay_ms), "-t", "900"]
    if fifo:
        cmd += ["-f", "50"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    return p, port, Lines(p)


def load(kind, tls_port, seconds):
    if kind == "busy":
        code = ("import time\nend = time.monotonic() + %f\nfor i in range(10**11):\n"
                "    if i & 0xffff == 0 and time.monotonic() > end: break\n" % seconds)
        # One per CPU, at least two: they take turns with the daemon on every core.
        n = max(2, os.cpu_count() or 2)
        return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    if kind == "tls":
        return [subprocess.Popen([sys.executable, os.path.join(SYSTEM, "tls_handshakes.py"),
                                  "--port", str(tls_port), "--seconds", str(seconds),
                                  "--threads", "4", "--addresses", "200"],
                                 stdout=subprocess.PIPE, text=True)]
    return []


def run(a, certs, kind, srv_port):
    port, tls_port = free_port(), free_port()
    urls = [f"http://127.0.0.1:{srv_port}/delay/{a.delay_ms}?peer={i}" for i in range(a.peers)]
    loads = load(kind, tls_port, a.rounds + 4)
    d = subprocess.Popen([os.path.join(a.build, "pingmesh"), "-d", "1", "-n", str(a.rounds),
                          "-j", "--timeout", "5", "-s", str(port), "--tls-port", str(tls_port),
                          "--cert", os.path.join(certs, "server.pem"), "--key",
                          os.path.join(certs, "server.key"), *urls],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env={**os.environ, "PINGMESH_CONFIG": ""})
    out = Lines(d)
    want = a.rounds * a.peers
    deadline = time.monotonic() + a.rounds + 60
    while time.monotonic() < deadline and d.poll() is None and \
            sum('"type":"sample"' in l for l in list(out.lines)) < want:
        time.sleep(0.1)
    said = []
    for p in loads:  # the load ends with the probes, before the daemon stops answering
        p.terminate()
        o = p.communicate(timeout=30)[0]
        said.append(json.loads(o) if o else None)
    d.send_signal(signal.SIGINT)
    d.wait(timeout=20)
    out.t.join(timeout=5)
    samples = [json.loads(l) for l in out.lines if l.startswith('{"type":"sample"')]
    return [s for s in samples if s["ok"]], said


def values(samples, side, phase):
    if side == "user":
        return [s["user"][f"{phase}_ms"] if "user" in s else s[f"{phase}_ms"] for s in samples]
    if samples and "kernel" not in samples[0]:  # before kernel timing: tcpi_rtt only
        return [s["kernel_rtt_ms"] for s in samples if phase == "tcp" and "kernel_rtt_ms" in s]
    return [s["kernel"][f"{phase}_ms"] for s in samples if f"{phase}_ms" in s["kernel"]]


def over_margin(s):
    if "kernel" not in s:
        return False
    return any(s["user"][f"{p}_ms"] - s["kernel"][f"{p}_ms"] > MARGIN_MS
               for p in ("tcp", "first") if f"{p}_ms" in s["kernel"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--peers", type=int, default=40)
    p.add_argument("--delay-ms", type=float, default=10)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--scenarios", default="idle,busy,tls")
    p.add_argument("--server-normal", action="store_true",
                   help="the delay server at the default priority (it then shares the load)")
    a = p.parse_args()
    certs = tempfile.mkdtemp(prefix="pm-accuracy-certs-")
    subprocess.run(["/bin/sh", os.path.join(ROOT, "tests", "certs", "make-certs.sh"), certs],
                   check=True, capture_output=True)
    fifo = os.geteuid() == 0 and not a.server_normal
    srv, srv_port, holds = delay_server(a.build, a.delay_ms, fifo)
    print(f"delay server D = {a.delay_ms} ms ({'SCHED_FIFO' if fifo else 'default priority'}), "
          f"{a.peers} peers at -d 1, {a.rounds} rounds; loadavg {open('/proc/loadavg').read().split()[0]} at start")
    print("ms, p50/p90/p99; truth: First = the server's hold + the loopback's crossings")
    print("| scenario | samples | tcp user | tcp kernel | first user | first kernel | "
          "server hold p50 | user-kernel > 1 ms | disturbed | loop lag p99 | other work p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    try:
        for kind in a.scenarios.split(","):
            before = len(holds.lines)
            samples, said = run(a, certs, kind, srv_port)
            hold = [float(l.split()[1]) for l in holds.lines[before:] if l.startswith("hold")]
            q = [s.get("quality", {}) for s in samples]
            lag = pct([x.get("loop_lag_ms", 0) for x in q], 99)
            work = pct([x.get("other_work_ms", 0) for x in q], 99)
            disturbed = sum(bool(x.get("disturbed")) for x in q)
            over = sum(over_margin(s) for s in samples)
            name = kind
            if kind == "tls" and said[0]:
                hs = said[0]["handshakes"]
                name += f" ({hs} handshakes, {hs / said[0]['seconds']:.0f}/s)"
            fmt = lambda xs: "/".join(f"{pct(xs, q):.3f}" for q in (50, 90, 99))
            cols = [fmt(values(samples, side, phase)) for phase in ("tcp", "first")
                    for side in ("user", "kernel")]
            print(f"| {name} | {len(samples)} | {' | '.join(cols)} | {pct(hold, 50):.3f} | "
                  f"{over} | {disturbed} | {lag:.3f} | {work:.3f} |", flush=True)
    finally:
        srv.terminate()
        srv.wait(timeout=10)
    print(f"loadavg {open('/proc/loadavg').read().split()[0]} at end")


if __name__ == "__main__":
    main()
