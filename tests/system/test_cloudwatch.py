"""CloudWatch publishing against a SigV4-verifying stand-in on loopback."""
import os
import re
import signal
import time

import pytest

from cloudwatch_endpoint import Endpoint, credentials, parse_datums
from conftest import free_port

SHORT = re.compile(r"^ *\d+ +\d+\.\d{3} msec ")


def aws_env(endpoint, creds):
    env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": creds.access_key,
           "AWS_SECRET_ACCESS_KEY": creds.secret_key,
           "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint.url, "HOME": "/nonexistent"}
    if creds.token:
        env["AWS_SESSION_TOKEN"] = creds.token
    return env


def self_ping(daemons, tmp_path, endpoint, creds, mode="full", seconds=3.5, extra="", env=None):
    port = free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\n"
                   f"[cloudwatch]\nenabled = yes\nperiod = 1\nmode = {mode}\n{extra}")
    d = daemons(["-C", str(ini)], env={**aws_env(endpoint, creds), **(env or {})})
    time.sleep(seconds)
    d.signal(signal.SIGTERM)
    assert d.finish(timeout=20) == 0
    return d, port


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN//+="])
def test_every_request_is_signed_right_and_counts_add_up(daemons, tmp_path, token):
    creds = credentials(token)
    ep = Endpoint(creds)
    try:
        d, port = self_ping(daemons, tmp_path, ep, creds)
        assert not ep.bad, ep.bad
        accepted = ep.accepted()
        assert accepted, d.stderr()
        probes = len([l for l in d.out if SHORT.match(l)])
        assert probes >= 2
        tcp = [x for r in accepted for x in r["datums"] if x["name"] == "TCP"]
        assert sum(sum(x["counts"]) for x in tcp) == probes, (d.stderr(), [(x["timestamp"], x["counts"]) for x in tcp], len(ep.requests))
        for r in accepted:
            assert r["form"]["Action"] == "PutMetricData"
            assert r["form"]["Version"] == "2010-08-01"
            assert r["form"]["Namespace"] == "pingmesh"
        names = {x["name"] for r in accepted for x in r["datums"]}
        assert {"DNS", "TCP", "First", "LastB", "Total"} <= names and "TLS" not in names
        x = tcp[0]
        assert x["dims"] == {"From": "Lab", "To": "Lab"}
        assert x["unit"] == "Milliseconds" and x["resolution"] == "1"
        assert all(len(x["values"]) <= 150 for r in accepted for x in r["datums"])
    finally:
        ep.close()


def test_compat_mode_speaks_the_originals_wire_format(daemons, tmp_path):
    creds = credentials()
    ep = Endpoint(creds)
    try:
        d, port = self_ping(daemons, tmp_path, ep, creds, mode="compat")
        assert not ep.bad, ep.bad
        datums = [x for r in ep.accepted() for x in r["datums"]]
        probes = len([l for l in d.out if SHORT.match(l)])
        assert len(datums) == probes, "one datum per successful sample, as the original"
        for x in datums:
            assert x["name"] == "TCP RTT" and x["unit"] == "Milliseconds"
            assert x["dim_order"] == ["TestUrl", "HTTP Resp Code", "FromLocation"]
            assert x["dims"]["HTTP Resp Code"] == "200" and x["dims"]["FromLocation"] == "Lab"
            assert x["dims"]["TestUrl"] == "Lab"  # the peer's location (ourselves)
            assert len(x["values"]) == 1 and x["values"][0] > 0
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["timestamp"])
        raw = ep.accepted()[0]["form"]
        assert raw["Namespace"] == "pingmesh"
    finally:
        ep.close()


def test_server_errors_are_retried_and_nothing_is_lost(daemons, tmp_path):
    creds = credentials()
    ep = Endpoint(creds)
    ep.answers = [503, 503]
    try:
        d, port = self_ping(daemons, tmp_path, ep, creds, seconds=6)
        assert "retrying in" in d.stderr()
        probes = len([l for l in d.out if SHORT.match(l)])
        tcp = [x for r in ep.accepted() for x in r["datums"] if x["name"] == "TCP"]
        assert sum(sum(x["counts"]) for x in tcp) == probes
    finally:
        ep.close()


