"""GET /: the mesh page of three daemons that probe each other, one of them with a hostile
location. The matrix has a cell for every pair, the peer table every peer, everything a
peer says is escaped, and headless Chromium renders it (the screenshot is kept)."""
import html
import http.server
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import urllib.request

import pytest

from conftest import free_port, wait_until

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium")
ARTIFACTS = os.environ.get("PINGMESH_ARTIFACTS")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers, r.read().decode()


def cells(page):
    """(from, to, state) of every matrix cell, attributes unescaped."""
    rx = re.compile(r'<td class="[^"]*" data-from="([^"]*)" data-to="([^"]*)" '
                    r'data-state="([a-z]*)"')
    return [(html.unescape(f), html.unescape(t), s) for f, t, s in rx.findall(page)]


def wait(predicate, timeout=20):
    return wait_until(predicate, timeout)


@pytest.fixture
def mesh(daemons, tmp_path):
    """Nodes a and b, and h whose location is hostile; each probes the other two. h goes by
    its URL everywhere, so its location is learned from its replies; b names a by its URL
    too, so a's page must see that b's "http://...:PORT/v1/ping" is a itself. a reads the
    others' listings every 2 s."""
    ports = {n: free_port() for n in "abh"}
    url = {n: f"http://127.0.0.1:{p}/v1/ping" for n, p in ports.items()}
    ini = tmp_path / "a.ini"
    ini.write_text("[page]\nrefresh = 2\n")
    nodes = {
        "a": daemons(["-C", str(ini), "-s", str(ports["a"]), "-L", "a", "-d", "1", "-q",
                      url["b"] + "#b", url["h"]]),
        "b": daemons(["-s", str(ports["b"]), "-L", "b", "-d", "1", "-q", url["a"], url["h"]]),
        "h": daemons(["-s", str(ports["h"]), "-L", HOSTILE, "-d", "1", "-q",
                      url["a"] + "#a", url["b"] + "#b"]),
    }
    for n, p in ports.items():
        assert wait(lambda: '"Pings": 0' not in get(f"http://127.0.0.1:{p}/v1/peers")[2]
                    and get(f"http://127.0.0.1:{p}/v1/peers")[2].count('"Pings"') == 2), \
            nodes[n].stderr()
    return ports, url, nodes


def full_page(port):
    """The page of a, once its rows for b and h are read (the first look starts reading)."""
    state = {}

    def complete():
        state["page"] = get(f"http://127.0.0.1:{port}/")[2]
        return sum(s == "ok" for _, _, s in cells(state["page"])) == 6

    assert wait(complete), state.get("page")
    return state["page"]


