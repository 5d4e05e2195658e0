#!/usr/bin/python3
"""Peak RSS, RSS, PSS and private memory with CloudWatch off and on, and what publishing
costs in requests: 100 peers probed once a second, published every 60 s to the
SigV4-verified stand-in on loopback, over http and over https (test CA, ALPN h2 and
http/1.1 offered; http/1.1 alone to an older build), one run after the other (PSS splits pages shared with other processes:
run it with no other pingmesh). Where the memory goes: the daemon's own mappings, the
libraries it links, those loaded for CloudWatch (libcurl and its own, before 2026-12-02), and the heap.
The https rows use the system's CAs as the daemon finds them by default: the daemon runs in
a mount namespace of its own (root, unshare -m) where /etc/ssl/certs is a copy that also
holds the test CA (in the bundle and by subject hash); nothing outside it changes.
    bench/cloudwatch_bench.py [seconds] [binary] [binary before]
        (defaults: 65, build-bench-dynamic/pingmesh; the third, if given, runs every row
        with an older build too, for comparison)"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system"))
from cloudwatch_endpoint import Endpoint, credentials  # noqa: E402
from conftest import free_port  # noqa: E402  (below the ephemeral range: no one takes it)

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 65
BIN = sys.argv[2] if len(sys.argv) > 2 else "build-bench-dynamic/pingmesh"
BEFORE = sys.argv[3] if len(sys.argv) > 3 else None
PEERS = 100
BUDGET_KB = 10 * 1024
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def mappings(pid):
    """{file name or [heap]/[anon]/...: (rss, pss, private)} in KB, from /proc/PID/smaps."""
    out, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                out.setdefault(name, [0, 0, 0])
            elif parts[0] in ("Rss:", "Pss:"):
                out[name][0 if parts[0] == "Rss:" else 1] += int(parts[1])
            elif parts[0] in ("Private_Clean:", "Private_Dirty:"):
                out[name][2] += int(parts[1])
    return out


def run(binary, cloudwatch, endpoint, creds, workdir, ca_file="", certs_dir=None):
    port = free_port()
    urls = "".join(f"url = http://127.0.0.1:{port}/v1/ping?peer={i}\n" for i in range(PEERS))
    ini = os.path.join(workdir, "p.ini")
    with open(ini, "w") as f:
        f.write(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\noutput = none\n"
                f"[cloudwatch]\nenabled = {'yes' if cloudwatch else 'no'}\nperiod = 60\n"
                + (f"ca_file = {ca_file}\n" if ca_file else "") + f"[peers]\n{urls}")
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_CA_BUNDLE", "https_proxy",
                                                          "HTTPS_PROXY", "http_proxy")}
    env.update({"PINGMESH_CONFIG": "", "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
                "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint.url, "HOME": "/nonexistent"})
    before = len(endpoint.requests)
    log = open(os.path.join(workdir, "stderr"), "w+")
    command = [binary, "-C", ini]
    if certs_dir:  # unshare and sh exec: the pid stays the daemon's
        command = ["unshare", "-m", "sh", "-c", 'mount --bind "$1" /etc/ssl/certs && shift && '
                   'exec "$@"', "sh", certs_dir, *command]
    p = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    time.sleep(SECONDS)
    if p.poll() is not None:
        log.seek(0)
        sys.exit(f"{binary} stopped (exit {p.returncode}):\n{log.read()[-3000:]}")
    with open(f"/proc/{p.pid}/status") as f:
        status = {l.split(":")[0]: l.split()[1] for l in f if l.startswith(("VmHWM", "VmRSS"))}
    maps = mappings(p.pid)
    sent = len(endpoint.requests) - before
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    total = [sum(v[i] for v in maps.values()) for i in range(3)]
    return {"hwm": int(status["VmHWM"]), "rss": int(status["VmRSS"]), "pss": total[1],
            "private": total[2], "maps": maps, "sent": sent,
            "reqs": endpoint.requests[before:]}


def groups(r, linked):
    """(name, rss, pss, private) for the daemon, its own libraries, those loaded later, the heap."""
    own = os.path.basename(BIN)
    out = {"pingmesh binary": [0, 0, 0], "libraries it links": [0, 0, 0],
           "libraries loaded for CloudWatch (libcurl and its)": [0, 0, 0], "heap and anonymous": [0, 0, 0]}
    for name, v in r["maps"].items():
        key = ("pingmesh binary" if name == own else
               "heap and anonymous" if name.startswith("[") or not name else
               "libraries it links" if name in linked else "libraries loaded for CloudWatch (libcurl and its)")
        for i in range(3):
            out[key][i] += v[i]
    return out


def main():
    creds = credentials()
    certs = tempfile.mkdtemp()
    subprocess.run(["/bin/sh", os.path.join(ROOT, "tests", "certs", "make-certs.sh"), certs],
                   check=True, capture_output=True)
    system = os.path.join(certs, "system")  # /etc/ssl/certs with the test CA added
    subprocess.run(["cp", "-a", "/etc/ssl/certs/.", system + "/"], check=True)
    bundle = os.path.join(system, "ca-certificates.crt")
    os.unlink(bundle)  # a file of our own, never written through a link
    with open(bundle, "w") as out:
        out.write(open(SYSTEM_BUNDLE).read() + open(os.path.join(certs, "ca.pem")).read())
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in",
                                   os.path.join(certs, "ca.pem")], check=True,
                                  capture_output=True, text=True).stdout.strip()
    os.symlink(os.path.join(certs, "ca.pem"), os.path.join(system, subject_hash + ".0"))
    plain = Endpoint(creds)
    keys = (os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))
    tls = Endpoint(creds, tls=keys)
    # Builds before 2026-12-01 take h2 when offered, which the stand-in does not speak.
    tls_http1 = Endpoint(creds, tls=keys, alpn=("http/1.1",))
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for binary, label in ((BEFORE, "before"), (BIN, "")):
            if not binary:
                continue
            tag = f" ({label})" if label else ""
            rows.append((f"off{tag}", run(binary, False, plain, creds, work)))
            rows.append((f"on, http{tag}", run(binary, True, plain, creds, work)))
            rows.append((f"on, https{tag}", run(binary, True, tls_http1 if label else tls,
                                                 creds, work, certs_dir=system)))
    off = next(r for name, r in rows if name == "off")
    linked = set(off["maps"])
    print(f"| CloudWatch, {PEERS} peers at 1 Hz, {SECONDS:.0f} s | peak RSS (VmHWM) | budget | "
          f"RSS | PSS | private | requests while running |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        budget = "" if name.startswith("off") else f"{BUDGET_KB} KB " + (
            "ok" if r["hwm"] <= BUDGET_KB else "over")
        print(f"| {name} | {r['hwm']} KB | {budget} | {r['rss']} KB | {r['pss']} KB | "
              f"{r['private']} KB | {r['sent']} |")
    print()
    print("| where it goes (KB: RSS / PSS / private) | "
          + " | ".join(name for name, _ in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    split = [groups(r, linked) for _, r in rows]
    for key in split[0]:
        print(f"| {key} | " + " | ".join("%d / %d / %d" % tuple(g[key]) for g in split) + " |")
    print()
    for name, r in rows:
        if name.startswith("off"):
            continue
        reqs = r["reqs"]
        protocols = sorted({f"{x['version']} {x['alpn'] or ''}".strip() for x in reqs})
        datums = sum(len(x["datums"]) for x in reqs)
        print(f"{name}: {len(reqs)} requests, {datums} datums, over {', '.join(protocols)}; "
              f"all SigV4-verified: {not plain.bad and not tls.bad and not tls_http1.bad}")
    for endpoint in (plain, tls, tls_http1):
        endpoint.close()
    over = [name for name, r in rows if not name.startswith("off") and "(before)" not in name
            and r["hwm"] > BUDGET_KB]
    if over:
        sys.exit(f"over the {BUDGET_KB} KB budget: {', '.join(over)}")


if __name__ == "__main__":
    main()
