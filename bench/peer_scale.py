#!/usr/bin/python3
"""RSS per extra peer: one daemon probing N peers (default 1, 1,000 and 10,000; --big adds
100,000), every peer a URL of the daemon's own responder on its own 127.1.x.y (so no two
peers share a 4-tuple's port space), output off, at -d DELAY (default 60, one probe a
minute each). Once every peer has probed (DELAY + 10 s after start) it reads VmHWM, RSS,
PSS and private memory (/proc/PID/status, smaps_rollup), then the CPU over a window, and
prints (RSS(N) - RSS(1)) / (N - 1) beside the 1 KB budget.
    bench/peer_scale.py [--big] [--delay S] [--window S] [--counts 1,1000,10000] [--before BIN]
One process (prober and responder), so its PSS is its own when no other pingmesh runs."""
import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("PINGMESH_BIN", "build-rel/pingmesh")
BUDGET_KB = 1.0
LINES_PER_FILE = 20000  # a [peers] file holds at most 1 MiB


def free_port():
    # Below the kernel's ephemeral range: there a probe's own outgoing connection could
    # take the port before the daemon binds it.
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for port in random.sample(range(10000, low), 200):  # bounded: 200 tries
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    sys.exit("no free port below the ephemeral range")


def peer_url(i, port):
    # 127.1.0.1 .. 127.1.255.250, then 127.2...: 64,000 addresses a second octet.
    a, b = divmod(i, 64000)
    c, d = divmod(b, 250)
    return f"http://127.{1 + a}.{c}.{d + 1}:{port}/v1/ping"


def figures(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[k] = int(v.split()[0])
    out["Private"] = out.pop("Private_Clean") + out.pop("Private_Dirty")
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def run(binary, n, args, tmp):
    port = free_port()
    files = []
    for k in range(0, n, LINES_PER_FILE):
        path = os.path.join(tmp, f"peers-{n}-{k}.txt")
        with open(path, "w") as f:
            for i in range(k, min(n, k + LINES_PER_FILE)):
                f.write(peer_url(i, port) + "\n")
        files.append(path)
    ini = os.path.join(tmp, f"n{n}.ini")
    with open(ini, "w") as f:
        f.write(f"[node]\nport = {port}\nlisten = 0.0.0.0\nlocation = bench\nprobe_self = no\n"
                f"delay = {args.delay}\noutput = none\nverbosity = 1\n"
                f"[mesh]\nmax_peers = {max(n, 10000)}\n[peers]\n")
        for p in files:
            f.write(f"file = {p}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
    env["PINGMESH_CONFIG"] = ""
    err = open(os.path.join(tmp, f"n{n}.stderr"), "w+")
    proc = subprocess.Popen([binary, "-C", ini], env=env, stdout=subprocess.DEVNULL, stderr=err)
    mem = {}
    try:
        settle = args.delay + 10  # 1 s, then the peers spread over one delay
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:  # bounded: settle seconds
            if proc.poll() is not None:
                err.seek(0)
                sys.exit(f"daemon with {n} peers exited {proc.returncode}: {err.read()[-2000:]}")
            time.sleep(1)
        mem.update(figures(proc.pid))
        t0, c0 = time.monotonic(), cpu_ticks(proc.pid)
        time.sleep(args.window)
        t1, c1 = time.monotonic(), cpu_ticks(proc.pid)
        mem["cpu"] = 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
        after = figures(proc.pid)
        mem["Rss_end"] = after["Rss"]
        if proc.poll() is not None:
            sys.exit(f"daemon with {n} peers exited during the window")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err.seek(0)
        lines = err.read().splitlines()
        failures = [l for l in lines if "failure" in l]  # logged at most once a minute a peer
        mem["failures"] = len(failures)
        if failures:
            print(f"  ({n} peers: {len(failures)} failure lines, first: {failures[0][:150]})")
        err.close()
    return mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1,1000,10000")
    ap.add_argument("--big", action="store_true", help="also 100,000 peers")
    ap.add_argument("--delay", type=int, default=60)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--before", help="another build (the code before a change), measured "
                    "the same way in the same run, each count right after this one's")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if args.big:
        counts.append(100000)
    if counts[0] != 1:
        counts.insert(0, 1)
    others = subprocess.run(["pgrep", "-a", "pingmesh"], capture_output=True, text=True).stdout
    if others.strip():
        print("note: other pingmesh processes run (PSS is shared with them):\n" + others.strip())
    print(f"-d {args.delay}, settle {args.delay + 10} s, CPU over {args.window:.0f} s, "
          f"load average {os.getloadavg()[0]:.2f}")
    tmp = tempfile.mkdtemp(prefix="pingmesh-peers-")
    binaries = [BIN] + ([args.before] if args.before else [])
    results = {b: {} for b in binaries}
    for n in counts:
        for b in binaries:
            results[b][n] = run(b, n, args, tmp)
    for b in binaries:
        base = results[b][1]
        print(f"\n{b}:")
        print(f"{'peers':>7} {'VmHWM KB':>9} {'RSS KB':>8} {'PSS KB':>8} {'private KB':>10} "
              f"{'RSS end':>8} {'CPU %':>6} {'KB/extra peer (RSS)':>20} {'(PSS)':>6} budget")
        for n, m in results[b].items():
            per = per_pss = ""
            if n > 1:
                per = f"{(m['Rss'] - base['Rss']) / (n - 1):.2f}"
                per_pss = f"{(m['Pss'] - base['Pss']) / (n - 1):.2f}"
            budget = f"<= {BUDGET_KB:.0f} KB" if n > 1 else ""
            print(f"{n:>7} {m['VmHWM']:>9} {m['Rss']:>8} {m['Pss']:>8} {m['Private']:>10} "
                  f"{m['Rss_end']:>8} {m['cpu']:>6.2f} {per:>20} {per_pss:>6} {budget}")
    if args.before:
        print()
        for n in counts[1:]:
            ours, theirs = results[BIN][n], results[args.before][n]
            grow = lambda r: (r[n]["Rss"] - r[1]["Rss"]) / (n - 1)  # noqa: E731
            print(f"{n:>7} peers: RSS per extra peer {grow(results[BIN]):.2f} KB vs "
                  f"{grow(results[args.before]):.2f} KB before "
                  f"({grow(results[BIN]) / grow(results[args.before]):.2f}x); "
                  f"CPU {ours['cpu']:.2f}% vs {theirs['cpu']:.2f}%")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