def test_matrix_has_every_pair_and_escapes_peers(mesh):
    ports, url, nodes = mesh
    status, headers, page = get(f"http://127.0.0.1:{ports['a']}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = full_page(ports["a"])
    # Three nodes, three rows and three columns: nine cells, the diagonal itself, the six
    # pairs measured (h goes by its URL, the name a probes it by).
    names = ["a", "b", url["h"]]
    got = cells(page)
    assert sorted((f, t) for f, t, _ in got) == sorted((f, t) for f in names for t in names)
    for f, t, s in got:
        assert s == ("self" if f == t else "ok"), (f, t, s)
    assert 'data-rows="3" data-columns="3"' in page
    # The peer table: each of a's peers, with h's hostile location escaped.
    assert re.findall(r'<tr data-peer="([^"]*)"', page) == ["b", html.escape(url["h"])]
    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Self-contained: nothing fetched from elsewhere; it reloads itself; links stay.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', page)
    for path in ["/v1/ping", "/v1/peers", "/metrics", "/v1/addpeer"]:
        assert f'href="{path}"' in page, path
    assert page.count("<svg class=\"spark\"") == 2

    # h dies: its column turns red in our row and, once b's listing says so, in b's; h's
    # row keeps its last listing.
    nodes["h"].kill()

    def h_failing():
        got = {(f, t): s for f, t, s in cells(get(f"http://127.0.0.1:{ports['a']}/")[2])}
        return len(got) == 9 and got[("a", url["h"])] == got[("b", url["h"])] == "fail" \
            and got[(url["h"], "a")] == "ok"

    assert wait(h_failing, timeout=30)
    nodes["a"].signal(signal.SIGTERM)
    assert nodes["a"].finish() == 0


class ListingNode:
    """A node of our own on loopback: answers /v1/ping and /v1/peers, and says which paths
    it was asked for."""

    def __init__(self, listing=b'{"SrvLoc": "lister", "Peers": []}'):
        paths = self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                paths.append(self.path)
                body = listing if self.path == "/v1/peers" else b"<html>pong</html>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_listings_are_read_only_while_the_page_is_watched(daemons):
    node = ListingNode()
    try:
        port = free_port()
        daemons(["-s", str(port), "-L", "a", "-d", "1", "-q",
                 f"http://127.0.0.1:{node.port}/v1/ping#lister"])
        assert wait(lambda: node.paths.count("/v1/ping") >= 3)
        assert "/v1/peers" not in node.paths, "read a listing though nobody watched"
        get(f"http://127.0.0.1:{port}/")  # the first look starts a round at once
        assert wait(lambda: "/v1/peers" in node.paths, timeout=5)
        assert wait(lambda: 'data-from="lister"' in get(f"http://127.0.0.1:{port}/")[2])
    finally:
        node.close()


def test_the_listings_held_are_bounded_in_all(daemons):
    """25 nodes that list 1,000 peers each: the page holds 20,000 of them in all, says
    which listings it cut and by how much, and logs it once."""
    entries = ",".join(f'{{"Url": "http://127.0.0.1:9/v1/ping?j={j}", "Pings": 1}}'
                       for j in range(1000))
    node = ListingNode(f'{{"SrvLoc": "lister", "Peers": [{entries}]}}'.encode())
    try:
        port = free_port()
        d = daemons(["-s", str(port), "-L", "a", "-d", "1",
                     *(f"http://127.0.0.1:{node.port}/v1/ping?n={i}" for i in range(25))])
        assert wait(lambda: sum(p.startswith("/v1/ping?") for p in node.paths) >= 25)
        get(f"http://127.0.0.1:{port}/")
        assert wait(lambda: node.paths.count("/v1/peers") >= 25, timeout=30)
        state = {}

        def all_read():
            state["page"] = get(f"http://127.0.0.1:{port}/")[2]
            return len(re.findall(r"read [^,<]*, \d+ peers", state["page"])) == 25

        assert wait(all_read), state.get("page", "")[-3000:]
        held = sum(int(n) for n in re.findall(r"read [^,<]*, (\d+) peers", state["page"]))
        cut = sum(int(n) for n in re.findall(r"\((\d+) more not shown", state["page"]))
        assert held == 20000 and cut == 5000, (held, cut)
        # A source that was read says only that: nothing of the unread case after it.
        items = re.findall(r"<li>[^<]*: read [^<]*</li>", state["page"])
        assert len(items) == 25
        for item in items:
            assert re.search(r", \d+ peers( \(\d+ more not shown[^)]*\))?</li>$", item), item
        assert d.wait_for(lambda: "cut to" in d.stderr()), d.stderr()
        assert d.stderr().count("cut to") == 1, d.stderr()
    finally:
        node.close()


@pytest.mark.skipif(not CHROMIUM, reason="needs chromium (Debian's chromium package)")
def test_chromium_renders_the_page(mesh, tmp_path):
    ports, url, nodes = mesh
    full_page(ports["a"])
    page_url = f"http://127.0.0.1:{ports['a']}/"
    shot = tmp_path / "page.png"
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--window-size=1280,900", "--hide-scrollbars"]
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(base + [f"--user-data-dir={profile}", f"--screenshot={shot}", page_url],
                           capture_output=True, timeout=90)
    assert shot.exists(), r.stderr.decode()[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 900)
    assert len(data) > 20_000, "a blank page compresses to almost nothing"
    if ARTIFACTS:
        os.makedirs(ARTIFACTS, exist_ok=True)
        shutil.copy(shot, os.path.join(ARTIFACTS, "page.png"))
    # The DOM as Chromium built it: every cell is still there, the hostile text is text.
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(base + [f"--user-data-dir={profile}", "--dump-dom", page_url],
                           capture_output=True, timeout=90)
    dom = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    got = cells(dom)
    assert len(got) == 9 and sum(s == "ok" for _, _, s in got) == 6, dom[:3000]
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_page_settings(daemons, tmp_path):
    """[page] refresh is the page's own reload interval; out of range is file:line, 78."""
    port = free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\n[page]\nrefresh = 7\nsources = 0\n")
    daemons(["-C", str(ini)])
    assert wait(lambda: '<meta http-equiv="refresh" content="7">' in
                get(f"http://127.0.0.1:{port}/")[2])
    ini.write_text("[node]\nport = 1\n[page]\nrefresh = 1\n")
    d = daemons(["-C", str(ini)])
    assert d.finish() == 78
    assert f"{ini}:4: refresh" in d.stderr()