def test_bad_credentials_are_logged_clearly_without_a_retry_loop(daemons, tmp_path):
    creds = credentials()
    ep = Endpoint(credentials(), region="us-east-1")
    ep.creds = type(creds)("AKIDOTHER", "other-secret")  # it expects other keys: 403
    try:
        d, port = self_ping(daemons, tmp_path, ep, creds, seconds=3.5)
        assert "CloudWatch refused a batch" in d.stderr()
        assert "InvalidClientTokenId" in d.stderr()
        assert "The security token included in the request is invalid." in d.stderr()
        assert len(ep.bad) <= 6, "about one request a period, no tight loop"
    finally:
        ep.close()


def test_no_credentials_switches_publishing_off_with_a_line(daemons, tmp_path):
    port = free_port()
    d = daemons(["-c", "-s", str(port), "-n", "1", f"http://127.0.0.1:{port}/v1/ping"],
                env={"HOME": "/nonexistent"})
    assert d.wait_for(lambda: "publishing is off" in d.stderr())
    # The line is written while the configuration is read, before the signal handlers are
    # in place: the probe's line says the loop runs.
    assert d.wait_for(lambda: " msec " in d.stdout())
    d.signal()
    assert d.finish() == 0


def probes_in(d):
    return len([l for l in d.out if SHORT.match(l)])


def tcp_count(endpoint):
    return sum(sum(x["counts"]) for r in endpoint.accepted() for x in r["datums"]
               if x["name"] == "TCP")


def test_outage_and_restart_lose_nothing(daemons, tmp_path):
    """503s, then no endpoint at all, a restart while it is away, then it returns."""
    creds = credentials()
    first = Endpoint(creds)
    port = first.server.server_address[1]
    first.answers = [503] * 100
    node = free_port()
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {node}\ndelay = 1\nlocation = Lab\nshutdown_timeout = 2\n"
                   f"[cloudwatch]\nenabled = yes\nperiod = 1\nspool_dir = {tmp_path}/spool\n")
    env = aws_env(first, creds)
    d1 = daemons(["-C", str(ini)], env=env)
    time.sleep(3)
    first.close()  # now nobody answers at all
    time.sleep(1.5)
    d1.signal(signal.SIGTERM)
    assert d1.finish(timeout=20) == 0
    assert "stay in the spool" in d1.stderr(), d1.stderr()
    assert tcp_count(first) == 0
    spooled = list((tmp_path / "spool").glob("*.form"))
    assert spooled, "unsent data is on disk"

    d2 = daemons(["-C", str(ini)], env=env)  # restarted while the endpoint is away
    assert d2.wait_for(lambda: "from before, to send first" in d2.stderr())
    time.sleep(2)
    second = None
    for _ in range(50):  # the same port again
        try:
            second = Endpoint.__new__(Endpoint)
            Endpoint.__init__(second, creds, port=port)
            break
        except OSError:
            time.sleep(0.1)
    try:
        time.sleep(2)
        d2.signal(signal.SIGTERM)
        assert d2.finish(timeout=20) == 0
        probes = probes_in(d1) + probes_in(d2)
        arrived = tcp_count(second)
        assert not second.bad, second.bad
        per_batch = 1  # one probe a second, one batch a second
        assert probes <= arrived <= probes + per_batch, (probes, arrived, d2.stderr())
        assert not list((tmp_path / "spool").glob("*.form")), "the spool is empty again"
    finally:
        if second:
            second.close()


def test_a_full_spool_drops_the_oldest_and_says_so(daemons, tmp_path):
    creds = credentials()
    ep = Endpoint(creds)
    ep.answers = [503] * 1000
    try:
        spool = tmp_path / "spool"
        spool.mkdir()
        now = time.time_ns()
        names = []
        for i in range(40):  # 40 requests of 2 KB from the last 40 s: 80 KB
            name = f"{now - (40 - i) * 1_000_000_000:020d}-{i:06d}.form"
            (spool / name).write_text("Action=PutMetricData&Version=2010-08-01" + "&x=1" * 500)
            names.append(name)
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {free_port()}\ndelay = 1\nshutdown_timeout = 1\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\nspool_dir = {spool}\n"
                       f"spool_max_bytes = 65536\n")
        d = daemons(["-C", str(ini)], env=aws_env(ep, creds))
        assert d.wait_for(lambda: "dropping the oldest requests (logged once)" in d.stderr())
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert d.stderr().count("dropping the oldest") == 1, "logged once"
        left = sorted(p.name for p in spool.glob("*.form"))
        assert sum((spool / n).stat().st_size for n in left) <= 65536
        assert names[0] not in left and names[-1] in left, "the oldest went first"
    finally:
        ep.close()


