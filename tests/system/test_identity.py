"""A sample knows whose it is; what a peer says of itself is data, never control."""
import json
import socket
import threading

from conftest import free_port

HOSTILE = (b"<html><body><h1> pingResponse </h1><p>Served from \x1b]0;pwned\x07\x1b[2J"
           b"\x1b[31mRED\x08\x08\x08\rfake line" + b"A" * 4000 + b"\n</body></html>\n")


def hostile_peer():
    """Answers every request with a location full of terminal control sequences."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                          + str(len(HOSTILE)).encode() + b"\r\nConnection: close\r\n\r\n"
                          + HOSTILE)

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_a_peers_text_never_reaches_the_terminal_raw(daemons):
    srv = hostile_peer()
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/v1/ping"
        for verbosity in ([], ["-v"], ["-V"]):
            d = daemons(["-d", "1", "-n", "2", *verbosity, url])
            assert d.finish(timeout=20) == 0
            out = d.stdout()
            assert "Recorded 2 samples" in out
            for ch in out:
                assert ch in "\n\t" or ord(ch) >= 0x20 and ord(ch) != 0x7f, repr(ch)
            for line in out.splitlines():
                assert len(line.encode()) < 255 + 200, line[:80]
        srv.close()
    finally:
        srv.close()


def test_samples_carry_their_peers_identity(daemons):
    port, closed = free_port(), free_port()
    named = f"http://127.0.0.1:{port}/v1/ping?a=1"
    plain = f"http://127.0.0.1:{port}/v1/ping?b=2"
    down = f"http://127.0.0.1:{closed}/v1/ping?c=3"
    d = daemons(["-s", str(port), "-L", "Here", "-d", "1", "-n", "2", "-f", "2", "--format",
                 "json", named + "#Self", plain, down])
    assert d.wait_for(lambda: d.stdout().count('"type":"summary"') >= 3, timeout=20)
    d.signal()
    assert d.finish() == 0
    lines = [json.loads(l) for l in d.out if l.startswith("{")]
    samples = [x for x in lines if x["type"] == "sample"]
    by_peer = {}
    for s in samples:
        by_peer.setdefault(s["peer"], []).append(s)
    assert set(by_peer) == {"Self", plain, down}, set(by_peer)
    assert all(s["ok"] and s["location"] == "Here" for s in by_peer["Self"] + by_peer[plain])
    assert all(not s["ok"] and s["location"] == "unknown" for s in by_peer[down])
    summaries = {x["peer"] for x in lines if x["type"] == "summary"}
    assert summaries == {"Self", plain, down}
