"""A minimal Debian 12 booted with systemd-nspawn, for tests of the unit and the packages.

The root filesystem is made once with mmdebstrap from Debian's packages and cached in
/var/cache/pingmesh-nspawn (PINGMESH_NSPAWN_CACHE); each test unpacks it fresh and boots
it with a private network (loopback only)."""
import os
import shutil
import subprocess
import tarfile
import time

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CACHE = os.environ.get("PINGMESH_NSPAWN_CACHE", "/var/cache/pingmesh-nspawn")
PACKAGES = ("systemd,systemd-sysv,dbus,libuv1,libc-ares2,libmbedtls14,libmbedx509-1,"
            "libmbedcrypto7,libinih1,curl,ca-certificates")

needs_nspawn = pytest.mark.skipif(
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




def unpack_rootfs(root):
    root.mkdir()
    with tarfile.open(rootfs_tar()) as t:
        t.extractall(root, numeric_owner=True)
