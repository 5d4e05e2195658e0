"""The daemon as a service: ini file, --check-config, SIGHUP reload, the systemd notify
protocol on a real unix socket, journal-style logging, the unit file."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, free_port

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def peers_state(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/peers", timeout=5) as r:
        return json.loads(r.read())


def answering(port):
    try:
        return peers_state(port)
    except OSError:
        return None


def write(path, text):
    path.write_text(text)
    return str(path)


def test_check_config_prints_the_effective_configuration(tmp_path):
    ini = write(tmp_path / "p.ini", "[node]\nport = 8080\ndelay = 3\n[peers]\nurl = http://a.example/\n")
    r = subprocess.run([BIN, "-C", ini, "-d", "4", "--check-config"], capture_output=True,
                       text=True, timeout=10, env={**os.environ, "PINGMESH_DELAY": "9"})
    assert r.returncode == 0, r.stderr
    assert "delay = 4\n" in r.stdout  # command line > environment > file
    assert "url = http://a.example/\n" in r.stdout


def test_the_shipped_example_is_valid():
    r = subprocess.run([BIN, "-C", os.path.join(ROOT, "packaging", "pingmesh.ini"),
                        "--check-config"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no unknown keys either


def test_bad_file_exits_78_naming_file_line_and_key(tmp_path):
    ini = write(tmp_path / "bad.ini", "[node]\nport = 8080\ndelay = -1\n")
    for extra in ([], ["--check-config"]):
        r = subprocess.run([BIN, "-C", ini, *extra], capture_output=True, text=True, timeout=10)
        assert r.returncode == 78
        assert f"{ini}:3: delay: '-1' is not a whole number from 1 to 86400" in r.stderr


def test_service_with_no_peers_probes_itself(daemons, tmp_path):
    port = free_port()
    ini = write(tmp_path / "p.ini", f"[node]\nport = {port}\ndelay = 1\nlocation = Here\n")
    d = daemons(["-C", ini])
    assert d.wait_for(lambda: "  1 " in d.stdout()), d.stdout() + d.stderr()
    assert "Here 127.0.0.1" in d.stdout()
    d.signal()
    assert d.finish() == 0


def test_reload_adds_removes_and_keeps_peers(daemons, tmp_path):
    port = free_port()
    keep = f"http://127.0.0.1:{port}/v1/ping"
    drop = f"http://localhost:{port}/v1/ping#Dropped"
    add = f"http://[::1]:{port}/v1/ping"
    ini = tmp_path / "p.ini"
    write(ini, f"[node]\nport = {port}\ndelay = 1\n[peers]\nurl = {keep}\nurl = {drop}\n")
    d = daemons(["-C", str(ini)])
    assert d.wait_for(lambda: answering(port) and len(answering(port)["Peers"]) == 2 and
                      all(p["Pings"] >= 2 for p in answering(port)["Peers"]), timeout=15)
    before = {p["Url"]: p["Pings"] for p in peers_state(port)["Peers"]}

    write(ini, f"[node]\nport = {port}\ndelay = 1\n[peers]\nurl = {keep}\nurl = {add}\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: "peers: 1 added, 1 removed, 1 kept" in d.stderr()), d.stderr()
    assert d.wait_for(lambda: "Recorded" in d.stdout())  # the removed peer's summary
    assert "http://localhost:%d/v1/ping" % port in d.stdout()
    time.sleep(2.5)
    state = peers_state(port)
    active = {p["Url"]: p for p in state["Peers"]}
    assert set(active) == {keep, add.replace("#", "")}
    assert active[keep]["Pings"] > before[keep], "a kept peer keeps its statistics"
    assert active[add]["Pings"] >= 1
    # A peer a reload removed is freed once it has ended (its summary is printed): it is
    # not kept as a "deleted" peer, so reloads cannot grow the list without bound.
    assert state["DelPeers"] == [], state["DelPeers"]

    write(ini, "[node]\nport = not-a-port\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: "reload failed, the running configuration stays" in d.stderr())
    assert "not-a-port" in d.stderr()
    pings = peers_state(port)["Peers"][0]["Pings"]
    time.sleep(1.5)
    assert peers_state(port)["Peers"][0]["Pings"] > pings, "still probing"
    d.signal()
    assert d.finish() == 0


def test_reload_moves_the_listener(daemons, tmp_path):
    old, new = free_port(), free_port()
    ini = tmp_path / "p.ini"
    write(ini, f"[node]\nport = {old}\nprobe_self = no\n")
    d = daemons(["-C", str(ini)])
    assert d.wait_for(lambda: answering(old) is not None)
    write(ini, f"[node]\nport = {new}\nprobe_self = no\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: f"starting server on port {new}" in d.stderr())
    assert peers_state(new)["SrvPort"] == new
    with pytest.raises(OSError):
        peers_state(old)
    d.signal()
    assert d.finish() == 0


class NotifySocket:
    """The receiving end of sd_notify, as systemd has it: a datagram unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages = []

    def drain(self, seconds):
        self.wait_for("\0", timeout=seconds)

    def wait_for(self, text, timeout=10, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(text in m for m in self.messages) >= count:
                return True
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return False


def test_systemd_notify_protocol(daemons, tmp_path):
    port = free_port()
    ini = write(tmp_path / "p.ini", f"[node]\nport = {port}\ndelay = 1\n")
    ns = NotifySocket(tmp_path / "notify")
    d = daemons(["-C", ini], env={"NOTIFY_SOCKET": str(tmp_path / "notify"),
                                  "WATCHDOG_USEC": "400000"})
    assert ns.wait_for("READY=1")
    ready_at = len(ns.messages)
    assert peers_state(port)["SrvPort"] == port, "READY=1 comes once the responder listens"
    assert ns.wait_for("STATUS=1 peers")
    ns.drain(1.0)
    assert sum(m == "WATCHDOG=1" for m in ns.messages) >= 3, ns.messages
    d.signal(signal.SIGHUP)
    assert ns.wait_for("RELOADING=1")
    reloading = next(m for m in ns.messages if m.startswith("RELOADING=1"))
    assert re.search(r"MONOTONIC_USEC=\d+", reloading)
    assert ns.wait_for("READY=1", count=2), "READY=1 again once reloaded"
    d.signal(signal.SIGTERM)
    assert ns.wait_for("STOPPING=1")
    assert d.finish() == 0
    assert ready_at >= 1


def test_journal_stream_gets_priorities_not_timestamps(tmp_path):
    err = open(tmp_path / "stderr", "w+")
    st = os.fstat(err.fileno())
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}", "PINGMESH_CONFIG": ""}
    r = subprocess.run([BIN, "-d", "1", "-f", "1", f"http://127.0.0.1:{free_port()}/"],
                       stdout=subprocess.PIPE, stderr=err, text=True, timeout=20, env=env)
    assert r.returncode == 0
    err.seek(0)
    lines = err.read().splitlines()
    assert lines and all(re.match(r"<[3-7]>", l) for l in lines), lines
    assert any(l.startswith("<4>HTTP error 502 failure 1 of 1") for l in lines)


