"""One hostile host, for the responder's system tests: from one loopback address it holds
idle connections, sends slowloris requests a byte a second, and floods the TLS port with
handshakes it never finishes. Every connection the server closes is opened again, at a
bounded rate, until the time is up; then it prints what it did as one JSON line.

    flood_client.py --from 127.0.0.3 --port P [--tls-port T] --idle 5000 --slow 100
                    --tls 300 --seconds 20
"""
import argparse
import errno
import json
import resource
import selectors
import socket
import ssl
import time


def client_hello():
    """The first flight of a real TLS client, made in memory: the server must work on it."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class Flood:
    def __init__(self, a):
        self.a = a
        self.sel = selectors.DefaultSelector()
        self.hello = client_hello()
        self.want = {"idle": a.idle, "slow": a.slow, "tls_hello": a.tls // 2,
                     "tls_silent": a.tls - a.tls // 2}
        self.open = {k: 0 for k in self.want}
        self.stats = {"connects": 0, "closed_by_server": 0, "connect_errors": 0,
                      "slow_bytes": 0, "max_open": 0}
        self.slow = []  # slowloris sockets, fed a byte a second

    def connect(self, kind):
        port = self.a.tls_port if kind.startswith("tls") else self.a.port
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Thousands of ephemeral ports in use: with SO_REUSEADDR they do not stop another
        # test from binding a listener on 0.0.0.0 at one of them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        try:
            s.bind((self.a.source, 0))
            err = s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            self.stats["connect_errors"] += 1
            return False
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.stats["connect_errors"] += 1
            return False
        self.sel.register(s, selectors.EVENT_WRITE, (kind, False))
        self.open[kind] += 1
        self.stats["connects"] += 1
        return True

    def drop(self, s, kind):
        self.sel.unregister(s)
        if s in self.slow:
            self.slow.remove(s)
        s.close()
        self.open[kind] -= 1

    def on_event(self, key, mask):
        s, (kind, connected) = key.fileobj, key.data
        if not connected:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                self.stats["connect_errors"] += 1
                self.drop(s, kind)
                return
            try:
                if kind == "tls_hello":
                    s.send(self.hello)
                elif kind == "slow":
                    s.send(b"G")
                    self.slow.append(s)
            except OSError:
                self.drop(s, kind)
                return
            self.sel.modify(s, selectors.EVENT_READ, (kind, True))
            return
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:  # the server let go of it: take another
            self.stats["closed_by_server"] += 1
            self.drop(s, kind)

    def run(self):
        end = time.monotonic() + self.a.seconds
        next_slow = time.monotonic() + 1
        budget_at, budget = time.monotonic(), 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            budget = min(self.a.rate, budget + (now - budget_at) * self.a.rate)
            budget_at = now
            short = [k for k, n in self.want.items() if self.open[k] < n]
            while short and budget >= 1:  # round robin, so every kind gets its share
                for kind in list(short):
                    budget -= 1
                    if not self.connect(kind) or self.open[kind] >= self.want[kind]:
                        short.remove(kind)
            self.stats["max_open"] = max(self.stats["max_open"], sum(self.open.values()))
            for key, mask in self.sel.select(timeout=0.01):
                self.on_event(key, mask)
            if now >= next_slow:
                next_slow = now + 1
                for s in list(self.slow):
                    try:
                        s.send(b"a")  # a header that never ends
                        self.stats["slow_bytes"] += 1
                    except OSError:
                        pass
        self.stats["open_at_end"] = dict(self.open)
        print(json.dumps(self.stats), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--from", dest="source", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--idle", type=int, default=0)
    p.add_argument("--slow", type=int, default=0)
    p.add_argument("--tls", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=2000, help="connects per second at most")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.idle + a.slow + a.tls + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    Flood(a).run()


if __name__ == "__main__":
    main()
