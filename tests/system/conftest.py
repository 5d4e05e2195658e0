"""Helpers for running the built pingmesh daemon on loopback."""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

BIN = os.environ.get("PINGMESH_BIN", "build/pingmesh")
os.environ["PINGMESH_CONFIG"] = ""  # the tests' own runs never read the machine's file


def wait_until(predicate, timeout=15, step=0.1):
    """Polls predicate until it holds or timeout seconds pass; a connection refused (the
    daemon not listening yet) counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port that was free a moment ago on both 127.0.0.1 and ::1. It is taken below the
    kernel's ephemeral range: there, any test's outgoing connection (the daemons probe
    all the time) could take it before the daemon meant to listen on it binds it."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(10000, max(10001, low))
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4, \
                    socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                s4.bind(("127.0.0.1", port))
                s6.bind(("::1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


class Daemon:
    """A running pingmesh with its stdout and stderr collected line by line."""

    def __init__(self, args, env=None, preexec=None):
        self.args = [str(a) for a in args]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PINGMESH_", "REP_"))}
        full_env["PINGMESH_CONFIG"] = ""  # never the machine's /etc/pingmesh/pingmesh.ini
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=full_env,
                                     preexec_fn=preexec)
        self.out, self.err = [], []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out)),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err))]
        for t in self._threads:
            t.daemon = True
            t.start()

    @staticmethod
    def _pump(stream, into):
        for line in stream:
            into.append(line)

    def wait_for(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                time.sleep(0.1)
                return predicate()
            time.sleep(0.02)
        return False

    def lines_matching(self, pattern):
        rx = re.compile(pattern)
        return [l for l in self.out if rx.match(l)]

    def signal(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)

    def finish(self, timeout=15):
        rc = self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=5)
        return rc

    def stdout(self):
        return "".join(self.out)

    def stderr(self):
        return "".join(self.err)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


CERTS_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "certs", "make-certs.sh")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """The test certificates (tests/certs/make-certs.sh), made once per test file."""
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["/bin/sh", CERTS_SCRIPT, str(d)], check=True, capture_output=True)
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test, for fixtures that explain a failure."""
    outcome = yield
    setattr(item, "report_" + call.when, outcome.get_result())


@pytest.fixture
def daemons(request):
    started = []

    def start(args, env=None, preexec=None):
        d = Daemon(args, env, preexec)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        # What the daemons said, shown with the failure (an exit code alone says little).
        for i, d in enumerate(started):
            print(f"--- daemon {i} ({' '.join(d.args)}) stderr, last 3000 bytes:")
            print(d.stderr()[-3000:])


@pytest.fixture
def stall_server():
    """Accepts connections on 127.0.0.1 and never answers."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(timeout=2)
    for c in held:
        c.close()
    srv.close()
