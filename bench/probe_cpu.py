#!/usr/bin/python3
"""The prober's CPU next to its floor, bench/raw_prober.c (minimal raw epoll, the same
probes), in one run. Both probe against one pingmesh responder on 127.0.0.1, pinned to
CPU 1, with the probers on CPU 0:
1. 100 peers (100 URLs of the responder) at 1 Hz, pingmesh (-q) and raw_prober at the
   same time: the CPU each used over the same window (utime+stime from /proc/PID/stat,
   and the scheduler's ns from /proc/PID/schedstat), start-up excluded. Budget 1.1x.
2. One URL back to back (each run to an address of its own, 127.0.0.10 on): bench/http_probe_rate (pingmesh's Probe) and raw_prober -b, in
   alternating rounds: probes per second of wall time and per CPU second. Budget 0.7x.
    bench/probe_cpu.py [window_seconds] [rounds] [round_seconds]   (defaults 60, 4, 3)"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

WINDOW = float(sys.argv[1]) if len(sys.argv) > 1 else 60
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
ROUND_SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 3
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
    ours = subprocess.Popen(["taskset", "-c", "0", BIN, "-q", "-d", "1", *urls],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    floor = subprocess.Popen(["taskset", "-c", "0", f"{DIR}/bench/raw_prober", "-s",
                              str(WARMUP + WINDOW + 3), *urls],
                             stdout=subprocess.PIPE, env=ENV)
    try:
        time.sleep(WARMUP)
        a0, b0 = cpu(ours.pid), cpu(floor.pid)
        t0 = time.monotonic()
        time.sleep(WINDOW)
        a1, b1 = cpu(ours.pid), cpu(floor.pid)
        t1 = time.monotonic()
    finally:
        ours.send_signal(signal.SIGINT)
    summary = ours.communicate(timeout=30)[0].decode()
    floor_out = floor.communicate(timeout=30)[0].decode()
    ours_probes = sum(int(n) for n in re.findall(r"Recorded (\d+) samples", summary))
    span = t1 - t0
    rows = []
    for name, c0, c1, probes in (("pingmesh -q -d 1", a0, a1, ours_probes),
                                 ("raw_prober", b0, b1, int(field(floor_out, "probes")))):
        stat = (c1[0] - c0[0]) / span * 100
        sched = (c1[1] - c0[1]) / span * 100
        rows.append((name, stat, sched, probes))
    print(f"1. {PEERS} peers at 1 Hz, both at once, window {span:.1f} s after {WARMUP} s")
    print()
    print("| prober | CPU % of a core (utime+stime) | CPU % (schedstat) | CPU us per probe "
          "(schedstat) | probes, whole run |")
    print("|---|---|---|---|---|")
    for name, stat, sched, probes in rows:
        print(f"| {name} | {stat:.3f} | {sched:.3f} | {sched / 100 / PEERS * 1e6:.1f} | {probes} |")
    print(f"raw_prober failures: {int(field(floor_out, 'failed'))}; "
          f"its p50 TCP / First / Total: {field(floor_out, 'tcp'):.0f} / "
          f"{field(floor_out, 'first'):.0f} / {field(floor_out, 'total'):.0f} us")
    stat_ratio = rows[0][1] / rows[1][1] if rows[1][1] else float("inf")
    sched_ratio = rows[0][2] / rows[1][2] if rows[1][2] else float("inf")
    verdict = "met" if stat_ratio <= 1.1 else "MISSED"
    print(f"ratio pingmesh / raw_prober: {stat_ratio:.2f} (utime+stime), {sched_ratio:.2f} "
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
        return ["taskset", "-c", "0", f"{DIR}/bench/raw_prober", "-b", "-s", str(ROUND_SECONDS),
                url]
    names = ["pingmesh Probe (http_probe_rate)", "raw_prober -b"]
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
    wall = figures[names[0]][0] / figures[names[1]][0]
    per_cpu = figures[names[0]][1] / figures[names[1]][1]
    def verdict(x):
        return "met" if x >= 0.7 else "MISSED"
    print(f"ratio pingmesh / raw_prober: {wall:.2f} (wall), {per_cpu:.2f} (per CPU second); "
          f"budget >= 0.7: {verdict(wall)} (wall), {verdict(per_cpu)} (per CPU second)")


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    build()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "responder.ini")
        with open(ini, "w") as f:
            listen = ", ".join(["127.0.0.1"] + [round_address(k) for k in range(2 * ROUNDS)])
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
