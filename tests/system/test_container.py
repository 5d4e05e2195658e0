"""The container image (packaging/container): built with podman from this build's binary,
run on the host's loopback (--network=host, a listener on 127.0.0.1 only).

podman's settings for this host are files of our own (CONTAINERS_CONF,
CONTAINERS_STORAGE_CONF), so /etc is left as it was: runc (crun fails on hybrid cgroups
here), cgroupfs, events in a file, ulimits within the host's hard limits (podman's
defaults exceed them), and overlay storage in /var/cache/pingmesh-container (about four
times faster than vfs; kept, so a second run reuses the Debian packages and layers)."""
import json
import os
import re
import resource
import shutil
import ssl
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, free_port, wait_until

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUILD_SH = os.path.join(ROOT, "packaging", "container", "build.sh")
CACHE = os.environ.get("PINGMESH_CONTAINER_CACHE", "/var/cache/pingmesh-container")
RUN = "/run/pingmesh-container"  # podman's state of the moment, kept out of /run/libpod
IMAGE = "localhost/pingmesh:test"
UID = 10001
# The static build's image is about 5.6 MB, a dynamic build's less than 7.9 MB (it takes
# libuv, c-ares, mbedTLS and inih along; bench/README, 2026-12-01). More means the image took
# what it does not need.
MAX_IMAGE_BYTES = 9_500_000

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(p) for p in ("podman", "runc", "mmdebstrap")),
    reason="needs root, podman, runc and mmdebstrap")


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory):
    d = tmp_path_factory.mktemp("podman")
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    # podman itself runs with a lower process limit than the shell here (32768): a small
    # one, since the daemon starts no process.
    (d / "containers.conf").write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=4096:4096"]\n'
        "[engine]\n"
        'runtime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'events_logfile_path = "{RUN}/events.log"\ntmp_dir = "{RUN}/libpod"\n'
        "[network]\n"
        f'network_config_dir = "{RUN}/networks"\n')
    (d / "storage.conf").write_text(
        "[storage]\n"
        f'driver = "overlay"\ngraphroot = "{CACHE}/storage"\n'
        f'runroot = "{RUN}/storage"\n')
    env = dict(os.environ, CONTAINERS_CONF=str(d / "containers.conf"),
               CONTAINERS_STORAGE_CONF=str(d / "storage.conf"))
    return env


@pytest.fixture(scope="module")
def podman(podman_env):
    names = []

    def run(*args, check=True, timeout=60):
        if args[0] in ("run", "create") and "--name" in args:
            names.append(args[args.index("--name") + 1])
        r = subprocess.run(["podman", *args], capture_output=True, text=True,
                           env=podman_env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {r.returncode}\n{r.stderr}")
        return r

    yield run
    for n in names:
        run("rm", "-f", "-t", "0", n, check=False)
    # Earlier builds' layers, now untagged: storage stays bounded across runs.
    run("image", "prune", "-f", check=False)


@pytest.fixture(scope="module")
def image(podman_env, podman):
    r = subprocess.run([BUILD_SH, os.path.dirname(os.path.abspath(BIN)), IMAGE],
                       capture_output=True, text=True, env=podman_env, timeout=900)
    if r.returncode != 0 and "could not fetch Debian's packages" in r.stderr:
        # No Debian mirror and nothing cached: nothing to build from, not our failure.
        pytest.skip(r.stderr[-500:])
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    return IMAGE


def container_pid(podman, name):
    return int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)


def proc_status(pid):
    return dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines())


def test_image_is_small_and_runs_as_a_user(podman, image):
    info = json.loads(podman("image", "inspect", image).stdout)[0]
    assert info["Size"] < MAX_IMAGE_BYTES, info["Size"]
    assert info["Config"]["User"] == f"{UID}:{UID}"
    assert "8080/tcp" in info["Config"]["ExposedPorts"]
    assert info["Config"]["Entrypoint"] == ["/usr/bin/pingmesh"]


def test_ca_certificates_for_https_probes(podman, image, tmp_path):
    name = f"pingmesh-test-ca-{os.getpid()}"
    podman("create", "--name", name, image)
    bundle = tmp_path / "ca.crt"
    podman("cp", f"{name}:/etc/ssl/certs/ca-certificates.crt", str(bundle))
    podman("rm", name)
    ctx = ssl.create_default_context(cafile=str(bundle))
    assert ctx.cert_store_stats()["x509_ca"] > 100  # Debian's Mozilla set
    # The daemon finds it at its default --ca-file for an https peer.
    r = podman("run", "--rm", "--network=host", image, "--check-config",
               "https://pingmesh.example.net/v1/ping", check=False)
    assert r.returncode == 0, r.stderr
    assert "ca_file = /etc/ssl/certs/ca-certificates.crt" in r.stdout


def test_configured_by_ini_and_environment_stops_on_sigterm(podman, image, tmp_path):
    port = free_port()
    ini = tmp_path / "pingmesh.ini"
    # The mounted file sets where it listens (the image's default is 8080 on every
    # address) and a slow delay that the environment overrides.
    ini.write_text(f"[node]\nlisten = 127.0.0.1\nport = {port}\ndelay = 30\n")
    ini.chmod(0o644)
    name = f"pingmesh-test-{os.getpid()}"
    podman("run", "-d", "--name", name, "--network=host",
           "-e", "REP_LOCATION=Boxed", "-e", "PINGMESH_DELAY=1",
           "-v", f"{ini}:/etc/pingmesh/pingmesh.ini:ro", image)

    def page():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ping", timeout=2) as r:
            return r.read().decode()

    assert wait_until(lambda: "Served from Boxed" in page(), timeout=15), \
        podman("logs", name).stderr

    # PID 1 of its namespace, as our user.
    status = proc_status(container_pid(podman, name))
    assert status["NSpid"].split()[-1] == "1", status["NSpid"]
    assert status["Uid"].split()[0] == str(UID)

    # Samples on stdout, a second apart (PINGMESH_DELAY wins over the file's 30 s).
    sample = re.compile(r"^ *\d+ +[\d.]+ msec +Boxed 127\.0\.0\.1$", re.M)
    logs = lambda: podman("logs", name).stdout
    assert wait_until(lambda: len(sample.findall(logs())) >= 3, timeout=8), logs()

    # podman stop: SIGTERM, then SIGKILL after 10 s. The daemon must end at once, cleanly.
    start = time.monotonic()
    podman("stop", "-t", "10", name, timeout=30)
    took = time.monotonic() - start
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    r = podman("logs", name)
    assert took < 5, took
    assert state["ExitCode"] == 0, (state, r.stdout, r.stderr)
    assert "received terminated signal, terminating" in r.stdout
    assert re.search(r"Recorded \d+ samples in \d+s, average values:", r.stdout), r.stdout
