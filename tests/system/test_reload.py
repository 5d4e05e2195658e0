"""SIGHUP is all or nothing, and applies what changed."""
import json
import shutil
import signal
import time
import urllib.request

import pytest

import netns
from conftest import free_port, wait_until

def state(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/peers", timeout=3) as r:
        return json.loads(r.read())


def answers(port):
    try:
        state(port)
        return True
    except OSError:
        return False


def reloaded(d, count):
    return wait_until(lambda: d.stderr().count("SIGHUP: reloading") >= count and
                ("peers:" in d.stderr().split("SIGHUP: reloading")[-1] or
                 "reload failed" in d.stderr().split("SIGHUP: reloading")[-1]))


def test_a_refused_reload_changes_nothing(daemons, tmp_path, certs):
    port, other, tls_port = free_port(), free_port(), free_port()
    bad_ca = tmp_path / "bad.pem"
    bad_ca.write_text("this is readable, and not PEM\n")
    ini = tmp_path / "p.ini"
    base = (f"cert = {certs}/server.pem\nkey = {certs}/server.key\n"
            f"[tls]\nca_file = {certs}/ca.pem\n"
            f"[peers]\nurl = https://127.0.0.1:{tls_port}/v1/ping\n")
    ini.write_text(f"[node]\nport = {port}\ntls_port = {tls_port}\ndelay = 1\n" + base)
    d = daemons(["-C", str(ini)])
    assert wait_until(lambda: answers(port))
    # A new port, and a CA file that only fails once the peers are built.
    ini.write_text(f"[node]\nport = {other}\ntls_port = {tls_port}\ndelay = 1\n" +
                   base.replace(f"{certs}/ca.pem", str(bad_ca)))
    d.signal(signal.SIGHUP)
    assert wait_until(lambda: "reload failed" in d.stderr()), d.stderr()
    assert answers(port), "the old listener stays"
    assert not answers(other), "the new one was never left open"
    assert state(port)["SrvPort"] == port
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


def test_a_renewed_ca_file_applies_at_the_reload(daemons, tmp_path, certs):
    tls_port = free_port()
    trust = tmp_path / "trust.pem"
    shutil.copy(certs / "selfsigned.pem", trust)  # not the CA that signed the server
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\ntls_port = {tls_port}\ndelay = 1\noutput = json\n"
                   f"cert = {certs}/server.pem\nkey = {certs}/server.key\n"
                   f"[tls]\nca_file = {trust}\n[peers]\nurl = https://127.0.0.1:{tls_port}/v1/ping\n")
    d = daemons(["-C", str(ini)])

    def samples():
        return [json.loads(l) for l in d.out if l.startswith('{"type":"sample"')]

    assert wait_until(lambda: len(samples()) >= 2, timeout=15), d.stderr()
    assert all(s["reason"] == "tls_verify" for s in samples())
    shutil.copy(certs / "ca.pem", trust)  # renewed in place: same name, new time
    seen = len(samples())
    d.signal(signal.SIGHUP)
    assert wait_until(lambda: any(s["ok"] for s in samples()[seen:]), timeout=15), d.stderr()
    first_ok = next(i for i, s in enumerate(samples()) if s["ok"])
    assert wait_until(lambda: len(samples()) >= first_ok + 3)
    assert all(s["ok"] for s in samples()[first_ok:])
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


@pytest.mark.parametrize("key,value", [("spool_max_bytes", "1048576"),
                                       ("imds_endpoint", "http://127.0.0.1:1"),
                                       ("profile", "other"),
                                       ("credentials_file", "/nonexistent/credentials")])
def test_every_cloudwatch_key_that_changes_is_said(daemons, tmp_path, key, value):
    port = free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\n[cloudwatch]\nenabled = no\n")
    d = daemons(["-C", str(ini)])
    assert wait_until(lambda: answers(port))
    ini.write_text(f"[node]\nport = {port}\n[cloudwatch]\nenabled = no\n{key} = {value}\n")
    d.signal(signal.SIGHUP)
    assert reloaded(d, 1), d.stderr()
    assert "the [cloudwatch] settings changed" in d.stderr(), (key, d.stderr())
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


@pytest.fixture
def namespace():
    """A network namespace of our own, with an address of its own on its loopback."""
    with netns.namespaces("node") as ns:
        netns.ip("-n", ns["node"], "addr", "add", "198.18.0.1/32", "dev", "lo")
        yield ns["node"]


def test_a_serve_only_node_that_loses_its_listener_fails(tmp_path, namespace):
    """Its address is gone: the new listener cannot be bound, nor the old one again.
    It must end non-zero, so that Restart=on-failure brings it back."""
    ini = tmp_path / "p.ini"
    ini.write_text("[node]\nlisten = 198.18.0.1\nport = 8080\nprobe_self = no\n")
    host = netns.Host(namespace)
    proc = host.daemon("-C", str(ini))
    try:
        time.sleep(1)
        assert proc.poll() is None
        netns.ip("-n", namespace, "addr", "del", "198.18.0.1/32", "dev", "lo")
        ini.write_text("[node]\nlisten = 198.18.0.1\nport = 8081\nprobe_self = no\n")
        proc.send_signal(signal.SIGHUP)
        rc = proc.wait(timeout=10)
        err = proc.stderr.read()
        assert rc != 0, err
        assert "cannot reopen the previous listeners either" in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