UNIT = os.environ.get("PINGMESH_UNIT", "build/pingmesh.service")  # made by meson


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_unit_verifies_clean(tmp_path):
    unit = tmp_path / "pingmesh.service"
    unit.write_text(re.sub(r"ExecStart=\S+", "ExecStart=" + os.path.abspath(BIN), open(UNIT).read()))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr  # it exits 0 on typos: read stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_unit_exposure_is_at_most_2():
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", UNIT],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for pingmesh.service: ([\d.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0


def test_repeated_failures_are_logged_once_then_counted(daemons):
    url = f"http://127.0.0.1:{free_port()}/"  # nobody listens
    quiet = daemons(["-d", "1", "-f", "4", url])
    loud = daemons(["-d", "1", "-f", "4", "-V", url])
    assert quiet.finish(timeout=20) == 0 and loud.finish(timeout=20) == 0
    assert quiet.stderr().count("HTTP error 502") == 1, quiet.stderr()
    assert "3 more failures like the last one logged" in quiet.stderr(), "the count is not lost"
    assert "Recorded 0 valid samples, 4 of 4 failures" in quiet.stdout()
    assert loud.stderr().count("HTTP error 502") == 4, "debug logs every failure"


def test_reload_of_a_probe_only_node_keeps_it_running(daemons, tmp_path):
    port = free_port()
    server = daemons(["-s", str(port), "-L", "Target"])
    assert server.wait_for(lambda: "just serving" in server.stdout())
    ini = tmp_path / "p.ini"
    write(ini, f"[node]\ndelay = 1\n[peers]\nurl = http://127.0.0.1:{port}/v1/ping\n")
    d = daemons(["-C", str(ini)])
    assert d.wait_for(lambda: "  1 " in d.stdout())
    write(ini, f"[node]\ndelay = 1\n[peers]\nurl = http://localhost:{port}/v1/ping\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: "peers: 1 added, 1 removed, 0 kept" in d.stderr()), d.stderr()
    assert d.wait_for(lambda: "Recorded" in d.stdout())
    time.sleep(2.5)
    assert d.proc.poll() is None, "replacing every peer must not end the daemon"
    assert "http://localhost" not in d.stdout().split("Recorded")[0]
    d.signal()
    assert d.finish() == 0
    assert d.stdout().count("Recorded") == 2
    server.signal()
    assert server.finish() == 0


def test_reload_with_a_broken_certificate_keeps_everything(daemons, tmp_path):
    import subprocess as sp
    certs = tmp_path / "certs"
    sp.run([os.path.join(ROOT, "tests", "certs", "make-certs.sh"), str(certs)], check=True,
           capture_output=True)
    port, tls_port = free_port(), free_port()
    ini = tmp_path / "p.ini"
    body = f"[node]\nport = {port}\ntls_port = {tls_port}\ndelay = 1\nkey = {certs}/server.key\n"
    write(ini, body + f"cert = {certs}/server.pem\n")
    d = daemons(["-C", str(ini)])
    assert d.wait_for(lambda: answering(port) is not None)
    (tmp_path / "broken.pem").write_text("not a certificate\n")
    write(ini, body + f"cert = {tmp_path}/broken.pem\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: "reload failed, the running configuration stays" in d.stderr())
    assert answering(port) is not None, "the listeners stay up"
    with socket.create_connection(("127.0.0.1", tls_port), timeout=2):
        pass
    d.signal()
    assert d.finish() == 0


def test_reload_says_what_needs_a_restart(daemons, tmp_path):
    port = free_port()
    ini = tmp_path / "p.ini"
    write(ini, f"[node]\nport = {port}\nprobe_self = no\n")
    d = daemons(["-C", str(ini)])
    assert d.wait_for(lambda: answering(port) is not None)
    write(ini, f"[node]\nport = {port}\nprobe_self = no\ndns_servers = 127.0.0.1:53\n")
    d.signal(signal.SIGHUP)
    assert d.wait_for(lambda: "dns_servers changed; it applies at the next start" in d.stderr())
    d.signal()
    assert d.finish() == 0


def test_two_peers_with_one_identity_are_warned_about():
    r = subprocess.run([BIN, "--check-config", "http://a.example/x#Same", "http://b.example/y#Same",
                        "http://c.example/z"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("has the same identity as a peer from command line") == 1, r.stderr
