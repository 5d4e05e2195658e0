"""The mesh for real: four hosts in network namespaces on one bridge (198.18.0.0/24, the
benchmarking range, only inside namespaces this test makes and removes), one daemon each.
Every node measures every other; a link slowed by a delay proxy shows on that pair only;
a killed node fails at every other node while the rest stay healthy, and recovers after
a restart. Once with configured peers, once with members found by DNS discovery."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import BIN

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = ["h1", "h2", "h3", "h4"]
ADDR = {h: f"198.18.0.{i + 1}" for i, h in enumerate(HOSTS)}
DNS_ADDR = "198.18.0.254"
PORT = 8080
SLOW_PORT = 8081  # h2's delay proxy: h1 reaches h2 through it
DELAY_S = 0.05


def run(*args):
    return subprocess.run(args, check=True, capture_output=True)


@pytest.fixture
def lan():
    """Namespaces h1..h4 and a bridge namespace, joined by veth pairs."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for network namespaces")
    tag = uuid.uuid4().hex[:6]
    ns = {h: f"pm-{h}-{tag}" for h in HOSTS + ["br"]}
    made = []
    try:
        for name in ns.values():
            run("ip", "netns", "add", name)
            made.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        run("ip", "-n", ns["br"], "link", "add", "br0", "type", "bridge")
        run("ip", "-n", ns["br"], "addr", "add", DNS_ADDR + "/24", "dev", "br0")
        run("ip", "-n", ns["br"], "link", "set", "br0", "up")
        for i, h in enumerate(HOSTS):
            inside, outside = f"eth{i}", f"v{h}{tag}"
            run("ip", "-n", ns["br"], "link", "add", outside, "type", "veth", "peer", "name",
                inside, "netns", ns[h])
            run("ip", "-n", ns["br"], "link", "set", outside, "master", "br0", "up")
            run("ip", "-n", ns[h], "addr", "add", ADDR[h] + "/24", "dev", inside)
            run("ip", "-n", ns[h], "link", "set", inside, "up")
        yield ns
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot make network namespaces: {e.stderr.decode().strip()}")
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Host:
    """Processes started inside one namespace, killed at the end."""

    def __init__(self, ns):
        self.ns = ns
        self.procs = []

    def start(self, *args, ready=False):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
        env["PINGMESH_CONFIG"] = ""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, *args], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if ready:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        self.procs.append(p)
        return p

    def get(self, url):
        out = subprocess.run(["ip", "netns", "exec", self.ns, "curl", "-s", "-m", "5", url],
                             capture_output=True, text=True)
        return out.stdout

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def peers_of(host, h):
    try:
        return {p["Identity"]: p for p in json.loads(host.get(
            f"http://{ADDR[h]}:{PORT}/v1/peers"))["Peers"]}
    except ValueError:
        return {}


def wait(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def mean_total_ms(entry):
    return entry["PingTotals"]["Total"] / entry["Pings"] / 1e6 if entry["Pings"] else None


def start_node(host, tmp_path, h, peers_section):
    ini = tmp_path / f"{h}.ini"
    ini.write_text(f"[node]\nport = {PORT}\nlisten = {ADDR[h]}\nlocation = {h}\ndelay = 1\n"
                   f"probe_self = no\ntimeout = 2\nconnect_timeout = 1\nmax_failures = 100000\n"
                   f"dns_servers = {DNS_ADDR}:53\n{peers_section(h)}")
    return host.start(BIN, "-C", str(ini))


def check_the_mesh(hosts, tmp_path, peers_section, ident):
    """ident(a, b): how a names b in its peers."""
    nodes = {h: start_node(hosts[h], tmp_path, h, peers_section) for h in HOSTS}
    # Every node has samples for every other.
    for a in HOSTS:
        want = {ident(a, b) for b in HOSTS if b != a}
        assert wait(lambda: want <= set(peers_of(hosts[a], a)) and
                    all(peers_of(hosts[a], a)[b]["Pings"] >= 3 for b in want)), \
            (a, peers_of(hosts[a], a), nodes[a].poll())
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
        assert wait(lambda: peers_of(hosts[a], a)[key]["Pings"] >= mark + 2), a


def test_four_hosts_configured(lan, tmp_path):
    hosts = {h: Host(lan[h]) for h in HOSTS + ["br"]}
    try:
        hosts["h2"].start(sys.executable, os.path.join(HERE, "delay_proxy.py"), ADDR["h2"],
                          str(SLOW_PORT), ADDR["h2"], str(PORT), str(DELAY_S), ready=True)

        def url(a, b):
            port = SLOW_PORT if (a, b) == ("h1", "h2") else PORT
            return f"http://{ADDR[b]}:{port}/v1/ping#{b}"

        # A peers file of URL#Location lines: the identity is the location.
        ini_peers = {a: tmp_path / f"{a}.peers" for a in HOSTS}
        for a in HOSTS:
            ini_peers[a].write_text("".join(url(a, b) + "\n" for b in HOSTS if b != a))
        check_the_mesh(hosts, tmp_path, lambda a: f"[peers]\nfile = {ini_peers[a]}\n",
                       lambda a, b: b)
    finally:
        for h in hosts.values():
            h.stop_all()


def test_four_hosts_found_by_dns(lan, tmp_path):
    hosts = {h: Host(lan[h]) for h in HOSTS + ["br"]}
    try:
        # The name lists the four hosts, as a headless Service would.
        hosts["br"].start(sys.executable, os.path.join(HERE, "dns_zone.py"), DNS_ADDR, "53",
                          "mesh.test=" + ",".join(ADDR[h] for h in HOSTS), ready=True)
        discovery = "[discovery]\nname = mesh.test\nmin_ttl = 1\n"
        check_discovered(hosts, tmp_path, lambda a: discovery,
                         lambda a, b: f"http://{ADDR[b]}:{PORT}/v1/ping")
    finally:
        for h in hosts.values():
            h.stop_all()


def check_discovered(hosts, tmp_path, section, ident):
    """As check_the_mesh, but every peer comes from DNS (no slowed link: the answer names
    each host directly)."""
    nodes = {h: start_node(hosts[h], tmp_path, h, section) for h in HOSTS}
    for a in HOSTS:
        want = {ident(a, b) for b in HOSTS if b != a}
        assert wait(lambda: want <= set(peers_of(hosts[a], a)) and
                    all(peers_of(hosts[a], a)[b]["Pings"] >= 3 for b in want)), \
            (a, sorted(peers_of(hosts[a], a)), nodes[a].poll())
        assert all(p["Origin"] == "dns" for p in peers_of(hosts[a], a).values())
    nodes["h4"].kill()
    nodes["h4"].wait()
    time.sleep(4)
    for a in HOSTS[:3]:
        view = peers_of(hosts[a], a)
        assert view[ident(a, "h4")]["Fails"] >= 2, (a, view[ident(a, "h4")])
        for b in HOSTS[:3]:
            if b != a:
                assert view[ident(a, b)]["Fails"] == 0, (a, b)
    nodes["h4"] = start_node(hosts["h4"], tmp_path, "h4", section)
    for a in HOSTS[:3]:
        mark = peers_of(hosts[a], a)[ident(a, "h4")]["Pings"]
        assert wait(lambda: peers_of(hosts[a], a)[ident(a, "h4")]["Pings"] >= mark + 2), a
