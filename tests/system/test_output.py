"""Output never stops the loop: a stdout or stderr nobody reads costs lines, never
probes, answers or signals; descriptors 0-2 closed at start are not a problem."""
import fcntl
import json
import os
import select
import signal
import subprocess
import time
import urllib.request

from conftest import BIN, free_port

F_SETPIPE_SZ = 1031


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
    e["PINGMESH_CONFIG"] = ""
    return e


def small_pipe():
    """A pipe of one page, non-blocking at our end: fills within a second."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    return r, w


def fill(w):
    """Writes into the pipe until it is full, so the next write of anyone blocks."""
    flags = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"x" * 512 + b"\n")
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, flags)


def get(port, path, timeout=2):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read()


def serving(port, timeout=10):
    """True once the daemon answers /v1/ping."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get(port, "/v1/ping")
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stops_within(proc, seconds):
    """SIGTERM works and the stop takes at most `seconds`, exit status 0."""
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - t < seconds


def ping_times(port, n):
    times = []
    for _ in range(n):
        t = time.monotonic()
        get(port, "/v1/ping")
        times.append(time.monotonic() - t)
    return times


def read_all(fd, timeout=2):
    """Everything readable from fd now, without waiting for its writer to close."""
    os.set_blocking(fd, False)
    data = b""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def wait_for_peers(port, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    state = {"StdoutDropped": None, "StderrDropped": None}
    while time.monotonic() < deadline:
        try:
            state = json.loads(get(port, "/v1/peers"))
        except OSError:  # not listening yet
            time.sleep(0.1)
            continue
        if predicate(state):
            return state
        time.sleep(0.2)
    raise AssertionError(f"not reached in {timeout} s: dropped "
                         f"{state['StdoutDropped']}, {state['StderrDropped']}")


def many_self_peers(port, n=100):
    return [f"http://127.0.0.1:{port}/v1/ping?{i}" for i in range(n)]


def test_stdout_nobody_reads_costs_lines_not_probes_or_signals():
    port = free_port()
    r, w = small_pipe()
    err_r, err_w = os.pipe()
    proc = subprocess.Popen([BIN, "-s", str(port), "-d", "1", "--format", "json",
                             "--shutdown-timeout", "2", *many_self_peers(port)],
                            stdout=w, stderr=err_w, env=env())
    os.close(w)
    os.close(err_w)
    try:
        # 100 json lines a second fill one page and the daemon's own buffer in seconds.
        state = wait_for_peers(port, lambda s: s["StdoutDropped"] > 0, timeout=40)
        pings_before = sum(p["Pings"] for p in state["Peers"])
        times = sorted(ping_times(port, 200))
        assert times[int(len(times) * 0.99)] < 0.05, times[-5:]
        time.sleep(2)  # probes go on while nobody reads
        state = json.loads(get(port, "/v1/peers"))
        assert sum(p["Pings"] for p in state["Peers"]) >= pings_before + 20
        stops_within(proc, 4)  # bounded by the shutdown timeout, whatever the reader does
    finally:
        if proc.poll() is None:
            proc.kill()
    out = read_all(r)
    os.close(r)
    assert out.endswith(b"\n")  # whole lines only: what was dropped was dropped whole
    for line in out.decode().splitlines():
        assert json.loads(line)["type"] in ("sample", "summary"), line
    os.close(err_r)


def test_dropped_lines_are_reported_once_output_flows_again():
    port = free_port()
    r, w = small_pipe()
    err_r, err_w = os.pipe()
    proc = subprocess.Popen([BIN, "-s", str(port), "-d", "1", "--format", "json",
                             *many_self_peers(port)], stdout=w, stderr=err_w, env=env())
    os.close(w)
    os.close(err_w)
    try:
        state = wait_for_peers(port, lambda s: s["StdoutDropped"] > 0, timeout=40)
        dropped = state["StdoutDropped"]
        assert b"dropped" not in read_all(err_r, timeout=0.3)  # not while it is still stuck
        # The reader wakes up: keep reading until the buffer is out and the count said.
        deadline = time.monotonic() + 15
        err = b""
        while time.monotonic() < deadline and b"lines of output dropped" not in err:
            read_all(r, timeout=0.2)
            err += read_all(err_r, timeout=0.1)
        assert b"lines of output dropped: stdout's reader was too slow" in err, err
        said = int(err.split(b" lines of output dropped")[0].split()[-1])
        assert said >= dropped
        # Said once per stall, not per line.
        assert err.count(b"lines of output dropped") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        os.close(r)
        os.close(err_r)


def test_stderr_nobody_reads_does_not_freeze_the_daemon():
    port = free_port()
    err_r, err_w = small_pipe()
    fill(err_w)  # the next log line would block a blocking writer
    proc = subprocess.Popen([BIN, "-s", str(port), "-d", "1", "-V", "--shutdown-timeout", "1",
                             f"http://127.0.0.1:{port}/v1/ping"],
                            stdout=subprocess.DEVNULL, stderr=err_w, env=env())
    os.close(err_w)
    try:
        assert serving(port)
        for _ in range(20):  # each reload logs a few lines
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        times = sorted(ping_times(port, 100))
        assert times[-1] < 0.5
        # What fits the buffer is kept, and comes out once the reader reads.
        err = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and err.count(b"SIGHUP: reloading") < 20:
            err += read_all(err_r, timeout=0.2)
        assert err.count(b"SIGHUP: reloading") == 20
        assert json.loads(get(port, "/v1/peers"))["StderrDropped"] == 0
        stops_within(proc, 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(err_r)


def test_closed_standard_descriptors():
    port = free_port()
    for redirect in (">&-", ">&- 2>&- <&-", "<&-"):
        proc = subprocess.Popen(["/bin/sh", "-c", f'exec "$0" -s {port} {redirect}', BIN],
                                env=env())
        if not serving(port):
            proc.kill()
            raise AssertionError(f"not serving with {redirect}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, redirect
