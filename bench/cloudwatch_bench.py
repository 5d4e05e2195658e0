#!/usr/bin/python3
"""Peak RSS with CloudWatch off and on, and what publishing costs in requests: 100 peers
probed once a second, published every 60 s to the SigV4-verifying stand-in on loopback.
    bench/cloudwatch_bench.py [seconds] [binary]     (defaults: 65, build-bench-dynamic)"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system"))
from cloudwatch_endpoint import Endpoint, credentials  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 65
BIN = sys.argv[2] if len(sys.argv) > 2 else "build-bench-dynamic/pingmesh"
PEERS = 100


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(publish, endpoint, creds, workdir):
    port = free_port()
    urls = "".join(f"url = http://127.0.0.1:{port}/v1/ping?peer={i}\n" for i in range(PEERS))
    ini = os.path.join(workdir, f"p{int(publish)}.ini")
    with open(ini, "w") as f:
        f.write(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\noutput = none\n"
                f"[cloudwatch]\nenabled = {'yes' if publish else 'no'}\nperiod = 60\n"
                f"[peers]\n{urls}")
    env = {**os.environ, "PINGMESH_CONFIG": "", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
           "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint.url, "HOME": "/nonexistent"}
    p = subprocess.Popen([BIN, "-C", ini], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(SECONDS)
    with open(f"/proc/{p.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    sent_while_running = len(endpoint.requests)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    return hwm, sent_while_running


def main():
    creds = credentials()
    ep = Endpoint(creds)
    with tempfile.TemporaryDirectory() as work:
        off, _ = run(False, ep, creds, work)
        before = len(ep.requests)
        on, running = run(True, ep, creds, work)
        running -= before
    reqs = ep.requests[before:]
    datums = sum(len(r["datums"]) for r in reqs)
    probes = sum(sum(x["counts"]) for r in reqs for x in r["datums"] if x["name"] == "TCP")
    print(f"| CloudWatch | peak RSS (VmHWM), {PEERS} peers at 1 Hz, {SECONDS:.0f} s |")
    print("|---|---|")
    print(f"| off | {off} KB |")
    print(f"| on (libcurl dlopen'ed) | {on} KB |")
    print()
    print(f"requests: {len(reqs)} (all SigV4-verified: {not ep.bad}), datums: {datums}, "
          f"probes counted: {probes:.0f}; while running: {running} in {SECONDS:.0f} s, "
          f"about {running * 3600 / SECONDS:.0f} requests an hour (the rest: the drain at stop)")
    ep.close()


if __name__ == "__main__":
    main()
