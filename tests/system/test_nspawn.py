"""The unit under real systemd: a minimal Debian booted with systemd-nspawn.

The root filesystem is made once with mmdebstrap from Debian's packages and cached in
/var/cache/pingmesh-nspawn (PINGMESH_NSPAWN_CACHE); each run unpacks it fresh, installs
the built binary, the unit and the example configuration, and boots it with a private
network (loopback only)."""
import os
import re
import shutil

import pytest

from conftest import BIN
from nspawn import ROOT, Machine, needs_nspawn, unpack_rootfs

pytestmark = needs_nspawn

@pytest.fixture
def machine(tmp_path):
    root = tmp_path / "root"
    unpack_rootfs(root)
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
