"""GET /metrics: clean for promtool, scraped by a real Prometheus server whose PromQL
reads our histograms, bounded by the peers we have, and off when the ini says so."""
import json
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, wait_until

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers, r.read().decode()


def wait(predicate, timeout=15):
    return wait_until(predicate, timeout)


def scrape(port):
    return get(f"http://127.0.0.1:{port}/metrics")[2]


def two_peers(daemons, port, *extra):
    d = daemons(["-s", str(port), "-d", "1", *extra,
                 f"http://127.0.0.1:{port}/v1/ping#one", f"http://localhost:{port}/v1/ping#two"])
    assert wait(lambda: 'pingmesh_probes_total{peer="two",result="ok"}' in scrape(port)), \
        d.stderr()
    return d


@pytest.mark.skipif(not PROMTOOL, reason="needs promtool (Debian's prometheus package)")
def test_metrics_are_clean_for_promtool(daemons):
    port = free_port()
    d = two_peers(daemons, port)
    status, headers, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        (r.stdout, r.stderr)
    for line in ['pingmesh_probe_phase_seconds_bucket{peer="one",phase="tcp",le="+Inf"}',
                 'pingmesh_build_info{version=', "process_resident_memory_bytes ",
                 "process_open_fds ", 'pingmesh_output_dropped_lines_total{stream="stdout"} 0',
                 "pingmesh_peers 2"]:
        assert line in text, line
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


def test_metrics_off(daemons, tmp_path):
    port = free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\n[prometheus]\nenabled = no\n")
    d = daemons(["-C", str(ini)])
    assert wait(lambda: get(f"http://127.0.0.1:{port}/v1/ping")[0] == 200)
    try:
        get(f"http://127.0.0.1:{port}/metrics")
        assert False, "/metrics answered while off"
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_a_removed_peer_takes_its_series_with_it(daemons):
    port = free_port()
    d = two_peers(daemons, port)
    st, _, _ = get(f"http://127.0.0.1:{port}/v1/ping")
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/peers", method="POST",
        data=json.dumps({"url": f"http://127.0.0.1:{port}/v1/ping", "name": "api"}).encode(),
        headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=5).status == 201
    assert wait(lambda: 'peer="api"' in scrape(port))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/peers/api", method="DELETE")
    assert urllib.request.urlopen(req, timeout=5).status == 204
    assert wait(lambda: 'peer="api"' not in scrape(port)), "its series outlived it"
    assert 'peer="one"' in scrape(port)


@pytest.mark.skipif(not PROMETHEUS, reason="needs prometheus (Debian's package)")
def test_a_real_prometheus_reads_our_histograms(daemons, tmp_path):
    port, prom_port = free_port(), free_port()
    d = two_peers(daemons, port)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: pingmesh\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        query = ('histogram_quantile(0.5, sum by (peer, le) '
                 '(rate(pingmesh_probe_phase_seconds_bucket{phase="total"}[5s])))')
        url = (f"http://127.0.0.1:{prom_port}/api/v1/query?" +
               urllib.parse.urlencode({"query": query}))

        def per_peer():
            result = json.loads(get(url)[2])["data"]["result"]
            return {r["metric"]["peer"]: float(r["value"][1]) for r in result
                    if r["value"][1] not in ("NaN", "+Inf")}

        assert wait(lambda: set(per_peer()) == {"one", "two"}, timeout=60), \
            (prom.poll(), per_peer() if prom.poll() is None else prom.stderr.read())
        medians = per_peer()
        # Loopback probes of our own responder: well under 50 ms, more than nothing.
        assert all(0 < v < 0.05 for v in medians.values()), medians
        up = json.loads(get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=up")[2])
        assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


def test_metrics_on_a_listener_of_their_own(daemons, tmp_path):
    port, mport = free_port(), free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\ndelay = 1\n"
                   f"[prometheus]\nlisten = 127.0.0.1:{mport}\n")
    d = daemons(["-C", str(ini)])
    assert wait(lambda: "pingmesh_probes_total{" in scrape(mport)), d.stderr()
    try:
        get(f"http://127.0.0.1:{port}/metrics")
        assert False, "/metrics is still on the mesh's port"
    except urllib.error.HTTPError as e:
        assert e.code == 404
    # Only /metrics there: not the API, not the page.
    for path in ("/", "/v1/peers"):
        try:
            get(f"http://127.0.0.1:{mport}{path}")
            assert False, path
        except urllib.error.HTTPError as e:
            assert e.code == 404
    d.signal(signal.SIGTERM)
    assert d.finish() == 0


def test_a_bad_metrics_listen_address_is_a_config_error(tmp_path):
    from conftest import BIN
    ini = tmp_path / "p.ini"
    ini.write_text("[node]\nport = 8080\n[prometheus]\nlisten = localhost:9464\n")
    r = subprocess.run([BIN, "-C", str(ini), "--check-config"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 78 and f"{ini}:4: listen:" in r.stderr, r.stderr
