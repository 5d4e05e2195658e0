"""The seed's standalone run, checked field by field: pingmesh -s PORT -d N URL."""
import re
import signal

from conftest import free_port

HEADER = ("# timestamp\tDNS\tTCP\tTLS\tFirst\tLastB\tTotal\tHTTP\tSize\t"
          "From_Location\tRemote_Addr\tproto://uri\n")
SHORT = re.compile(r"^( {0,2}\d+) +(\d+\.\d{3}) msec +(\S+) (\S+)\n$")
MS = r"\d+\.\d{3}"


def check_summary(text, url, location, count=None, served_from=None):
    """The summary block: blank line, Recorded…, header, averages row, blank line.
    served_from: the location in the peer's page (its size), when it is not `location`."""
    m = re.search(r"\nRecorded (\d+) samples in (\d+s|\d+m\d\ds), average values:\n", text)
    assert m, text
    n = int(m.group(1))
    if count is not None:
        assert n == count
    rest = text[m.end():]
    assert rest.startswith(HEADER)
    row = rest[len(HEADER):].split("\n")[0]
    fields = row.split("\t")
    assert len(fields) == 11, row
    assert re.fullmatch(r"%d %-6s" % (n, m.group(2)), fields[0]), fields[0]
    for f in fields[1:7]:
        assert re.fullmatch(MS, f), row
    assert fields[3] == "0.000"  # TLS, plain http
    assert fields[7] == ""  # the original leaves HTTP empty in the summary
    assert int(fields[8]) == 96 + 2 * len(served_from or location)
    assert fields[9] == location
    assert fields[10] == url
    assert rest[len(HEADER) + len(row):].startswith("\n\n")
    return n


def test_seed_command_default_verbosity(daemons):
    port = free_port()
    url = f"http://localhost:{port}/v1/ping"
    d = daemons(["-s", str(port), "-d", "1", "-L", "Chicago,US", url])
    assert d.wait_for(lambda: len(d.lines_matching(SHORT.pattern)) >= 3), d.stdout() + d.stderr()
    d.signal(signal.SIGINT)
    assert d.finish() == 0
    out = d.stdout()

    short = d.lines_matching(SHORT.pattern)
    for i, line in enumerate(short, start=1):
        m = SHORT.match(line)
        assert int(m.group(1)) == i
        assert float(m.group(2)) > 0
        assert m.group(3) == "Chicago,US"  # learned from our own /v1/ping page
        assert m.group(4) in ("[::1]", "127.0.0.1")
        assert len(line) >= len("  1    0.000 msec ") + 20
    assert "\nreceived interrupt signal, terminating\n" in out
    assert out.index("received interrupt") > out.index(short[-1])
    check_summary(out, url, "Chicago,US", count=len(short))
    assert "starting server on port %d" % port in d.stderr()


def test_verbose_prints_header_and_rows(daemons):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/ping"
    d = daemons(["-s", str(port), "-d", "1", "-v", "-L", "Lab", url])
    assert d.wait_for(lambda: len(d.lines_matching(r"^\d+ \d{10}\t")) >= 2), d.stdout()
    d.signal(signal.SIGTERM)
    assert d.finish() == 0
    assert d.out[0] == HEADER
    rows = d.lines_matching(r"^\d+ \d{10}\t")
    for i, line in enumerate(rows, start=1):
        count, rest = line.rstrip("\n").split(" ", 1)
        assert int(count) == i
        f = rest.split("\t")
        assert len(f) == 12
        for v in f[1:7]:
            assert re.fullmatch(MS, v)
        assert f[1] == "0.000"  # an IP literal needs no DNS
        assert float(f[2]) > 0
        assert f[3] == "0.000"
        assert abs(float(f[6]) - (float(f[2]) + float(f[4]) + float(f[5]))) < 0.5
        assert f[7] == "200"
        assert f[8] == str(96 + 2 * len("Lab"))
        assert f[9] == "Lab"
        assert f[10] == "127.0.0.1"
        assert f[11] == url
    assert "\nreceived terminated signal, terminating\n" in d.stdout()
    check_summary(d.stdout(), url, "Lab", count=len(rows))


