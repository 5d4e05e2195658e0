#!/usr/bin/python3
"""The prober's CPU next to its floor, bench/raw_prober.c (minimal raw epoll, the same
probes), in one run. Both probe against one pingmesh responder on 127.0.0.1, pinned to
CPU 1, with the probers on CPU 0:
1. 100 peers (100 URLs of the responder) at 1 Hz, pingmesh (-q) and raw_prober at the
   same time: the CPU each used over the same window (utime+stime from /proc/PID/stat,
   and the scheduler's ns from /proc/PID/schedstat), start-up excluded. Budget 1.1x.
2. One URL back to back (each run to an address of its own, 127.0.0.10 on): bench/http_probe_rate (pingmesh's Probe) and raw_prober -b, in
   alternating rounds: probes per second of wall time and per CPU second. Budget 0.7x.
With --before DIR (a build directory of other code, built with raw_prober and
http_probe_rate), its pingmesh runs beside them in part 1 and its http_probe_rate takes
turns in part 2: the ratios of before and after come from the same run. raw_prober runs
twice in part 1: as the floor (what a prober that takes no kernel stamps does) and with
-t, doing the kernel timing work pingmesh does (SO_TIMESTAMPING, the send stamp from the
error queue, a one-byte peek for the first segment's stamp, TCP_INFO after the read).
    bench/probe_cpu.py [--before DIR] [window_seconds] [rounds] [round_seconds]
                                                             (defaults 60, 4, 3)"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ARGS = sys.argv[1:]
BEFORE = None
if ARGS[:1] == ["--before"]:
    BEFORE = os.path.abspath(ARGS[1])
    ARGS = ARGS[2:]
WINDOW = float(ARGS[0]) if len(ARGS) > 0 else 60
ROUNDS = int(ARGS[1]) if len(ARGS) > 1 else 4
ROUND_SECONDS = float(ARGS[2]) if len(ARGS) > 2 else 3
WARMUP = 4  # the first probes start 1-2 s in; both are at their steady rate after this
PEERS = 100
DIR = os.environ.get("BENCH_BUILD", "build-bench-dynamic")
BIN = f"{DIR}/pingmesh"
HZ = os.sysconf("SC_CLK_TCK")
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("PINGMESH_")},
       "PINGMESH_CONFIG": ""}


def build():
    if not os.path.exists(f"{DIR}/build.ninja"):
        subprocess.run(["meson", "setup", DIR, "--buildtype=release", "-Dtests=false"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", DIR], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "compile", "-C", DIR, "raw_prober", "http_probe_rate"],
                   check=True, stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu(pid):
    """(utime+stime seconds, scheduler seconds), every thread of pid."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            ns += int(f.read().split()[0])
    return ticks / HZ, ns / 1e9


def wait_listening(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"no responder on port {port}")


