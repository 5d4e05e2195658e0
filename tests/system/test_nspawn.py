"""The unit under real systemd: a minimal Debian booted with systemd-nspawn.

The root filesystem is made once with mmdebstrap from Debian's packages and cached in
/var/cache/pingmesh-nspawn (PINGMESH_NSPAWN_CACHE); each run unpacks it fresh, installs
the built binary, the unit and the example configuration, and boots it with a private
network (loopback only)."""
import os
import re
import shutil
import subprocess
import tarfile
import time

import pytest

from conftest import BIN

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CACHE = os.environ.get("PINGMESH_NSPAWN_CACHE", "/var/cache/pingmesh-nspawn")
PACKAGES = ("systemd,systemd-sysv,dbus,libuv1,libc-ares2,libmbedtls14,libmbedx509-1,"
            "libmbedcrypto7,libinih1,curl,ca-certificates")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("mmdebstrap"),
    reason="needs root, systemd-nspawn and mmdebstrap")


def rootfs_tar():
    tar = os.path.join(CACHE, "rootfs.tar")
    stamp = os.path.join(CACHE, "packages")
    if not (os.path.exists(tar) and os.path.exists(stamp) and open(stamp).read() == PACKAGES):
        os.makedirs(CACHE, exist_ok=True)
        r = subprocess.run(["mmdebstrap", "--variant=minbase", f"--include={PACKAGES}",
                            "bookworm", tar[:-4] + ".new.tar", "http://deb.debian.org/debian"],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:  # no Debian mirror: nothing to boot, which is not our failure
            pytest.skip("mmdebstrap could not build the root filesystem: " + r.stderr[-500:])
        os.replace(tar[:-4] + ".new.tar", tar)
        open(stamp, "w").write(PACKAGES)
    return tar


class Machine:
    def __init__(self, root, name):
        # nspawn keeps per-machine state under /run/systemd/nspawn and insists that it
        # be a tmpfs it may clean; give it one of its own.
        os.makedirs("/run/systemd/nspawn", exist_ok=True)
        if subprocess.run(["mountpoint", "-q", "/run/systemd/nspawn"]).returncode != 0:
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd/nspawn"], check=True)
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", root, "-b", "--register=no", "--keep-unit",
             "--console=pipe", "--private-network", "-M", name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.leader = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
            if kids:
                self.leader = kids[0]
                state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.5)
        raise RuntimeError("the container did not boot")

    def run(self, *cmd, check=True):
        r = subprocess.run(["nsenter", "-t", self.leader, "-a", *cmd], capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def show(self, prop):
        return self.run("systemctl", "show", "-p", prop, "--value", "pingmesh").stdout.strip()

    def journal(self):
        return self.run("journalctl", "-u", "pingmesh", "--no-pager", "-o", "cat").stdout

    def wait(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.5)
        return False

    def stop(self):
        self.run("systemctl", "poweroff", check=False)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def machine(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(rootfs_tar()) as t:
        t.extractall(root, numeric_owner=True)
    shutil.copy(BIN, root / "usr/bin/pingmesh")
    # The unit meson made, with the paths a Debian package uses.
    unit = open(os.environ.get("PINGMESH_UNIT", "build/pingmesh.service")).read()
    unit = re.sub(r"ExecStart=.*", "ExecStart=/usr/bin/pingmesh --config /etc/pingmesh/pingmesh.ini",
                  unit)
    (root / "etc/systemd/system/pingmesh.service").write_text(unit)
    (root / "etc/pingmesh").mkdir()
    shutil.copy(os.path.join(ROOT, "packaging", "pingmesh.ini"), root / "etc/pingmesh/")
    # A short watchdog so the test need not wait 30 s for it.
    dropin = root / "etc/systemd/system/pingmesh.service.d"
    dropin.mkdir(parents=True)
    (dropin / "test.conf").write_text("[Service]\nWatchdogSec=3s\nRestartSec=1s\n")
    m = Machine(str(root), "pingmesh-test")
    yield m, root
    m.stop()


def test_service_lifecycle_under_systemd(machine):
    m, root = machine
    m.run("systemctl", "start", "pingmesh")
    assert m.show("ActiveState") == "active"
    assert "starting server on port 8080" in m.journal()
    # Type=notify: "Started" is logged only after READY=1; STATUS= comes from the daemon.
    assert m.wait(lambda: "1 peers" in m.show("StatusText")), m.show("StatusText")
    assert m.wait(lambda: "  1 " in m.journal()), m.journal()  # the self-probe's first line
    r = m.run("curl", "-sS", "http://127.0.0.1:8080/v1/ping")
    assert "pingResponse" in r.stdout

    # The watchdog: a stopped loop sends no WATCHDOG=1, and systemd restarts the service.
    pid = m.show("MainPID")
    m.run("systemctl", "kill", "--signal=SIGSTOP", "pingmesh")
    assert m.wait(lambda: m.show("MainPID") not in ("0", pid) and m.show("ActiveState") == "active",
                  timeout=30), m.journal()
    assert "Watchdog timeout" in m.run("journalctl", "--no-pager", "-o", "cat").stdout

    # Reload applies a changed file.
    (root / "etc/pingmesh/pingmesh.ini").write_text(
        "[node]\nport = 8080\ndelay = 1\n[peers]\nurl = http://[::1]:8080/v1/ping#Reloaded\n")
    m.run("systemctl", "reload", "pingmesh")
    assert m.wait(lambda: "peers: 1 added, 1 removed, 0 kept" in m.journal()), m.journal()
    assert m.show("ActiveState") == "active"
    assert m.wait(lambda: re.search(r"msec +\S+ \[::1\]\n", m.journal())), m.journal()

    # A clean stop.
    m.run("systemctl", "stop", "pingmesh")
    assert m.show("ActiveState") == "inactive"
    assert m.show("Result") == "success"
    assert m.show("ExecMainStatus") == "0"
    assert "received terminated signal, terminating" in m.journal()