def test_shared_credentials_file_and_profile(daemons, tmp_path):
    creds = credentials("SESSIONFROMFILE")
    ep = Endpoint(creds)
    try:
        aws = tmp_path / "home" / ".aws"
        aws.mkdir(parents=True)
        (aws / "credentials").write_text(
            "[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n"
            f"[mesh]\naws_access_key_id = {creds.access_key}\n"
            f"aws_secret_access_key = {creds.secret_key}\naws_session_token = {creds.token}\n")
        port = free_port()
        d = daemons(["-c", "-s", str(port), "-d", "1", f"http://127.0.0.1:{port}/v1/ping"],
                    env={"AWS_REGION": "us-east-1", "AWS_PROFILE": "mesh",
                         "HOME": str(tmp_path / "home"),
                         "AWS_ENDPOINT_URL": ep.url})
        time.sleep(2.5)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert ep.accepted() and not ep.bad, (ep.bad, d.stderr())
        assert "SESSIONFROMFILE" not in d.stderr() and creds.secret_key not in d.stderr()
    finally:
        ep.close()


def test_spooled_data_older_than_two_weeks_is_dropped(daemons, tmp_path):
    creds = credentials()
    ep = Endpoint(creds)
    try:
        spool = tmp_path / "spool"
        spool.mkdir()
        old = time.time_ns() - 15 * 24 * 3600 * 1_000_000_000
        (spool / f"{old:020d}-000000.form").write_text(
            "Action=PutMetricData&Version=2010-08-01&Namespace=pingmesh"
            "&MetricData.member.1.MetricName=Old&MetricData.member.1.Value=1")
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {free_port()}\nprobe_self = no\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\nspool_dir = {spool}\n")
        d = daemons(["-C", str(ini)], env=aws_env(ep, creds))
        time.sleep(1.5)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert not list(spool.glob("*.form")), "expired data is not kept"
        assert "older than two weeks" in d.stderr()
        assert not any(x["name"] == "Old" for r in ep.requests for x in r["datums"])
    finally:
        ep.close()


def test_many_peers_one_request_a_period(daemons, tmp_path):
    """40 peers at 1 Hz for a few periods: few requests, and every probe counted once."""
    creds = credentials()
    ep = Endpoint(creds)
    try:
        port = free_port()
        urls = "".join(f"url = http://127.0.0.{i + 1}:{port}/v1/ping\n" for i in range(40))
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\ndimensions = from, to, url\n"
                       f"[peers]\n{urls}")
        d = daemons(["-C", str(ini), "-q"], env=aws_env(ep, creds))
        time.sleep(4)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert not ep.bad
        reqs = ep.accepted()
        periods = {x["timestamp"] for r in reqs for x in r["datums"]}
        assert len(reqs) <= len(periods) + 1, "one request a period (and the drain)"
        tcp = [x for r in reqs for x in r["datums"] if x["name"] == "TCP"]
        assert len({x["dims"]["Url"] for x in tcp}) == 40, "a datum per peer"
        counted = sum(sum(x["counts"]) for x in tcp)
        summaries = [int(m) for m in re.findall(r"Recorded (\d+) samples", d.stdout())]
        assert len(summaries) == 40 and counted == sum(summaries)
    finally:
        ep.close()


