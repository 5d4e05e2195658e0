"""Members found through DNS: a name's A records (a headless Service) or SRV records,
answered by a DNS server the test runs on loopback and changes as it goes. Each node
finds the others, never itself, follows the answers at their TTL, keeps its members
through a failed lookup, and lets a vanished member go after the grace period."""
import json
import signal
import time
import urllib.request

import pytest

from conftest import free_port, wait_until
from dns_zone import DnsServer, Zone


@pytest.fixture
def dns():
    zone = Zone()
    server = DnsServer(zone)
    yield zone, server.port
    server.stop()


def peers(address, port):
    with urllib.request.urlopen(f"http://{address}:{port}/v1/peers", timeout=5) as r:
        return json.loads(r.read())["Peers"]


def members(address, port):
    return sorted(p["Url"] for p in peers(address, port) if p["Origin"] == "dns")


def wait(predicate, timeout=15):
    return wait_until(predicate, timeout)


def ini_for(tmp_path, name, address, port, dns_port, discovery):
    ini = tmp_path / f"{name}.ini"
    ini.write_text(f"[node]\nport = {port}\nlisten = {address}\nlocation = {name}\n"
                   f"delay = 1\nprobe_self = no\ndns_servers = 127.0.0.1:{dns_port}\n"
                   f"[discovery]\n{discovery}")
    return ini


def test_a_records_are_the_members(daemons, tmp_path, dns):
    zone, dns_port = dns
    port = free_port()
    nodes = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    zone.set("mesh.test", "A", nodes, ttl=1)
    started = []
    for i, address in enumerate(nodes):
        ini = ini_for(tmp_path, f"n{i}", address, port, dns_port,
                      "name = mesh.test\nmin_ttl = 1\ngrace = 2\n")
        started.append(daemons(["-C", str(ini)]))
    url = lambda a: f"http://{a}:{port}/v1/ping"
    for address, d in zip(nodes, started):
        others = sorted(url(a) for a in nodes if a != address)
        assert wait(lambda: members(address, port) == others), (address, d.stderr())
    # They probe each other, found alone.
    assert wait(lambda: all(p["Pings"] >= 1 for p in peers(nodes[0], port)))

    # A member leaves the answer: gone after its grace (2 s), not at the next lookup.
    zone.set("mesh.test", "A", nodes[:2], ttl=1)
    time.sleep(1.2)
    assert url(nodes[2]) in members(nodes[0], port), "removed before its grace ended"
    assert wait(lambda: members(nodes[0], port) == [url(nodes[1])], timeout=10)
    # A new one comes in at the next lookup.
    zone.set("mesh.test", "A", [*nodes[:2], "127.0.0.5"], ttl=1)
    assert wait(lambda: url("127.0.0.5") in members(nodes[0], port), timeout=5)
    assert wait(lambda: "discovery: mesh.test:" in started[0].stderr()), started[0].stderr()
    for d in started:
        d.signal(signal.SIGTERM)
        assert d.finish() == 0


def test_srv_records_give_host_and_port(daemons, tmp_path, dns):
    zone, dns_port = dns
    ports = [free_port(), free_port()]
    zone.set("a.mesh.test", "A", ["127.0.0.1"])
    zone.set("b.mesh.test", "A", ["127.0.0.1"])
    zone.set("_pingmesh._tcp.mesh.test", "SRV",
             [("a.mesh.test", ports[0]), ("b.mesh.test", ports[1])], ttl=1)
    a = daemons(["-C", str(ini_for(tmp_path, "a", "127.0.0.1", ports[0], dns_port,
                                   "name = _pingmesh._tcp.mesh.test\nmin_ttl = 1\n"))])
    expected = [f"http://b.mesh.test:{ports[1]}/v1/ping"]
    # Itself by address and port: a.mesh.test resolves to us, but only the SRV's port says
    # so; the filter knows our ports and names, and b's port is not ours.
    assert wait(lambda: members("127.0.0.1", ports[0]) == expected), a.stderr()
    assert wait(lambda: any(p["Fails"] >= 1 or p["Pings"] >= 1
                            for p in peers("127.0.0.1", ports[0])))


def test_a_failed_lookup_keeps_the_members(daemons, tmp_path, dns):
    zone, dns_port = dns
    port = free_port()
    zone.set("mesh.test", "A", ["127.0.0.2", "127.0.0.3"], ttl=1)
    d = daemons(["-C", str(ini_for(tmp_path, "n", "127.0.0.2", port, dns_port,
                                   "name = mesh.test\nmin_ttl = 1\ngrace = 1\n"))])
    other = [f"http://127.0.0.3:{port}/v1/ping"]
    assert wait(lambda: members("127.0.0.2", port) == other), d.stderr()
    zone.failing = True
    seen = zone.queries
    assert wait(lambda: zone.queries >= seen + 3, timeout=10), "it asks again at min_ttl"
    assert members("127.0.0.2", port) == other, "a SERVFAIL is not an empty mesh"
    assert wait(lambda: "members kept" in d.stderr()), d.stderr()


def test_fanout_covers_every_pair_with_fewer_probes(daemons, tmp_path, dns):
    zone, dns_port = dns
    port = free_port()
    nodes = [f"127.0.0.{i}" for i in range(10, 17)]  # seven
    zone.set("mesh.test", "A", nodes, ttl=1)
    for i, address in enumerate(nodes):
        daemons(["-C", str(ini_for(tmp_path, f"n{i}", address, port, dns_port,
                                   "name = mesh.test\nmin_ttl = 1\nfanout = 1\n"))])
    url = lambda a: f"http://{a}:{port}/v1/ping"
    probed = {}
    # Fanout 1 is below what covering every pair needs: each node owns about half.
    assert wait(lambda: all(len(members(a, port)) >= 1 for a in nodes), timeout=15)
    time.sleep(1.5)  # one more lookup: the lists are settled
    for a in nodes:
        probed[a] = members(a, port)
        assert url(a) not in probed[a]
    pairs = {frozenset((a, b)) for a in nodes for b in nodes if a < b}
    covered = {frozenset((a, b)) for a in nodes for b in nodes if url(b) in probed[a]}
    assert covered == pairs, "every pair measured in at least one direction"
    total = sum(len(v) for v in probed.values())
    assert total < len(nodes) * (len(nodes) - 1), "fewer probes than the full mesh"
    assert total <= len(pairs) + len(nodes), probed


def test_a_node_that_only_probes_waits_for_its_members(daemons, tmp_path, dns):
    """No responder and no configured peer: discovery alone keeps it running, through an
    answer with no members, until a signal."""
    zone, dns_port = dns
    port = free_port()
    zone.set("mesh.test", "A", [], ttl=1)
    ini = tmp_path / "probe-only.ini"
    ini.write_text(f"[node]\ndelay = 1\ndns_servers = 127.0.0.1:{dns_port}\n"
                   f"[discovery]\nname = mesh.test\nport = {port}\nmin_ttl = 1\n")
    d = daemons(["-C", str(ini), "-v"])
    time.sleep(1.5)
    assert d.proc.poll() is None, d.stderr()
    server = daemons(["-s", str(port)])  # the member, once it is in the answer
    zone.set("mesh.test", "A", ["127.0.0.1"], ttl=1)
    assert wait(lambda: f"127.0.0.1:{port}/v1/ping" in d.stdout()), (d.stdout(), d.stderr())
    d.signal(signal.SIGTERM)
    assert d.finish() == 0
    server.kill()
