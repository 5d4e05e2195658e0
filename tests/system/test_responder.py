"""The responder under hostile clients, as the whole daemon: it must keep serving."""
import json
import os
import re
import resource
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.request


from conftest import free_port


def get(port, path, host="127.0.0.1"):
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as r:
        return r.status, r.read().decode()


def test_ping_and_peers_pages(daemons):
    port = free_port()
    d = daemons(["-s", str(port), "-L", "Chicago,US", "-H", "node1", "-d", "1",
                 f"http://127.0.0.1:{port}/v1/ping"])
    assert d.wait_for(lambda: "  1 " in d.stdout())
    status, body = get(port, "/v1/ping")
    assert status == 200
    assert body == ("<html><head><title>Chicago,US</title></head><body>\n<h1> pingResponse </h1>"
                    "<p>Served from Chicago,US\n\n</body></html>\n")
    status, body = get(port, "/v1/peers", host="[::1]")
    import json
    state = json.loads(body)
    assert state["SrvLoc"] == "Chicago,US" and state["SrvHost"] == "node1"
    assert state["SrvPort"] == port and state["NumActive"] == 1 and state["NumDeleted"] == 0
    peer = state["Peers"][0]
    assert peer["Url"] == f"http://127.0.0.1:{port}/v1/ping"
    assert peer["Location"] == "Chicago,US" and peer["Pings"] >= 1
    assert peer["PingTotals"]["TcpHs"] > 0
    assert state["Requests"] >= 2
    assert '"SrvLoc": "Chicago,US"' in body  # what the original's prober looks for
    d.signal()
    assert d.finish() == 0


def test_pipelined_pings_then_a_half_close_get_every_answer(daemons):
    """The daemon's shared /v1/ping page, 2,000 times pipelined on one connection whose
    client half-closes at once and reads late: every answer arrives whole and in order,
    then a FIN."""
    port = free_port()
    d = daemons(["-s", str(port), "-L", "Chicago,US", "-d", "1",
                 f"http://127.0.0.1:{port}/v1/ping"])
    assert d.wait_for(lambda: "  1 " in d.stdout())
    n = 2000
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n" * (n - 1) +
              b"GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.3)  # the answers (600 KB) fill the kernels' buffers; the rest is queued
    got = bytearray()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    page = ("<html><head><title>Chicago,US</title></head><body>\n<h1> pingResponse </h1>"
            "<p>Served from Chicago,US\n\n</body></html>\n").encode()
    answers = got.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(answers) == n
    assert all(a.endswith(b"\r\n\r\n" + page) for a in answers)
    assert b"Connection: close" in answers[-1]
    assert d.proc.poll() is None
    d.signal()
    assert d.finish() == 0


