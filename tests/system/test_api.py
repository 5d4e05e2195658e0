"""Joining the mesh through the API: the original's /v1/addpeer, POST and DELETE on
/v1/peers, who may change the mesh, the peer bound, and the API's peers kept across a
restart and a reload."""
import json
import signal
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

import netns
from conftest import free_port, wait_until


def call(port, method, path, body=None, headers=None, host="127.0.0.1"):
    """(status, headers, text) of one request."""
    data = body.encode() if isinstance(body, str) else body
    headers = dict(headers or {})
    if method == "POST":
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(f"http://{host}:{port}{path}", data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def peers(port):
    return json.loads(call(port, "GET", "/v1/peers")[2])


def serving(port):
    try:
        return call(port, "GET", "/v1/ping")[0] == 200
    except OSError:
        return False


def identities(port, origin=None):
    return sorted(p["Identity"] for p in peers(port)["Peers"]
                  if origin is None or p["Origin"] == origin)


def node(daemons, tmp_path, port, extra=""):
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\nlisten = 127.0.0.1\ndelay = 1\n"
                   f"[mesh]\nstate_dir = {tmp_path}\n{extra}")
    d = daemons(["-C", str(ini)])
    assert wait_until(lambda: serving(port)), d.stderr()
    return d, ini


def test_post_and_delete_a_peer(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    target = f"http://127.0.0.1:{port}/v1/ping"
    st, _, text = call(port, "POST", "/v1/peers",
                       json.dumps({"url": target, "name": "other", "delay": 1}))
    assert st == 201, text
    assert json.loads(text) == {"Identity": "other"}
    # It probes: samples under its name, its origin listed.
    assert wait_until(lambda: any(p["Identity"] == "other" and p["Pings"] >= 1
                            for p in peers(port)["Peers"])), d.stderr()
    entry = [p for p in peers(port)["Peers"] if p["Identity"] == "other"][0]
    assert entry["Origin"] == "api" and entry["Delay"] == 1
    # The same identity again is a conflict, and says where the first one came from.
    st, _, text = call(port, "POST", "/v1/peers", json.dumps({"url": target, "name": "other"}))
    assert st == 409 and "already present" in text, text
    # A configured peer cannot be deleted through the API; an unknown one is not found.
    self_id = [p["Identity"] for p in peers(port)["Peers"] if p["Origin"] == "self"][0]
    st, _, text = call(port, "DELETE", "/v1/peers/" + urllib.parse.quote(self_id, safe=""))
    assert st == 409 and "comes from self" in text, text
    assert call(port, "DELETE", "/v1/peers/nobody")[0] == 404
    st, _, _ = call(port, "DELETE", "/v1/peers/other")
    assert st == 204
    assert wait_until(lambda: "other" not in identities(port)), peers(port)
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


@pytest.mark.parametrize("body,why", [
    ("not json", "not a JSON object"),
    ("[1, 2]", "not a JSON object"),
    ('{"name": "x"}', '"url"'),
    ('{"url": "ftp://x/"}', "url:"),
    ('{"url": "http://127.0.0.1:1/v1/ping", "delay": 0}', '"delay"'),
    ('{"url": "http://127.0.0.1:1/v1/ping", "ip": "not-an-ip"}', '"ip"'),
    ('{"url": "http://127.0.0.1:1/v1/ping", "name": "a\\u001b[31mb"}', '"name"'),
])
def test_a_bad_peer_object_is_refused_with_its_reason(daemons, tmp_path, body, why):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    before = identities(port)
    st, _, text = call(port, "POST", "/v1/peers", body)
    assert st == 400 and why in json.loads(text)["error"], (st, text)
    assert identities(port) == before


def test_a_post_must_say_it_is_json(daemons, tmp_path):
    """A browser's form or text/plain POST (no CORS preflight) cannot add a peer."""
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    body = json.dumps({"url": f"http://127.0.0.1:{port}/v1/ping", "name": "x"})
    for kind in ("text/plain", "application/x-www-form-urlencoded"):
        st, _, text = call(port, "POST", "/v1/peers", body, {"Content-Type": kind})
        assert st == 415, (kind, st, text)
    assert "x" not in identities(port)
    # HEAD of addpeer changes nothing either.
    q = urllib.parse.urlencode({"url": f"http://127.0.0.1:{port}/head"})
    assert call(port, "HEAD", "/v1/addpeer?" + q)[0] == 200
    assert len(identities(port)) == 1


def test_a_body_over_the_bound_is_refused_unread(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    big = json.dumps({"url": f"http://127.0.0.1:{port}/v1/ping", "name": "x" * 20000})
    st, _, _ = call(port, "POST", "/v1/peers", big)
    assert st == 413
    assert serving(port)


def test_the_original_addpeer(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    st, _, form = call(port, "GET", "/v1/addpeer")
    assert st == 200 and "<form" in form
    url = f"http://localhost:{port}/v1/ping"
    q = urllib.parse.urlencode({"url": url, "delay": "2", "limit": "bad"})
    st, _, text = call(port, "GET", "/v1/addpeer?" + q)
    assert st == 200 and "Added a new peer for " + url in text, text
    entry = [p for p in peers(port)["Peers"] if p["Identity"] == url][0]
    assert entry["Delay"] == 2 and entry["Limit"] == 0  # a bad number is ignored
    # The original's duplicate: the same host:port, whatever the path.
    q = urllib.parse.urlencode({"url": f"http://localhost:{port}/elsewhere"})
    st, _, text = call(port, "GET", "/v1/addpeer?" + q)
    assert "already in the peer list" in text, text


# What a web page in a browser on this node, or a reverse proxy on it, would send: each
# reaches us over loopback, and none is a local user.
NOT_LOCAL = [
    ({"Host": "rebound.example:{port}"}, "Host header"),
    ({"Origin": "http://elsewhere.example"}, "Origin"),
    ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
    ({"Referer": "http://elsewhere.example/page.html"}, "Referer"),
    ({"X-Forwarded-For": "192.0.2.7"}, "proxy"),
]


@pytest.mark.parametrize("headers,why", NOT_LOCAL, ids=[w for _, w in NOT_LOCAL])
def test_loopback_from_a_browser_or_a_proxy_needs_the_token(daemons, tmp_path, headers, why):
    port = free_port()
    d, _ = node(daemons, tmp_path, port, "api_token = s3cret\n")
    headers = {k: v.format(port=port) for k, v in headers.items()}
    url = f"http://127.0.0.1:{port}/v1/ping?from=api"
    q = urllib.parse.urlencode({"url": url})
    st, _, text = call(port, "GET", "/v1/addpeer?" + q, headers=headers)
    assert st == 401 and why in text, (st, text)
    body = json.dumps({"url": url})
    st, _, text = call(port, "POST", "/v1/peers", body, headers=headers)
    assert st == 401 and why in text, (st, text)
    assert url not in identities(port)
    # The token is what lets it through, as from another host.
    auth = dict(headers, Authorization="Bearer s3cret")
    assert call(port, "POST", "/v1/peers", body, headers=auth)[0] == 201
    assert url in identities(port, "api")


def test_a_local_tool_and_the_nodes_own_page_may_change(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    for i, headers in enumerate([
            {"Host": f"localhost:{port}"},
            {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin",
             "Referer": f"http://127.0.0.1:{port}/v1/addpeer"}]):
        url = f"http://127.0.0.1:{port}/v1/ping?n={i}"
        st, _, text = call(port, "POST", "/v1/peers", json.dumps({"url": url}), headers=headers)
        assert st == 201, (headers, st, text)


def test_max_peers_refuses_with_a_clear_answer(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port, "max_peers = 2\n")  # ourselves and one more
    ok = call(port, "POST", "/v1/peers", json.dumps({"url": f"http://127.0.0.1:{port}/a"}))
    assert ok[0] == 201, ok
    st, _, text = call(port, "POST", "/v1/peers", json.dumps({"url": f"http://127.0.0.1:{port}/b"}))
    assert st == 507 and "max_peers (2)" in text, text
    assert wait_until(lambda: "max_peers = 2 reached" in d.stderr()), d.stderr()


def test_api_peers_survive_a_restart_and_a_reload(daemons, tmp_path):
    port = free_port()
    d, ini = node(daemons, tmp_path, port)
    for name in ("one", "two"):
        st, _, _ = call(port, "POST", "/v1/peers",
                        json.dumps({"url": f"http://127.0.0.1:{port}/v1/ping#{name}",
                                    "delay": 3}))
        assert st == 201
    assert call(port, "DELETE", "/v1/peers/one")[0] == 204
    d.signal(signal.SIGTERM)  # before the save timer fires: the exit saves
    assert d.finish() == 0
    state = json.loads((tmp_path / "api-peers.json").read_text())
    assert [p["location"] for p in state["peers"]] == ["two"]
    assert not list(tmp_path.glob("*.tmp"))

    d = daemons(["-C", str(ini)])
    assert wait_until(lambda: serving(port)), d.stderr()
    assert identities(port, "api") == ["two"]
    assert wait_until(lambda: "restored 1 peers" in d.stderr()), d.stderr()
    # A reload reconciles the configuration's peers only; the API's stay, statistics too.
    assert wait_until(lambda: any(p["Pings"] >= 1 for p in peers(port)["Peers"]
                            if p["Identity"] == "two"))
    ini.write_text(ini.read_text().replace("delay = 1", "delay = 2"))
    d.signal(signal.SIGHUP)
    assert wait_until(lambda: "peers: " in d.stderr().split("SIGHUP")[-1]), d.stderr()
    assert identities(port, "api") == ["two"]
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


@pytest.fixture
def two_hosts():
    """A server and a client host, joined by a veth pair."""
    with netns.namespaces("server", "client") as ns:
        netns.link(ns["server"], "198.18.0.1/24", ns["client"], "198.18.0.2/24")
        hosts = netns.Host(ns["server"]), netns.Host(ns["client"])
        try:
            yield hosts
        finally:
            for h in hosts:
                h.stop_all()


JSON = "Content-Type: application/json"
ADDRESS = "198.18.0.1"


def test_changes_from_another_host_need_the_token(tmp_path, two_hosts):
    server, client = two_hosts
    port = 8080
    token = "s3cret-" + uuid.uuid4().hex
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\nlisten = {ADDRESS}\nprobe_self = no\n"
                   f"[mesh]\napi_token_file = token\n")
    proc = server.daemon("-C", str(ini), "-v")
    base = f"http://{ADDRESS}:{port}"
    assert wait_until(lambda: client.curl(base + "/v1/ping")[0] == 200)
    peer = json.dumps({"url": f"{base}/v1/ping", "name": "remote"})
    code, body = client.curl("-X", "POST", "-d", peer, "-H", JSON, base + "/v1/peers")
    assert code == 401 and "Authorization: Bearer" in body, (code, body)
    code, body = client.curl("-X", "POST", "-d", peer, "-H", JSON,
                             "-H", "Authorization: Bearer wrong", base + "/v1/peers")
    assert code == 401 and "not this node's" in body, (code, body)
    # Reading needs nothing.
    assert client.curl(base + "/v1/peers")[0] == 200
    code, body = client.curl("-X", "POST", "-d", peer, "-H", JSON,
                             "-H", f"Authorization: Bearer {token}", base + "/v1/peers")
    assert code == 201, (code, body)
    code, body = client.curl("-X", "DELETE", base + "/v1/peers/remote")
    assert code == 401
    code, body = client.curl("-X", "DELETE", "-H", f"Authorization: Bearer {token}",
                             base + "/v1/peers/remote")
    assert code == 204, (code, body)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    err = proc.stderr.read()
    assert token not in err, "the token is never logged"
    assert "refused a change from 198.18.0.2" in err, err


def test_without_a_token_other_hosts_may_only_read(tmp_path, two_hosts):
    server, client = two_hosts
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = 8080\nlisten = {ADDRESS}\nprobe_self = no\n")
    server.daemon("-C", str(ini))
    base = f"http://{ADDRESS}:8080"
    assert wait_until(lambda: client.curl(base + "/v1/ping")[0] == 200)
    q = urllib.parse.urlencode({"url": base + "/v1/ping"})
    code, body = client.curl(base + "/v1/addpeer?" + q)
    assert code == 403 and "no api_token" in body, (code, body)
    code, _ = client.curl(base + "/v1/addpeer")
    assert code == 200, "the form itself changes nothing"


def test_peers_lists_failures_last_error_and_percentiles(daemons, tmp_path):
    port = free_port()
    d, _ = node(daemons, tmp_path, port)
    closed = free_port()
    st, _, _ = call(port, "POST", "/v1/peers",
                    json.dumps({"url": f"http://127.0.0.1:{closed}/v1/ping", "name": "down",
                                "delay": 1}))
    assert st == 201
    by_id = lambda: {p["Identity"]: p for p in peers(port)["Peers"]}
    assert wait_until(lambda: by_id()["down"]["Fails"] >= 2 and
                any(p["Pings"] >= 2 for p in by_id().values()))
    down = by_id()["down"]
    assert down["Failures"] == {"connect_refused": down["Fails"]}
    assert down["LastError"].startswith("connect_refused") and down["LastErrorTime"]
    assert down["Percentiles"] == {}
    up = [p for p in by_id().values() if p["Pings"] >= 2][0]
    total = up["Percentiles"]["total"]
    assert 0 < total["P50"] <= total["P90"] <= total["P99"] < 1e9, total
    assert up["LastError"] == "" and up["LastErrorTime"] is None
