"""The .deb on a real system: built by scripts/package.sh (lintian must pass), installed
with apt-get into a minimal Debian 12 booted with systemd-nspawn, then reloaded, removed,
purged, reinstalled, and upgraded with an edited conffile and a state directory in use.
The .rpm, where rpm is at hand, is checked for its files and scriptlets."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from nspawn import ROOT, Machine, needs_nspawn, unpack_rootfs

pytestmark = [needs_nspawn, pytest.mark.skipif(not shutil.which("dpkg-deb"),
                                               reason="needs dpkg-deb")]
OUT = os.environ.get("PINGMESH_PKG_OUT", os.path.join(ROOT, "build", "packages"))
PING = "http://127.0.0.1:8080/v1/ping"


@pytest.fixture(scope="module")
def packages():
    """{"deb": path, "rpm": path or None}, built once for the module."""
    env = dict(os.environ, PINGMESH_PKG_OUT=OUT)
    r = subprocess.run([os.path.join(ROOT, "scripts", "package.sh")], env=env,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    debs = [d for d in glob.glob(os.path.join(OUT, "pingmesh_*.deb"))]
    rpms = glob.glob(os.path.join(OUT, "pingmesh-*.rpm"))
    assert len(debs) == 1, debs
    return {"deb": debs[0], "rpm": rpms[0] if rpms else None}


@pytest.fixture(scope="module")
def static_deb():
    """pingmesh-static, the static build's package."""
    env = dict(os.environ, PINGMESH_PKG_OUT=OUT)
    r = subprocess.run([os.path.join(ROOT, "scripts", "package.sh"), "--static"], env=env,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    debs = glob.glob(os.path.join(OUT, "pingmesh-static_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture
def machine(tmp_path):
    root = tmp_path / "root"
    unpack_rootfs(root)
    m = Machine(str(root), "pingmesh-pkg")
    yield m, root
    m.stop()


def apt(m, *args):
    return m.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
                 "-o", "Dpkg::Options::=--force-confold", *args)


def put_deb(root, deb, name):
    shutil.copy(deb, root / "root" / name)  # not /tmp: the booted system mounts its own
    return "/root/" + name


def serving(m):
    r = m.run("curl", "-sS", "-m", "2", PING, check=False)
    return "pingResponse" in r.stdout


def test_install_reload_remove_purge_reinstall(packages, machine):
    m, root = machine
    deb = put_deb(root, packages["deb"], "pingmesh.deb")
    apt(m, "install", deb)
    # Enabled and started by the install; Type=notify: active only after READY=1.
    assert m.run("systemctl", "is-enabled", "pingmesh").stdout.strip() == "enabled"
    assert m.wait(lambda: m.show("ActiveState") == "active", timeout=10), m.journal()
    assert m.wait(lambda: serving(m), timeout=10), m.journal()
    # The default configuration probes the node itself; its samples reach the journal.
    assert m.wait(lambda: re.search(r"msec +\S+ 127\.0\.0\.1", m.journal())), m.journal()
    # One version: meson's, in the package and in the binary.
    version = m.run("dpkg-query", "-W", "-f=${Version}", "pingmesh").stdout
    assert m.run("pingmesh", "--version").stdout.strip() == "pingmesh " + version.split("-")[0]
    man = m.run("sh", "-c", "ls /usr/share/man/man*/pingmesh*").stdout
    assert "pingmesh.8.gz" in man, man

    ini = root / "etc/pingmesh/pingmesh.ini"
    ini.write_text(ini.read_text() + "\n[peers]\nurl = http://[::1]:8080/v1/ping#Reloaded\n")
    m.run("systemctl", "reload", "pingmesh")
    assert m.wait(lambda: "Reloaded" in m.journal()), m.journal()
    assert m.show("ActiveState") == "active"

    apt(m, "remove", "pingmesh")
    assert m.show("ActiveState") in ("inactive", "")
    assert not serving(m)
    assert not (root / "usr/bin/pingmesh").exists()
    assert ini.exists(), "remove keeps the configuration"

    apt(m, "purge", "pingmesh")
    for gone in ("etc/pingmesh", "var/lib/pingmesh", "var/lib/private/pingmesh"):
        assert not os.path.lexists(root / gone), gone
    status = m.run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "pingmesh", check=False)
    assert status.stdout.strip() in ("", "un"), status.stdout

    apt(m, "install", deb)
    assert m.wait(lambda: serving(m), timeout=10), m.journal()
    assert (root / "etc/pingmesh/pingmesh.ini").exists()


def previous_deb(deb, tmp_path):
    """The package before this one: the last build kept in the cache if there is one,
    else this build repacked with a lower version (so the upgrade itself is exercised)."""
    cached = os.path.join(os.environ.get("PINGMESH_NSPAWN_CACHE", "/var/cache/pingmesh-nspawn"),
                          "previous.deb")
    mine = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True,
                          text=True).stdout.strip()
    if os.path.exists(cached):
        theirs = subprocess.run(["dpkg-deb", "-f", cached, "Version"], capture_output=True,
                                text=True).stdout.strip()
        if subprocess.run(["dpkg", "--compare-versions", theirs, "lt", mine]).returncode == 0:
            return cached, theirs
    tree = tmp_path / "previous"
    subprocess.run(["dpkg-deb", "-R", deb, str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    older = mine + "~previous"
    control.write_text(re.sub(r"(?m)^Version: .*$", "Version: " + older, control.read_text()))
    out = tmp_path / "previous.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(out)],
                   check=True, capture_output=True)
    return str(out), older


def test_upgrade_keeps_the_conffile_and_the_state(packages, machine, tmp_path):
    m, root = machine
    old, old_version = previous_deb(packages["deb"], tmp_path)
    print(f"upgrading from {old_version}")
    apt(m, "install", put_deb(root, old, "old.deb"))
    assert m.wait(lambda: serving(m), timeout=10), m.journal()
    # A person's edit, a peer added through the API (kept in the state directory), and a
    # batch waiting in the spool.
    ini = root / "etc/pingmesh/pingmesh.ini"
    edited = ini.read_text() + "\n; edited by the operator\n"
    ini.write_text(edited)
    r = m.run("curl", "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-d",
              '{"url": "http://127.0.0.1:8080/v1/ping?kept", "name": "kept"}',
              "http://127.0.0.1:8080/v1/peers")
    assert "kept" in r.stdout, r.stdout
    state = root / "var/lib/private/pingmesh"
    assert m.wait(lambda: (state / "api-peers.json").exists()), m.journal()
    spool = state / "spool"
    spool.mkdir(exist_ok=True)
    (spool / "batch-test").write_bytes(b"waiting to be sent")
    pid = m.show("MainPID")

    apt(m, "install", put_deb(root, packages["deb"], "new.deb"))
    assert m.wait(lambda: m.show("MainPID") not in ("0", pid) and serving(m), timeout=15), \
        "the upgrade restarts the service"
    assert ini.read_text() == edited
    assert (spool / "batch-test").read_bytes() == b"waiting to be sent"
    peers = m.run("curl", "-sS", "http://127.0.0.1:8080/v1/peers").stdout
    assert '"Identity": "kept"' in peers, peers
    cache = os.environ.get("PINGMESH_NSPAWN_CACHE", "/var/cache/pingmesh-nspawn")
    shutil.copy(packages["deb"], os.path.join(cache, "previous.deb"))  # the next run's "old"


def test_the_static_package_needs_only_libc_and_takes_the_place_of_the_other(
        packages, static_deb, machine):
    m, root = machine
    depends = subprocess.run(["dpkg-deb", "-f", static_deb, "Depends"], capture_output=True,
                             text=True).stdout
    names = {d.strip().split(" ")[0] for d in depends.split(",")}
    assert names == {"libc6", "init-system-helpers"}, depends
    apt(m, "install", put_deb(root, packages["deb"], "pingmesh.deb"))
    assert m.wait(lambda: serving(m), timeout=10), m.journal()
    apt(m, "install", put_deb(root, static_deb, "pingmesh-static.deb"))
    status = m.run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "pingmesh", check=False)
    assert not status.stdout.startswith("ii"), "pingmesh-static replaces pingmesh"
    assert m.wait(lambda: serving(m), timeout=15), m.journal()
    assert (root / "etc/pingmesh/pingmesh.ini").exists()
    apt(m, "purge", "pingmesh-static")
    assert not serving(m)
    assert not os.path.lexists(root / "etc/pingmesh")