def test_publishing_maps_no_libcurl_nor_openssl(daemons, tmp_path, certs, monkeypatch):
    """Requests are signed and sent by the daemon's own client (SigV4 with mbedTLS, the
    loop's TCP and TLS): no libcurl, OpenSSL nor GnuTLS is in its memory while it
    publishes, over https, and every request is verified."""
    import pathlib
    for name in ("AWS_CA_BUNDLE", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # the machine's own must not be in the way
    creds = credentials()
    ep = https_endpoint(creds, certs)
    try:
        port = free_port()
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\nca_file = {certs}/ca.pem\n")
        d = daemons(["-C", str(ini)], env=aws_env(ep, creds))
        assert d.wait_for(lambda: ep.accepted(), timeout=10), d.stderr()
        maps = pathlib.Path(f"/proc/{d.proc.pid}/maps").read_text()
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert not ep.bad, ep.bad
        for lib in ("libcurl", "libssl", "libcrypto.so", "libgnutls", "libnghttp2"):
            assert lib not in maps, lib
    finally:
        ep.close()


def test_credentials_from_the_instance_metadata_service(daemons, tmp_path):
    """IMDSv2 as EC2 has it, but on 127.0.0.1: a token first, then the role, then keys."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    creds = credentials("IMDSSESSIONTOKEN")
    seen = []

    class Imds(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):
            seen.append(("PUT", self.path, self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")))
            self.answer(200, "T0KEN")

        def do_GET(self):
            seen.append(("GET", self.path, self.headers.get("X-aws-ec2-metadata-token")))
            if self.headers.get("X-aws-ec2-metadata-token") != "T0KEN":
                return self.answer(401, "")
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.answer(200, "mesh-role\n")
            if self.path == "/latest/meta-data/iam/security-credentials/mesh-role":
                return self.answer(200, json.dumps({
                    "Code": "Success", "AccessKeyId": creds.access_key,
                    "SecretAccessKey": creds.secret_key, "Token": creds.token,
                    "Expiration": "2099-01-01T00:00:00Z"}))
            self.answer(404, "")

        def log_message(self, *args):
            pass

    imds = ThreadingHTTPServer(("127.0.0.1", 0), Imds)
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    ep = Endpoint(creds)
    try:
        port = free_port()
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\nimds = yes\n")
        d = daemons(["-C", str(ini)], env={
            "AWS_REGION": "us-east-1", "HOME": "/nonexistent",
            "AWS_ENDPOINT_URL_CLOUDWATCH": ep.url,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{imds.server_address[1]}"})
        time.sleep(3)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert seen[0] == ("PUT", "/latest/api/token", "21600")
        assert "role mesh-role" in d.stderr()
        assert ep.accepted() and not ep.bad, (ep.bad, d.stderr())
        assert "IMDSSESSIONTOKEN" not in d.stderr()
    finally:
        ep.close()
        imds.shutdown()
        imds.server_close()


def test_one_peer_one_to_dimension_for_successes_and_failures(daemons, tmp_path):
    """The To dimension is the peer's identity: its preset #Location, else its URL as
    configured (query included), never what a reply said, so failures and latencies of
    one peer land together."""
    creds = credentials()
    ep = Endpoint(creds)
    port, closed = free_port(), free_port()
    good = f"http://127.0.0.1:{port}/v1/ping?b=1"
    down = f"http://127.0.0.1:{closed}/v1/ping?c=1"
    try:
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\n"
                       f"[peers]\nurl = {good}\nurl = {down}#Down\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\n")
        d = daemons(["-C", str(ini)], env=aws_env(ep, creds))
        time.sleep(3.5)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        datums = [x for r in ep.accepted() for x in r["datums"]]
        tcp_to = {x["dims"]["To"] for x in datums if x["name"] == "TCP"}
        failures_to = {x["dims"]["To"] for x in datums if x["name"] == "Failures"}
        assert tcp_to == {good}, tcp_to
        assert failures_to == {"Down"}, failures_to
    finally:
        ep.close()


@pytest.mark.parametrize("named", [False, True])
def test_a_poison_datum_is_set_aside_alone(daemons, tmp_path, named):
    """CloudWatch refuses a whole request for one bad datum (400): the request is split
    (straight to the datum when the message names it, else in halves) until only that
    datum is refused; every other datum is delivered."""
    creds = credentials()
    ep = Endpoint(creds)
    ep.name_culprit = named
    ep.refuse = lambda datums: any(x["dims"].get("To") == "Poison" for x in datums)
    port = free_port()
    spool = tmp_path / "spool"
    try:
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\n[peers]\n"
                       f"url = http://127.0.0.1:{port}/v1/ping?1#Good\n"
                       f"url = http://127.0.0.1:{port}/v1/ping?2#Poison\n"
                       f"url = http://127.0.0.1:{port}/v1/ping?3#Fine\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\nspool_dir = {spool}\n")
        d = daemons(["-C", str(ini), "-v"], env=aws_env(ep, creds))
        time.sleep(3.5)
        d.signal(signal.SIGTERM)
        assert d.finish(timeout=20) == 0
        assert not ep.bad, ep.bad
        delivered = [x for r in ep.accepted() for x in r["datums"]]
        assert delivered, d.stderr()
        assert all(x["dims"]["To"] != "Poison" for x in delivered)
        tcp = {}
        for x in delivered:
            if x["name"] == "TCP":
                tcp[x["dims"]["To"]] = tcp.get(x["dims"]["To"], 0) + sum(x["counts"])
        # Every probe of the good peers arrived: 1 a second each, about 3 each.
        assert tcp.get("Good", 0) >= 2 and tcp.get("Fine", 0) >= 2, tcp
        assert abs(tcp["Good"] - tcp["Fine"]) <= 1, tcp
        rejected = list(spool.glob("*.rejected"))
        assert rejected, "the poison datums are kept aside"
        for f in rejected:
            _, datums = parse_datums(f.read_bytes())
            assert {x["dims"]["To"] for x in datums} == {"Poison"}, datums
        assert not list(spool.glob("*.form")), "nothing else left behind"
        refused = [r for r in ep.requests if r["status"] == 400]
        if named:  # no search: each poison datum is refused in its batch, then alone
            assert len(refused) <= 2 * len(rejected), (len(refused), len(rejected))
    finally:
        ep.close()


def https_endpoint(creds, certs):
    return Endpoint(creds, tls=(str(certs / "server.pem"), str(certs / "server.key")))


@pytest.mark.parametrize("via", ["ini", "env"])
def test_an_https_endpoint_trusted_by_its_ca_file_gets_http_1_1(daemons, tmp_path, certs, via,
                                                                monkeypatch):
    """The stand-in offers h2 and http/1.1 by ALPN: we take HTTP/1.1 (one request a period
    needs no HTTP/2 session), and trust the CA file given in the ini or AWS_CA_BUNDLE (the
    environment wins, as with every key: the machine's own must not be in the way)."""
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    creds = credentials()
    ep = https_endpoint(creds, certs)
    try:
        ca = str(certs / "ca.pem")
        d, _ = self_ping(daemons, tmp_path, ep, creds,
                         extra=f"ca_file = {ca}\n" if via == "ini" else "",
                         env={"AWS_CA_BUNDLE": ca} if via == "env" else None)
        assert not ep.bad, ep.bad
        accepted = ep.accepted()
        assert accepted, d.stderr()
        assert {(r["alpn"], r["version"]) for r in accepted} == {("http/1.1", "HTTP/1.1")}
    finally:
        ep.close()


def test_a_missing_ca_file_is_a_configuration_error(tmp_path):
    import subprocess
    from conftest import BIN
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {free_port()}\n[cloudwatch]\nenabled = yes\n"
                   f"ca_file = {tmp_path}/none.pem\n")
    r = subprocess.run([BIN, "-C", str(ini), "--check-config"], capture_output=True, text=True,
                       timeout=20, env={"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "A",
                                        "AWS_SECRET_ACCESS_KEY": "B", "HOME": "/nonexistent",
                                        "PINGMESH_CONFIG": ""})
    assert r.returncode == 78, r.stderr
    assert f"{ini}:5: ca_file: cannot read the CA file" in r.stderr


def test_without_a_ca_file_the_system_cas_are_looked_up_not_the_bundle_read(tmp_path, certs):
    """Verification stays on: the test CA is not among the system's, so nothing is sent.
    The CA directory is searched by subject hash; Debian's 140-certificate bundle (about
    1 MB once parsed) is never opened, and GnuTLS (0.8 MB) never initialised."""
    import shutil
    import subprocess
    from conftest import BIN
    if not shutil.which("strace") or subprocess.run(["strace", "-o", "/dev/null", "true"]
                                                    ).returncode != 0:
        pytest.skip("needs strace, and ptrace allowed")
    creds = credentials()
    ep = https_endpoint(creds, certs)
    try:
        port = free_port()
        ini = tmp_path / "p.ini"
        ini.write_text(f"[node]\nport = {port}\ndelay = 1\nlocation = Lab\nshutdown_timeout = 2\n"
                       f"[cloudwatch]\nenabled = yes\nperiod = 1\n")
        trace = tmp_path / "trace"
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        tracer = subprocess.Popen(["strace", "-f", "-e", "trace=%file", "-o", str(trace), BIN,
                                   "-C", str(ini)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True,
                                  env={**env, **aws_env(ep, creds)})
        daemon = []
        try:
            time.sleep(4)
            daemon = subprocess.run(["pgrep", "-P", str(tracer.pid)], capture_output=True,
                                    text=True).stdout.split()
            assert daemon, "the traced daemon is running"
            os.kill(int(daemon[0]), signal.SIGTERM)
            _, stderr = tracer.communicate(timeout=30)
        finally:
            if tracer.poll() is None:  # a killed strace leaves its tracee running
                for pid in daemon:
                    os.kill(int(pid), signal.SIGKILL)
                tracer.kill()
                tracer.wait()
        assert not ep.requests and not ep.bad
        assert "SSL peer certificate" in stderr, stderr
        files = trace.read_text()
        assert re.search(r'"/etc/ssl/certs/[0-9a-f]{8}\.0"', files), "looked up by hash"
        assert "ca-certificates.crt" not in files
        # GnuTLS (once brought by libcurl's libldap and librtmp) is never initialised.
        assert "/etc/gnutls/" not in files
    finally:
        ep.close()


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that records each tunnel's target."""

    def __init__(self):
        import socket
        import threading
        self.targets = []
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _ = self.srv.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = client.recv(1024)
                if not chunk:
                    break
                head += chunk
            method, target = head.split(b" ")[:2]
            host, port = target.decode().rsplit(":", 1)
            self.targets.append((method.decode(), host, int(port)))
            upstream = socket.create_connection((host, int(port)), timeout=5)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(2)
                except OSError:
                    pass

    def close(self):
        self.srv.close()


def test_https_goes_through_the_proxy_the_environment_names(daemons, tmp_path, certs,
                                                              monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    creds = credentials()
    ep = https_endpoint(creds, certs)
    proxy = ConnectProxy()
    try:
        d, _ = self_ping(daemons, tmp_path, ep, creds, extra=f"ca_file = {certs / 'ca.pem'}\n",
                         env={"https_proxy": f"http://127.0.0.1:{proxy.port}"})
        assert ep.accepted() and not ep.bad, d.stderr()
        port = int(ep.url.rsplit(":", 1)[1].strip("/"))
        assert proxy.targets and set(proxy.targets) == {("CONNECT", "127.0.0.1", port)}
    finally:
        proxy.close()
        ep.close()


@pytest.mark.parametrize("endpoint", ["https://monitoring.example/?Action=x",
                                      "https://monitoring.example/#top"])
def test_an_endpoint_with_a_query_or_fragment_is_a_configuration_error(tmp_path, endpoint):
    import subprocess
    from conftest import BIN
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = {free_port()}\n[cloudwatch]\nenabled = yes\n"
                   f"endpoint = {endpoint}\n")
    r = subprocess.run([BIN, "-C", str(ini), "--check-config"], capture_output=True, text=True,
                       timeout=20, env={"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "A",
                                        "AWS_SECRET_ACCESS_KEY": "B", "HOME": "/nonexistent",
                                        "PINGMESH_CONFIG": ""})
    assert r.returncode == 78, r.stderr
    assert f"{ini}:5: endpoint: " in r.stderr, r.stderr
    assert "query" in r.stderr or "fragment" in r.stderr, r.stderr


def test_aws_error_messages_are_logged_bounded_printable_and_without_the_token(
        daemons, tmp_path, monkeypatch):
    import cloudwatch_endpoint
    # SignatureDoesNotMatch's message quotes the canonical request, session token included.
    message = ("The request signature we calculated does not match.\x1b[31m The Canonical "
               "String for this request should have been 'POST\n/\n\nhost:127.0.0.1\n"
               "x-amz-security-token:TOKENSECRET\n' " + "padding " * 100)
    monkeypatch.setattr(cloudwatch_endpoint, "ERROR_403",
                        "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch"
                        f"</Code><Message>{message}</Message></Error></ErrorResponse>")
    creds = credentials()
    ep = Endpoint(credentials(), region="us-east-1")
    ep.creds = type(creds)("AKIDOTHER", "other-secret")
    try:
        d, port = self_ping(daemons, tmp_path, ep, creds, seconds=2.5)
        lines = [l for l in d.stderr().splitlines() if "CloudWatch refused a batch" in l]
        assert lines, d.stderr()
        for line in lines:
            assert "SignatureDoesNotMatch" in line
            assert "The request signature we calculated" in line
            assert "TOKENSECRET" not in line and "x-amz-security-token" not in line, line
            assert "\x1b" not in line, line
            assert len(line) < 600, line
        assert "TOKENSECRET" not in d.stderr()
    finally:
        ep.close()
