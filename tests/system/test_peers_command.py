"""`pingmesh peers URL`: a running node's listing as a table; a closed port is exit 1
with the reason; bad usage is 64."""
import re
import socket
import subprocess
import time
import urllib.request

from conftest import BIN, free_port


def peers(*args):
    return subprocess.run([BIN, "peers", *args], capture_output=True, text=True, timeout=30)


def test_table_of_a_running_node(daemons):
    port = free_port()
    d = daemons(["-s", str(port), "-L", "here", "-d", "1", "-q",
                 f"http://127.0.0.1:{port}/v1/ping#one", f"http://localhost:{port}/v1/ping#two"])
    def ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/peers", timeout=2) as r:
                return '"Pings": 0' not in r.read().decode()
        except OSError:
            return False
    deadline = time.monotonic() + 15
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.1)
    for arg in [f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/v1/ping",
                f"http://localhost:{port}/v1/peers"]:
        r = peers(arg)
        assert r.returncode == 0, (arg, r.stderr)
        lines = r.stdout.splitlines()
        assert lines[0].startswith("here: 2 peers"), lines
        header = lines[1].split()
        assert header[:5] == ["LOCATION", "PINGS", "FAILS", "START", "DURATION"]
        rows = {l.split()[0]: l for l in lines[2:]}
        assert set(rows) == {"one", "two"}, lines
        for row in rows.values():
            # Mean RTT and mean total in ms with three decimals.
            assert re.search(r"\s\d+\.\d{3}\s+\d+\.\d{3}\s+\S+$", row), row
        # Aligned: numbers end where their header ends, text starts where its header starts.
        head = lines[1]
        for l in lines[2:]:
            for name in ["PINGS", "FAILS", "DURATION", "MEAN RTT ms", "MEAN TOTAL ms"]:
                end = head.index(name) + len(name)
                assert l[end - 1] != " " and l[end] == " ", (name, l)
            for name in ["START", "ADDRESS"]:
                start = head.index(name)
                assert l[start - 1] == " " and l[start] != " ", (name, l)


def test_closed_port_is_exit_1_with_the_reason():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        r = peers(f"127.0.0.1:{port}")
    assert r.returncode == 1 and r.stdout == ""
    assert "cannot read" in r.stderr and "connect_refused" in r.stderr, r.stderr


def test_not_a_listing_is_exit_1(daemons):
    port = free_port()
    daemons(["-s", str(port), "-q"])
    time.sleep(0.5)
    r = peers(f"http://127.0.0.1:{port}/metrics")
    assert r.returncode == 1 and "not a /v1/peers listing" in r.stderr, r.stderr


def test_bad_usage_is_64():
    for args in [[], ["a:1", "b:2"], ["-x", "a:1"], ["http://[::1/"]]:
        r = peers(*args)
        assert r.returncode == 64, (args, r.stderr)
        assert "Usage: pingmesh peers" in r.stderr
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10)
    assert "pingmesh peers" in r.stdout


def test_https_node_needs_a_trusted_certificate_or_k(daemons, certs):
    port = free_port()
    daemons(["--tls-port", str(port), "--cert", str(certs / "server.pem"), "--key",
             str(certs / "server.key"), "-L", "sec", "-q"])
    url = f"https://localhost:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # listening (a plain connect costs no handshake)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    # The responder allows a client 4 handshakes a second, 2 at once: stay under that.
    time.sleep(0.6)
    # Our test CA is not among the system's: verified, the read fails and says why.
    r = peers(url)
    assert r.returncode == 1 and "tls_verify" in r.stderr, r.stderr
    time.sleep(0.6)
    r = peers("-k", url)
    assert r.returncode == 0 and r.stdout.startswith("sec: 0 peers"), r.stderr