@pytest.mark.skipif(not shutil.which("rpm"), reason="needs rpm")
def test_the_rpm_has_its_files_and_scriptlets(packages):
    assert packages["rpm"], "scripts/package.sh made no .rpm"
    files = subprocess.run(["rpm", "-qlp", packages["rpm"]], capture_output=True,
                           text=True).stdout.split()
    for f in ("/usr/bin/pingmesh", "/etc/pingmesh/pingmesh.ini", "/usr/share/man/man8/pingmesh.8.gz"):
        assert f in files, (f, files)
    assert any(f.endswith("/pingmesh.service") for f in files), files
    conf = subprocess.run(["rpm", "-qcp", packages["rpm"]], capture_output=True, text=True)
    assert "/etc/pingmesh/pingmesh.ini" in conf.stdout
    scripts = subprocess.run(["rpm", "--scripts", "-qp", packages["rpm"]], capture_output=True,
                             text=True).stdout
    assert re.search(r"postinstall scriptlet[\s\S]*systemctl[\s\S]*preset", scripts), scripts
    assert re.search(r"preuninstall scriptlet[\s\S]*systemctl[\s\S]*(stop|disable)", scripts), scripts
    assert re.search(r"postuninstall scriptlet[\s\S]*try-restart", scripts), scripts