def test_quiet_prints_only_summaries(daemons):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/ping"
    d = daemons(["-s", str(port), "-d", "1", "-q", "-n", "2", url])
    # With -s the daemon keeps serving after -n pings, as the original does.
    assert d.wait_for(lambda: "Recorded 2 samples" in d.stdout(), timeout=20), d.stdout()
    assert d.proc.poll() is None
    d.signal()
    assert d.finish() == 0
    out = d.stdout()
    assert not d.lines_matching(SHORT.pattern)
    assert not d.lines_matching(r"^\d+ \d{10}\t")
    assert out.count("Recorded") == 1


def test_limit_without_serving_exits_by_itself(daemons):
    port = free_port()
    server = daemons(["-s", str(port), "-L", "Peer,XX"])
    assert server.wait_for(lambda: "just serving" in server.stdout())
    url = f"http://localhost:{port}/v1/ping"
    d = daemons(["-d", "1", "-n", "2", url + "#Preset"])
    assert d.finish(timeout=20) == 0
    assert len(d.lines_matching(SHORT.pattern)) == 2
    # A preset location is the peer's identity: the summary shows it, not what the reply
    # said (the original showed the reply's, so one peer had two names).
    check_summary(d.stdout(), url, "Preset", count=2, served_from="Peer,XX")
    server.signal()
    assert server.finish() == 0


def test_failures_show_502_with_zeroes_and_reason(daemons):
    port = free_port()  # nobody listens here
    url = f"http://127.0.0.1:{port}/v1/ping"
    d = daemons(["-d", "1", "-f", "2", "-v", url])
    assert d.finish(timeout=20) == 0
    rows = d.lines_matching(r"^0 \d{10}\t")
    assert len(rows) == 2
    f = rows[0].rstrip("\n").split(" ", 1)[1].split("\t")
    assert f[1] == "0.000" and f[3:6] == ["0.000"] * 3
    assert f[7] == "502"
    assert f[9] == "unknown"
    assert "\nRecorded 0 valid samples, 2 of 2 failures\n" in d.stdout()
    assert f"HTTP error 502 failure 1 of 2 on {url} (connect_refused)" in d.stderr()


def test_second_signal_exits_1_at_once(daemons, stall_server):
    url = f"http://127.0.0.1:{stall_server}/v1/ping"
    d = daemons(["-d", "1", "--timeout", "30", url])
    # Wait until the first probe is in flight (the first ping waits 1 s).
    import time
    time.sleep(1.5)
    d.signal()
    assert d.wait_for(lambda: "received interrupt" in d.stdout(), timeout=5)
    d.signal()
    assert d.finish(timeout=5) == 1


def test_in_flight_probes_end_in_bounded_time(daemons, stall_server):
    url = f"http://127.0.0.1:{stall_server}/v1/ping"
    d = daemons(["-d", "1", "--timeout", "30", "--shutdown-timeout", "1", url])
    import time
    time.sleep(1.5)
    t0 = time.monotonic()
    d.signal()
    assert d.finish(timeout=10) == 0
    assert time.monotonic() - t0 < 3
    assert "\nRecorded 0 valid samples, 0 of 100 failures\n" in d.stdout()


def test_localhost_resolves_without_etc_hosts(daemons):
    """c-ares 1.18 cannot resolve localhost without /etc/hosts; pingmesh must."""
    import subprocess
    from conftest import BIN
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /dev/null /etc/hosts"],
                           capture_output=True)
    if probe.returncode != 0:
        import pytest
        pytest.skip("needs root for a private mount namespace")
    port = free_port()
    server = daemons(["-s", str(port), "-L", "Local"])
    assert server.wait_for(lambda: "just serving" in server.stdout())
    url = f"http://localhost:{port}/v1/ping"
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        'mount --bind /dev/null /etc/hosts && exec "$0" -d 1 -n 1 "$1"', BIN, url],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "Recorded 1 samples" in r.stdout, r.stdout + r.stderr
    server.signal()
    assert server.finish() == 0
