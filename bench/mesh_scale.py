#!/usr/bin/python3
"""A mesh on one machine: N daemons (default 50), each on its own 127.0.0.x, found through
DNS discovery from a DNS server this script runs on loopback, probing at delay 10.
Prints how long until every node had found all the others, whether each node's /metrics
carries N-1 peers, and the total RSS, PSS and CPU of the N daemons over a window.
    bench/mesh_scale.py [nodes] [seconds]      (from the repository root, as root or not)"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system"))
from dns_zone import DnsServer, Zone  # noqa: E402

BIN = os.environ.get("PINGMESH_BIN", "build/pingmesh")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
WINDOW = float(sys.argv[2]) if len(sys.argv) > 2 else 60
ADDRS = [f"127.0.1.{i + 1}" for i in range(N)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def dns_members(addr, port):
    try:
        peers = json.loads(get(f"http://{addr}:{port}/v1/peers"))["Peers"]
    except (OSError, ValueError):
        return 0
    return sum(1 for p in peers if p["Origin"] == "dns")


def proc_figures(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return ticks, rss, pss


def main():
    zone = Zone()
    zone.set("mesh.bench", "A", ADDRS, ttl=5)
    dns = DnsServer(zone)
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pingmesh-mesh-")
    procs = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
    env["PINGMESH_CONFIG"] = ""
    start = time.monotonic()
    try:
        for i, addr in enumerate(ADDRS):
            ini = os.path.join(tmp, f"n{i}.ini")
            with open(ini, "w") as f:
                f.write(f"[node]\nport = {port}\nlisten = {addr}\nlocation = n{i}\n"
                        f"delay = 10\nprobe_self = no\ndns_servers = 127.0.0.1:{dns.port}\n"
                        f"[discovery]\nname = mesh.bench\nmin_ttl = 5\n")
            procs.append(subprocess.Popen([BIN, "-C", ini], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        deadline = start + 120
        found_at = None
        while time.monotonic() < deadline:
            if all(dns_members(a, port) == N - 1 for a in ADDRS):
                found_at = time.monotonic() - start
                break
            time.sleep(0.5)
        print(f"nodes: {N}; all found all {N - 1} others after: "
              f"{found_at:.1f} s" if found_at else "not all found within 120 s")
        before = {p.pid: proc_figures(p.pid)[0] for p in procs}
        t0 = time.monotonic()
        time.sleep(WINDOW)
        elapsed = time.monotonic() - t0
        ticks = rss = pss = 0
        for p in procs:
            t, r, s = proc_figures(p.pid)
            ticks += t - before[p.pid]
            rss += r
            pss += s
        metrics_ok = 0
        for a in ADDRS:
            text = get(f"http://{a}:{port}/metrics")
            peers = {line.split('peer="')[1].split('"')[0] for line in text.splitlines()
                     if line.startswith("pingmesh_probes_total{")}
            metrics_ok += len(peers) == N - 1
        print(f"/metrics with {N - 1} peers: {metrics_ok} of {N} nodes")
        # The page reads the others' listings once it is watched: look, let a round pass.
        get(f"http://{ADDRS[0]}:{port}/")
        time.sleep(15)
        page = get(f"http://{ADDRS[0]}:{port}/")
        states = re.findall(r'data-from="[^"]*" data-to="[^"]*" data-state="([a-z]+)"', page)
        pairs = sum(1 for s in states if s != "self")
        measured = sum(1 for s in states if s in ("ok", "fail"))
        print(f"page of node 0: {len(states)} cells, {pairs} pairs, {measured} with data "
              f"(want {N * (N - 1)}), {len(page) / 1024:.0f} KB")
        hz = os.sysconf("SC_CLK_TCK")
        cpu = ticks / hz / elapsed * 100
        print(f"over {elapsed:.0f} s: CPU {cpu:.2f}% of one core for all {N} "
              f"({cpu / N:.3f}% each); RSS {rss / 1024:.1f} MB total ({rss / N:.0f} KB each); "
              f"PSS {pss / 1024:.1f} MB total ({pss / N:.0f} KB each)")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        dns.stop()


if __name__ == "__main__":
    main()