def run_timed(cmd):
    """Runs cmd to its end; its stdout and its CPU seconds (rusage, user + system)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=ENV)
    out = p.stdout.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {out}")
    return out, ru.ru_utime + ru.ru_stime


def field(line, name):
    return float(re.search(rf"\b{name} ([0-9.]+)", line).group(1))


def at_1hz(port):
    urls = [f"http://127.0.0.1:{port}/v1/ping?peer={i}" for i in range(PEERS)]
    raw = f"{DIR}/bench/raw_prober"
    seconds = str(WARMUP + WINDOW + 3)
    probers = [("pingmesh -q -d 1", [BIN, "-q", "-d", "1", *urls])]
    if BEFORE:
        probers.append(("before: pingmesh -q -d 1", [f"{BEFORE}/pingmesh", "-q", "-d", "1", *urls]))
    probers += [("raw_prober", [raw, "-s", seconds, *urls]),
                ("raw_prober -t (kernel stamps)", [raw, "-t", "-s", seconds, *urls])]
    procs = [subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=ENV) for _, cmd in probers]
    try:
        time.sleep(WARMUP)
        c0 = [cpu(p.pid) for p in procs]
        t0 = time.monotonic()
        time.sleep(WINDOW)
        c1 = [cpu(p.pid) for p in procs]
        t1 = time.monotonic()
    finally:
        for (name, _), p in zip(probers, procs):
            if name.startswith(("pingmesh", "before")):
                p.send_signal(signal.SIGINT)
    outs = [p.communicate(timeout=30)[0].decode() for p in procs]
    span = t1 - t0
    rows = []
    for (name, _), a, b, out in zip(probers, c0, c1, outs):
        if name.startswith(("pingmesh", "before")):
            probes = sum(int(n) for n in re.findall(r"Recorded (\d+) samples", out))
        else:
            probes = int(field(out, "probes"))
        rows.append((name, (b[0] - a[0]) / span * 100, (b[1] - a[1]) / span * 100, probes, out))
    print(f"1. {PEERS} peers at 1 Hz, all at once, window {span:.1f} s after {WARMUP} s")
    print()
    print("| prober | CPU % of a core (utime+stime) | CPU % (schedstat) | CPU us per probe "
          "(schedstat) | probes, whole run |")
    print("|---|---|---|---|---|")
    for name, stat, sched, probes, _ in rows:
        print(f"| {name} | {stat:.3f} | {sched:.3f} | {sched / 100 / PEERS * 1e6:.1f} | {probes} |")
    for name, _, _, _, out in rows:
        if name.startswith("raw"):
            print(f"{name}: failures {int(field(out, 'failed'))}; p50 TCP / First / Total "
                  f"{field(out, 'tcp'):.0f} / {field(out, 'first'):.0f} / "
                  f"{field(out, 'total'):.0f} us")
    floor = {r[0]: r for r in rows}
    for name, stat, sched, _, _ in rows:
        if name.startswith("raw"):
            continue
        for ref in ("raw_prober", "raw_prober -t (kernel stamps)"):
            r = floor[ref]
            stat_ratio = stat / r[1] if r[1] else float("inf")
            sched_ratio = sched / r[2] if r[2] else float("inf")
            verdict = "met" if sched_ratio <= 1.1 else "MISSED"
            print(f"ratio {name} / {ref}: {stat_ratio:.2f} (utime+stime), {sched_ratio:.2f} "
                  f"(schedstat); budget <= 1.1: {verdict}")


def round_address(k):
    """A destination of its own for each back-to-back run: thousands of connections a
    second to one address and port reuse the client ports within the 60 s the server's
    TIME-WAIT keeps them, and a SYN meeting an old TIME-WAIT stalls for a second."""
    return f"127.0.0.{10 + k}"


def back_to_back(port):
    def cmd(name, k):
        url = f"http://{round_address(k)}:{port}/v1/ping"
        if name.startswith("pingmesh"):
            return ["taskset", "-c", "0", f"{DIR}/bench/http_probe_rate", url, str(ROUND_SECONDS)]
        if name.startswith("before"):
            return ["taskset", "-c", "0", f"{BEFORE}/bench/http_probe_rate", url,
                    str(ROUND_SECONDS)]
        return ["taskset", "-c", "0", f"{DIR}/bench/raw_prober", "-b", "-s", str(ROUND_SECONDS),
                url]
    names = ["pingmesh Probe (http_probe_rate)", "raw_prober -b"]
    if BEFORE:
        names.insert(1, "before: Probe (http_probe_rate)")
    totals = {k: [0, 0.0, 0.0, []] for k in names}  # probes, seconds, cpu, per-round rates
    k = 0
    for r in range(ROUNDS):
        for name in (names if r % 2 == 0 else names[::-1]):
            out, cpu_s = run_timed(cmd(name, k))
            k += 1
            t = totals[name]
            t[0] += int(field(out, "probes"))
            t[1] += field(out, "seconds")
            t[2] += cpu_s
            t[3].append(field(out, "rate"))
            time.sleep(0.5)
    print()
    print(f"2. one URL back to back, {ROUNDS} alternating rounds of {ROUND_SECONDS:g} s, "
          "prober on CPU 0, responder on CPU 1")
    print()
    print("| prober | probes/s (wall) | rounds | CPU % of a core | probes per CPU second |")
    print("|---|---|---|---|---|")
    figures = {}
    for name, (probes, secs, cpu_s, rates) in totals.items():
        figures[name] = (probes / secs, probes / cpu_s if cpu_s else 0)
        print(f"| {name} | {probes / secs:.0f} | {' '.join(f'{x:.0f}' for x in rates)} | "
              f"{cpu_s / secs * 100:.0f} | {figures[name][1]:.0f} |")
    def verdict(x):
        return "met" if x >= 0.7 else "MISSED"
    for name in names[:-1]:
        wall = figures[name][0] / figures[names[-1]][0]
        per_cpu = figures[name][1] / figures[names[-1]][1]
        print(f"ratio {name} / raw_prober -b: {wall:.2f} (wall), {per_cpu:.2f} (per CPU "
              f"second); budget >= 0.7: {verdict(wall)} (wall), {verdict(per_cpu)} (per CPU "
              "second)")


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    build()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "responder.ini")
        with open(ini, "w") as f:
            listen = ", ".join(["127.0.0.1"] + [round_address(k) for k in range(3 * ROUNDS)])
            f.write(f"[node]\nport = {port}\nlisten = {listen}\nlocation = Lab\n"
                    "probe_self = no\n")
        responder = subprocess.Popen(["taskset", "-c", "1", BIN, "-q", "-C", ini],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=ENV)
        try:
            wait_listening(port)
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            at_1hz(port)
            back_to_back(port)
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            responder.send_signal(signal.SIGTERM)
            responder.wait(timeout=30)


if __name__ == "__main__":
    main()
