"""Network namespaces that a test makes and removes: hosts of their own, joined by veth
pairs (and a bridge), with addresses from 198.18.0.0/15, the benchmarking range, used
only inside them."""
import contextlib
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import BIN


def ip(*args):
    return subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def namespaces(*roles):
    """{role: namespace name}, each with its loopback up; removed at the end. Skips the
    test where namespaces cannot be made (not root, no iproute2)."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for network namespaces")
    tag = uuid.uuid4().hex[:6]
    names = {r: f"pm-{r}-{tag}" for r in roles}
    made = []
    try:
        try:
            for name in names.values():
                ip("netns", "add", name)
                made.append(name)
                ip("-n", name, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as e:
            pytest.skip(f"cannot make network namespaces: {e.stderr.decode().strip()}")
        yield names
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def link(ns_a, addr_a, ns_b, addr_b=None, master=None):
    """A veth pair from ns_a (with addr_a, "198.18.0.1/24") to ns_b (with addr_b, or
    enslaved to the bridge master there)."""
    end_a, end_b = "v" + uuid.uuid4().hex[:10], "v" + uuid.uuid4().hex[:10]
    ip("-n", ns_a, "link", "add", end_a, "type", "veth", "peer", "name", end_b, "netns", ns_b)
    ip("-n", ns_a, "addr", "add", addr_a, "dev", end_a)
    ip("-n", ns_a, "link", "set", end_a, "up")
    if addr_b:
        ip("-n", ns_b, "addr", "add", addr_b, "dev", end_b)
    if master:
        ip("-n", ns_b, "link", "set", end_b, "master", master)
    ip("-n", ns_b, "link", "set", end_b, "up")
    return end_a


def clean_env():
    """The tests' environment without the machine's pingmesh settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
    env["PINGMESH_CONFIG"] = ""
    return env


class Host:
    """Processes started inside one namespace; stop_all kills those still running."""

    def __init__(self, ns):
        self.ns = ns
        self.procs = []

    def start(self, *args, ready=False):
        """args run in the namespace; ready: wait for the "ready" line helpers print."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, *args], env=clean_env(),
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if ready:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        self.procs.append(p)
        return p

    def daemon(self, *args):
        return self.start(BIN, *args)

    def curl(self, *args):
        """(status code, body) of curl run inside the namespace."""
        out = subprocess.run(["ip", "netns", "exec", self.ns, "curl", "-s", "-m", "5", "-o",
                              "-", "-w", "\n%{http_code}", *args], capture_output=True,
                             text=True)
        body, _, code = out.stdout.rpartition("\n")
        return int(code or 0), body

    def get(self, url):
        return self.curl(url)[1]

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