def test_hostile_clients_do_not_take_it_down(daemons):
    port = free_port()
    d = daemons(["-s", str(port), "-L", "Here", "-d", "1", f"http://127.0.0.1:{port}/v1/ping"])
    assert d.wait_for(lambda: "just serving" in d.stdout() or "  1 " in d.stdout())
    deadline = time.monotonic() + 20
    for i in range(60):
        assert time.monotonic() < deadline
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        kind = i % 4
        if kind == 0:  # many pipelined requests, then a reset before reading any answer
            s.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == 1:  # garbage
            s.sendall(b"\x00\xff" * 500)
        elif kind == 2:  # oversized header
            s.sendall(b"GET /v1/ping HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        else:  # half a request, then gone
            s.sendall(b"GET /v1/pi")
        s.close()
    status, body = get(port, "/v1/ping")
    assert status == 200 and "Served from Here" in body
    assert d.proc.poll() is None
    d.signal()
    assert d.finish() == 0


FLOOD = os.path.join(os.path.dirname(__file__), "flood_client.py")
def timed_ping(port, source="127.0.0.2", tls_context=None):
    """One GET /v1/ping on a fresh connection from source: (seconds, status line)."""
    t = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as s:
        if tls_context:
            s = tls_context.wrap_socket(s, server_hostname="localhost")
        s.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return time.monotonic() - t, data.split(b"\r\n", 1)[0].decode(errors="replace")


def test_one_host_cannot_deny_the_responder(daemons, certs):
    """5,000 idle connections, slowloris and a TLS handshake flood from 127.0.0.3; a client
    on 127.0.0.2 gets every /v1/ping answered quickly, and the node's own probes (from
    127.0.0.1) keep their schedule."""
    port, tls_port = free_port(), free_port()
    d = daemons(["-s", str(port), "--tls-port", str(tls_port), "--cert", str(certs / "server.pem"),
                 "--key", str(certs / "server.key"), "--ca-file", str(certs / "ca.pem"),
                 "-L", "Here", "-d", "1", "-j", f"http://127.0.0.1:{port}/v1/ping"])
    assert d.wait_for(lambda: '"ok":true' in d.stdout()), d.stdout() + d.stderr()
    # The attacker runs niced: on a real network its CPU is not ours, and on a small shared
    # machine its busy loop would otherwise be measured as the responder's latency.
    flood = subprocess.Popen(["nice", "-n", "10", sys.executable, FLOOD, "--from", "127.0.0.3", "--port", str(port),
                              "--tls-port", str(tls_port), "--idle", "5000", "--slow", "100",
                              "--tls", "300", "--rate", "1000", "--seconds", "22"],
                             stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # the flood reaches its size
        samples_before = d.stdout().count('"type":"sample"')
        tls = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        plain, secure, failures = [], [], []
        started = time.monotonic()
        for i in range(300):  # 15 s at most
            if time.monotonic() - started > 15:
                break
            try:
                took, status = timed_ping(port)
                (plain if status == "HTTP/1.1 200 OK" else failures).append((took, status))
                if i % 10 == 0:
                    took, status = timed_ping(tls_port, tls_context=tls)
                    (secure if status == "HTTP/1.1 200 OK" else failures).append((took, status))
            except OSError as e:
                failures.append((None, repr(e)))
            time.sleep(0.04)
        window = time.monotonic() - started
        samples = d.stdout().count('"type":"sample"') - samples_before
        out, _ = flood.communicate(timeout=30)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    stats = json.loads(out)
    assert stats["connects"] >= 5000, stats  # it did hold (and re-open) its connections
    assert not failures, failures[:5]
    plain.sort()
    p99 = plain[int(len(plain) * 0.99) - 1][0]
    print(f"/v1/ping from 127.0.0.2: {len(plain)} answered, p50 {plain[len(plain) // 2][0] * 1e3:.2f}"
          f" ms, p99 {p99 * 1e3:.2f} ms; https max {max(t for t, _ in secure) * 1e3:.1f} ms;"
          f" flood {stats}")
    assert len(plain) >= 200 and p99 <= 0.005, (len(plain), p99, plain[-5:])
    assert len(secure) >= 20 and max(t for t, _ in secure) <= 0.5, secure
    # One probe a second, every one answered. (An https self-probe would stall the loop for
    # its own client-side crypto, a separate matter from the flood.)
    assert samples >= int(window) - 1, (samples, window)
    tail = d.stdout().splitlines()[-samples:]
    assert all('"ok":true' in l for l in tail if '"type":"sample"' in l), tail
    assert "closing the oldest idle one" in d.stderr()
    assert d.proc.poll() is None
    d.signal()
    assert d.finish() == 0


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def test_fd_limit_is_raised_to_the_hard_limit(daemons):
    port = free_port()
    d = daemons(["-s", str(port), "-L", "Here"],
                preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096)))
    assert d.wait_for(lambda: "just serving" in d.stdout() + d.stderr()), d.stderr()
    limits = open(f"/proc/{d.proc.pid}/limits").read()
    assert re.search(r"Max open files\s+4096\s+4096", limits), limits
    d.signal()
    assert d.finish() == 0


