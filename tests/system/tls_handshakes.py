"""Clients of a mesh node's https responder making full TLS handshakes at full speed: the
load every node carries from its peers. The responder grants one address a few
handshakes a second, so the clients come from many loopback addresses (127.0.N.x), each
kept under that rate; several threads keep the responder busy. Bounded in time and in
count, and SIGTERM ends it early; it prints one JSON line at the end: handshakes,
failures, seconds, failed_by (failures by kind).

    tls_handshakes.py --port P [--addresses 120] [--per-address-rate 3] [--threads 4]
                      [--seconds 10] [--max 100000] [--net 50]
"""
import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--addresses", type=int, default=120)
    p.add_argument("--per-address-rate", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--max", type=int, default=100000)
    p.add_argument("--net", type=int, default=50, help="the N of 127.0.N.x")
    a = p.parse_args()

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options |= ssl.OP_NO_TICKET  # every handshake a full one
    if not 1 <= a.addresses <= 250:
        sys.exit("--addresses: 1 to 250 (one 127.0.NET.x network)")
    sources = [f"127.0.{a.net}.{i + 2}" for i in range(a.addresses)]
    gap = 1.0 / a.per_address_rate
    next_at = {s: 0.0 for s in sources}
    lock = threading.Lock()
    counts = {"handshakes": 0, "failures": 0}
    why = {}  # failures by kind
    end = [time.monotonic() + a.seconds]
    # SIGTERM ends it early, still printing what it did.
    signal.signal(signal.SIGTERM, lambda *_: end.__setitem__(0, 0))
    turn = [0]

    def take_source():
        """The next address allowed another handshake, or None to wait a little."""
        with lock:
            now = time.monotonic()
            for _ in range(len(sources)):
                s = sources[turn[0] % len(sources)]
                turn[0] += 1
                if next_at[s] <= now:
                    next_at[s] = now + gap
                    return s
        return None

    def worker():
        while time.monotonic() < end[0] and counts["handshakes"] + counts["failures"] < a.max:
            src = take_source()
            if src is None:
                time.sleep(0.002)
                continue
            try:
                with socket.create_connection(("127.0.0.1", a.port), timeout=5,
                                              source_address=(src, 0)) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost"):
                        pass
                with lock:
                    counts["handshakes"] += 1
            except (OSError, ssl.SSLError) as e:
                with lock:
                    counts["failures"] += 1
                    why[type(e).__name__] = why.get(type(e).__name__, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts["seconds"] = round(time.monotonic() - started, 3)
    counts["failed_by"] = why
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
