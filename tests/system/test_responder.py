"""The responder under hostile clients, as the whole daemon: it must keep serving."""
import socket
import struct
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