def test_full_fd_table_does_not_deny_newcomers(daemons):
    """With a hard fd limit of 64, idle connections from three addresses would take every
    descriptor, and libuv would then drop each new connection unseen; the connection
    table is sized below the limit, so eviction makes room instead. No spinning either."""
    port = free_port()
    d = daemons(["-s", str(port), "-L", "Here"],
                preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    assert d.wait_for(lambda: "just serving" in d.stdout() + d.stderr()), d.stderr()
    held = []
    try:
        for source in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
            for _ in range(32):
                s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                             source_address=(source, 0))
                s.sendall(b"G")  # past the first-byte timeout: held by the header timeout
                held.append(s)
        time.sleep(0.2)
        before = cpu_seconds(d.proc.pid)
        answered = 0
        for _ in range(20):
            took, status = timed_ping(port)
            answered += status == "HTTP/1.1 200 OK"
            time.sleep(0.05)
        time.sleep(0.5)
        assert answered == 20
        assert cpu_seconds(d.proc.pid) - before < 0.3, "the loop spins"
        assert len(os.listdir(f"/proc/{d.proc.pid}/fd")) < 64
    finally:
        for s in held:
            s.close()
    d.signal()
    assert d.finish() == 0


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tcp_kernel_kb():
    """What every TCP socket on the machine holds in kernel buffers (pages of 4 KB)."""
    for line in open("/proc/net/sockstat"):
        if line.startswith("TCP:"):
            f = line.split()
            return int(f[f.index("mem") + 1]) * 4
    return 0


def test_unread_peers_pages_keep_memory_bounded(daemons):
    """1,000 peers make /v1/peers about 650 KB; 250 clients ask for it and never read. The
    page is built at most once a second into one shared buffer, the versions held by
    unsent answers are bounded, and so is each connection's kernel send buffer: RSS and
    kernel memory stay small and /v1/ping stays fast."""
    port, closed = free_port(), free_port()
    peers = [f"http://127.0.0.1:{closed}/v1/ping?n={i}" for i in range(1000)]
    d = daemons(["-s", str(port), "-L", "Here", "-d", "60", "-q", *peers])
    def serving():
        try:
            return len(get(port, "/v1/peers")[1]) > 500000
        except OSError:
            return False
    assert d.wait_for(serving), d.stderr()
    size = len(get(port, "/v1/peers")[1])
    before, kernel_before = rss_kb(d.proc.pid), tcp_kernel_kb()
    held = []
    try:
        for i in range(250):  # from ten addresses, within each one's connection bound
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as in flood_client.py
            s.bind((f"127.0.0.{10 + i % 10}", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /v1/peers HTTP/1.1\r\nHost: x\r\n\r\n")
            held.append(s)
            if i % 50 == 49:
                time.sleep(0.6)  # over a few seconds: several versions of the page
        time.sleep(0.5)
        during, kernel = rss_kb(d.proc.pid), tcp_kernel_kb() - kernel_before
        pings = sorted(timed_ping(port) for _ in range(100))
        assert all(status == "HTTP/1.1 200 OK" for _, status in pings)
        p99 = pings[98][0]
        print(f"/v1/peers {size} bytes; RSS {before} kB before, {during} kB with 250 unread; "
              f"TCP kernel memory +{kernel} kB; /v1/ping p99 {p99 * 1e3:.2f} ms")
        # Under ASan freed memory waits in its quarantine, resident: only the release run
        # can measure what the held pages cost.
        with open(f"/proc/{d.proc.pid}/maps") as maps:
            sanitized = "libasan" in maps.read()
        if not sanitized:
            assert during - before < 20 * 1024, (before, during)
        # 250 sockets at most 128 KB each (64 KB doubled), not 650 KB each.
        assert kernel < 48 * 1024, kernel
        assert p99 <= 0.005, p99
        # A reader is served in full, and the held answers are still whole when read.
        assert len(get(port, "/v1/peers")[1]) > 500000
        s = held[0]
        s.settimeout(5)
        got = b""
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < size - 1000:
            chunk = s.recv(1 << 20)
            assert chunk
            got += chunk
    finally:
        for s in held:
            s.close()
    assert d.proc.poll() is None
    d.signal()
    assert d.finish() == 0
