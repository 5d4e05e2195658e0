"""The mesh for real: four hosts in network namespaces on one bridge (198.18.0.0/24, the
benchmarking range, only inside namespaces this test makes and removes), one daemon each.
Every node measures every other; a link slowed by a delay proxy shows on that pair only;
a killed node fails at every other node while the rest stay healthy, and recovers after
a restart. Once with configured peers, once with members found by DNS discovery."""
import json
import os
import sys
import time

import pytest

import netns
from conftest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = ["h1", "h2", "h3", "h4"]
ADDR = {h: f"198.18.0.{i + 1}" for i, h in enumerate(HOSTS)}
SLOW_ADDR = "198.18.0.22"  # h2's second address, where its delay proxy listens
DNS_ADDR = "198.18.0.254"  # everyone's DNS server
DNS_ADDR_H1 = "198.18.0.253"  # h1's: it names h2 by the proxy's address (split horizon)
PORT = 8080
DELAY_S = 0.05


def reach(a, b):
    """The address a probes b at: h1 reaches h2 through the proxy."""
    return SLOW_ADDR if (a, b) == ("h1", "h2") else ADDR[b]


@pytest.fixture
def lan():
    """{role: Host}: h1..h4 on one bridge, in the namespace "br" (which also runs DNS)."""
    with netns.namespaces(*HOSTS, "br") as ns:
        netns.ip("-n", ns["br"], "link", "add", "br0", "type", "bridge")
        for a in (DNS_ADDR, DNS_ADDR_H1):
            netns.ip("-n", ns["br"], "addr", "add", a + "/24", "dev", "br0")
        netns.ip("-n", ns["br"], "link", "set", "br0", "up")
        for h in HOSTS:
            end = netns.link(ns[h], ADDR[h] + "/24", ns["br"], master="br0")
            if h == "h2":
                netns.ip("-n", ns[h], "addr", "add", SLOW_ADDR + "/24", "dev", end)
        hosts = {r: netns.Host(name) for r, name in ns.items()}
        try:
            hosts["h2"].start(sys.executable, os.path.join(HERE, "delay_proxy.py"), SLOW_ADDR,
                              str(PORT), ADDR["h2"], str(PORT), str(DELAY_S), ready=True)
            yield hosts
        finally:
            for h in hosts.values():
                h.stop_all()


def peers_of(host, h):
    try:
        return {p["Identity"]: p for p in json.loads(host.get(
            f"http://{ADDR[h]}:{PORT}/v1/peers"))["Peers"]}
    except ValueError:
        return {}


def mean_total_ms(entry):
    return entry["PingTotals"]["Total"] / entry["Pings"] / 1e6 if entry["Pings"] else None


def start_node(host, tmp_path, h, peers_section):
    ini = tmp_path / f"{h}.ini"
    dns = DNS_ADDR_H1 if h == "h1" else DNS_ADDR
    ini.write_text(f"[node]\nport = {PORT}\nlisten = {ADDR[h]}\nlocation = {h}\ndelay = 1\n"
                   f"probe_self = no\ntimeout = 2\nconnect_timeout = 1\nmax_failures = 100000\n"
                   f"dns_servers = {dns}:53\n{peers_section(h)}")
    return host.daemon("-C", str(ini))


def check_the_mesh(hosts, tmp_path, peers_section, ident, origin):
    """ident(a, b): how a names b in its peers; origin: where a's peers come from."""
    nodes = {h: start_node(hosts[h], tmp_path, h, peers_section) for h in HOSTS}
    # Every node has samples for every other.
    for a in HOSTS:
        want = {ident(a, b) for b in HOSTS if b != a}
        assert wait_until(lambda: want <= set(peers_of(hosts[a], a)) and
                          all(peers_of(hosts[a], a)[b]["Pings"] >= 3 for b in want), 30), \
            (a, sorted(peers_of(hosts[a], a)), nodes[a].poll())
        assert all(p["Origin"] == origin for p in peers_of(hosts[a], a).values())
    # The slowed link shows on its pair only (h1 -> h2 through the proxy: 2 x 50 ms).
    view = {a: peers_of(hosts[a], a) for a in HOSTS}
    slow = mean_total_ms(view["h1"][ident("h1", "h2")])
    assert slow >= 2 * DELAY_S * 1000 * 0.9, slow
    for a in HOSTS:
        for b in HOSTS:
            if a != b and (a, b) != ("h1", "h2"):
                t = mean_total_ms(view[a][ident(a, b)])
                assert t < 25, (a, b, t)
    # A killed node fails at every other node; the others stay healthy.
    nodes["h4"].kill()
    nodes["h4"].wait()
    before = {a: {b: dict(e) for b, e in peers_of(hosts[a], a).items()} for a in HOSTS[:3]}
    time.sleep(4)
    after = {a: peers_of(hosts[a], a) for a in HOSTS[:3]}
    for a in HOSTS[:3]:
        for b in HOSTS:
            if b == a:
                continue
            key = ident(a, b)
            if b == "h4":
                assert after[a][key]["Fails"] >= before[a][key]["Fails"] + 2, (a, after[a][key])
            else:
                assert after[a][key]["Pings"] >= before[a][key]["Pings"] + 2, (a, b)
                assert after[a][key]["Fails"] == before[a][key]["Fails"], (a, b)
    # Back after a restart.
    nodes["h4"] = start_node(hosts["h4"], tmp_path, "h4", peers_section)
    for a in HOSTS[:3]:
        key = ident(a, "h4")
        mark = peers_of(hosts[a], a)[key]["Pings"]
        assert wait_until(lambda: peers_of(hosts[a], a)[key]["Pings"] >= mark + 2), a


def test_four_hosts_configured(lan, tmp_path):
    # A peers file of URL#Location lines: the identity is the location.
    ini_peers = {a: tmp_path / f"{a}.peers" for a in HOSTS}
    for a in HOSTS:
        ini_peers[a].write_text("".join(f"http://{reach(a, b)}:{PORT}/v1/ping#{b}\n"
                                        for b in HOSTS if b != a))
    check_the_mesh(lan, tmp_path, lambda a: f"[peers]\nfile = {ini_peers[a]}\n",
                   lambda a, b: b, "config")


def test_four_hosts_found_by_dns(lan, tmp_path):
    # The name lists the four hosts, as a headless Service would; h1's server names h2 by
    # its proxy, so the slowed link is found by DNS too.
    def zone(addr, names):
        lan["br"].start(sys.executable, os.path.join(HERE, "dns_zone.py"), addr, "53",
                        "mesh.test=" + ",".join(names), ready=True)
    zone(DNS_ADDR, [ADDR[h] for h in HOSTS])
    zone(DNS_ADDR_H1, [ADDR["h1"]] + [reach("h1", h) for h in HOSTS[1:]])
    check_the_mesh(lan, tmp_path, lambda a: "[discovery]\nname = mesh.test\nmin_ttl = 1\n",
                   lambda a, b: f"http://{reach(a, b)}:{PORT}/v1/ping", "dns")
