"""Peers learnt from other nodes' /v1/peers: the original's addpeers=true (once) and peer
exchange (periodic, opt-in). One hop, deduplicated, never ourselves."""
import json
import signal
import time
import urllib.parse
import urllib.request

from conftest import free_port, wait_until


def peers(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/peers", timeout=5) as r:
        return json.loads(r.read())["Peers"]


def by_origin(port, origin):
    return sorted(p["Url"] for p in peers(port) if p["Origin"] == origin)


def wait(predicate, timeout=15):
    return wait_until(predicate, timeout)


def ping(port, host="127.0.0.1"):
    return f"http://{host}:{port}/v1/ping"


def serve(daemons, tmp_path, name, port, peer_urls=(), extra=""):
    ini = tmp_path / f"{name}.ini"
    lines = "".join(f"url = {u}\n" for u in peer_urls)
    ini.write_text(f"[node]\nport = {port}\nlocation = {name}\ndelay = 1\nprobe_self = no\n"
                   f"[peers]\n{lines}{extra}")
    d = daemons(["-C", str(ini)])
    assert wait(lambda: peers(port) is not None), d.stderr()
    return d


def test_addpeers_imports_that_nodes_peers_once(daemons, tmp_path):
    a, b, c, d = (free_port() for _ in range(4))
    # a probes b, c and d (d is the node that will ask): d must not add itself.
    serve(daemons, tmp_path, "a", a, [ping(b), ping(c), ping(d)])
    serve(daemons, tmp_path, "b", b)
    serve(daemons, tmp_path, "c", c)
    node_d = serve(daemons, tmp_path, "d", d)
    q = urllib.parse.urlencode({"url": f"http://127.0.0.1:{a}/v1/peers?addpeers=true"})
    with urllib.request.urlopen(f"http://127.0.0.1:{d}/v1/addpeer?{q}", timeout=5) as r:
        assert "Added a new peer for" in r.read().decode()
    want = sorted([f"http://127.0.0.1:{a}/v1/peers", ping(b), ping(c)])
    assert wait(lambda: by_origin(d, "api") == want), (by_origin(d, "api"), node_d.stderr())
    assert wait(lambda: "addpeers: 2 peers added" in node_d.stderr()), node_d.stderr()


def test_exchange_follows_a_chosen_peers_list(daemons, tmp_path):
    a, b, c, e = (free_port() for _ in range(4))
    serve(daemons, tmp_path, "b", b, [ping(c), ping(a)])  # b lists us (a): never imported
    serve(daemons, tmp_path, "c", c)
    serve(daemons, tmp_path, "e", e)
    node_a = serve(daemons, tmp_path, "a", a, [f"{ping(b)}#b"],
                   "[mesh]\nexchange = b\nexchange_interval = 5\n")
    assert wait(lambda: by_origin(a, "exchange") == [ping(c)]), \
        (peers(a), node_a.stderr())
    # b adds e through its API: the next round brings it to a as well.
    req = urllib.request.Request(f"http://127.0.0.1:{b}/v1/peers", method="POST",
                                 data=json.dumps({"url": ping(e)}).encode(),
                                 headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=5).status == 201
    assert wait(lambda: by_origin(a, "exchange") == sorted([ping(c), ping(e)]), timeout=15), \
        peers(a)
    # And when b drops it, so does a (one hop: a follows b's list as it is).
    req = urllib.request.Request(
        f"http://127.0.0.1:{b}/v1/peers/" + urllib.parse.quote(ping(e), safe=""),
        method="DELETE")
    assert urllib.request.urlopen(req, timeout=5).status == 204
    assert wait(lambda: by_origin(a, "exchange") == [ping(c)], timeout=15), peers(a)
    node_a.signal(signal.SIGTERM)
    assert node_a.finish() == 0


def test_exchange_survives_a_reload_that_turns_it_off_mid_read(daemons, tmp_path, stall_server):
    """A read in flight (a source that never answers) when a reload turns the exchange off:
    turned on again, rounds run again."""
    a, c, real = free_port(), free_port(), free_port()
    serve(daemons, tmp_path, "real", real, [ping(c)])
    serve(daemons, tmp_path, "c", c)
    ini = tmp_path / "a.ini"
    stalled = f"http://127.0.0.1:{stall_server}/v1/ping#stalled"

    def write(exchange):
        ini.write_text(f"[node]\nport = {a}\nlocation = a\ndelay = 1\nprobe_self = no\n"
                       f"timeout = 60\n[peers]\nurl = {stalled}\nurl = {ping(real)}#real\n"
                       f"[mesh]\n{exchange}exchange_interval = 5\n")
    write("exchange = stalled\n")
    node_a = daemons(["-C", str(ini)])
    time.sleep(2.5)  # the first round is reading the stalled source
    write("")
    node_a.signal(signal.SIGHUP)
    assert wait(lambda: node_a.stderr().count("SIGHUP") == 1)
    time.sleep(0.5)
    write("exchange = real\n")
    node_a.signal(signal.SIGHUP)
    assert wait(lambda: by_origin(a, "exchange") == [ping(c)], timeout=15), \
        (peers(a), node_a.stderr())
