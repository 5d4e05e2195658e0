"""https end to end: the daemon's TLS responder probed by the daemon itself."""
import json
import re
import signal
import subprocess


from conftest import BIN, free_port

def tls_args(certs, port, cert="server.pem"):
    return ["--tls-port", str(port), "--cert", str(certs / cert), "--key",
            str(certs / "server.key"), "--ca-file", str(certs / "ca.pem")]


def test_https_self_ping_times_tls_apart(daemons, certs):
    port = free_port()
    url = f"https://localhost:{port}/v1/ping"
    d = daemons([*tls_args(certs, port), "-d", "1", "-v", "-L", "Sec", url])
    assert d.wait_for(lambda: len(d.lines_matching(r"^\d+ \d{10}\t")) >= 2), d.stdout() + d.stderr()
    d.signal(signal.SIGINT)
    assert d.finish() == 0
    for row in d.lines_matching(r"^\d+ \d{10}\t"):
        f = row.rstrip("\n").split(" ", 1)[1].split("\t")
        tcp, tls = float(f[2]), float(f[3])
        assert tls > 0 and tcp < tls, row
        assert f[7] == "200" and f[9] == "Sec" and f[11] == url
    m = re.search(r"\n\d+ \d+s +\t([\d.]+)\t([\d.]+)\t([\d.]+)\t", d.stdout())
    assert m and float(m.group(3)) > 0, d.stdout()
    assert "starting TLS server on port %d" % port in d.stderr()


def test_json_lines_carry_tls_facts(daemons, certs):
    port = free_port()
    url = f"https://127.0.0.1:{port}/v1/ping"
    d = daemons([*tls_args(certs, port), "-d", "1", "-j", url])
    assert d.wait_for(lambda: any('"type":"sample"' in l for l in d.out)), d.stderr()
    d.signal()
    assert d.finish() == 0
    lines = [json.loads(l) for l in d.out]  # every stdout line is JSON
    sample = next(l for l in lines if l["type"] == "sample")
    assert sample["ok"] and sample["http_code"] == 200
    assert sample["tls_version"] == "TLSv1.2"
    assert "ECDHE" in sample["tls_cipher"]
    assert 820 <= sample["cert_days_left"] <= 825
    assert sample["tls_ms"] > 0 and sample["tcp_ms"] < sample["tls_ms"]
    assert lines[-1]["type"] == "summary" and lines[-1]["successes"] >= 1


def test_expired_certificate_is_logged_in_words(daemons, certs):
    port = free_port()
    server = daemons([*tls_args(certs, port, cert="expired.pem")])
    assert server.wait_for(lambda: "starting TLS server" in server.stderr())
    d = daemons(["--ca-file", str(certs / "ca.pem"), "-d", "1", "-f", "1",
                 f"https://localhost:{port}/v1/ping"])
    assert d.finish(timeout=20) == 0
    assert "HTTP error 502 failure 1 of 1" in d.stderr()
    assert "(expired)" in d.stderr(), d.stderr()
    assert "Recorded 0 valid samples, 1 of 1 failures" in d.stdout()
    server.signal()
    assert server.finish() == 0


def test_k_accepts_a_self_signed_mesh(daemons, certs):
    port = free_port()
    d = daemons([*tls_args(certs, port, cert="selfsigned.pem"), "-k", "-d", "1", "-n", "1",
                 "-q", f"https://localhost:{port}/v1/ping"])
    assert d.wait_for(lambda: "Recorded 1 samples" in d.stdout(), timeout=20), d.stderr()
    d.signal()
    assert d.finish() == 0


def test_unreadable_certificate_is_refused_naming_it(certs):
    r = subprocess.run([BIN, "--tls-port", str(free_port()), "--cert", "/nonexistent.pem",
                        "--key", str(certs / "server.key")], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 64  # a command-line value; from an ini file it would be 78
    assert "/nonexistent.pem" in r.stderr


def test_certificate_that_is_not_one_exits_78(certs, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    r = subprocess.run([BIN, "--tls-port", str(free_port()), "--cert", str(bad),
                        "--key", str(certs / "server.key")], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 78  # a configuration error: systemd must not restart-loop on it
    assert str(bad) in r.stderr


def test_tls_port_needs_cert_and_key():
    r = subprocess.run([BIN, "--tls-port", "8443"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 64 and "--cert" in r.stderr


def test_responder_picks_x25519_whatever_the_client_prefers(daemons, certs):
    """mbedTLS 2.28's server takes its own group order; its default starts with secp521r1,
    2.7 ms more per handshake. A client preferring P-521 still gets X25519 from us."""
    port = free_port()
    server = daemons([*tls_args(certs, port)])
    assert server.wait_for(lambda: "starting TLS server" in server.stderr())
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-groups", "P-521:P-384:P-256:X25519"],
                       input="", capture_output=True, text=True, timeout=20)
    assert "Server Temp Key: X25519" in r.stdout, r.stdout + r.stderr
    assert "Peer signature type: ECDSA" in r.stdout, r.stdout  # the test key (make-certs.sh)
    assert "Cipher is ECDHE-ECDSA-" in r.stdout, r.stdout
    server.signal()
    assert server.finish() == 0


def test_probe_offers_x25519_first(daemons, certs):
    """OpenSSL's server follows the client's group order: our probe must offer X25519
    first (mbedTLS 2.28's default order starts with secp521r1)."""
    port = free_port()
    # -naccept 1: it exits after our one probe, so its buffered trace is written whole (a
    # terminated s_server loses the last block, where a short ClientHello puts the
    # ServerKeyExchange).
    trace = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-www",
                              "-naccept", "1", "-trace", "-cert", str(certs / "server.pem"),
                              "-key", str(certs / "server.key")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        d = daemons(["--ca-file", str(certs / "ca.pem"), "-d", "1", "-n", "1", "-q",
                     f"https://localhost:{port}/"])
        # -n 1: it ends by itself after its summary (a signal now would meet a daemon
        # that already closed its handlers, and kill it).
        assert d.wait_for(lambda: "Recorded 1 samples" in d.stdout(), timeout=20), d.stderr()
        assert d.finish() == 0
    finally:
        try:
            out = trace.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            trace.terminate()
            out = trace.communicate(timeout=10)[0]
    offered = re.search(r"extension_type=supported_groups\(10\).*?\n\s+(\S+)", out)
    # OpenSSL 3.0 says "ecdh_x25519"; the name around x25519 may change.
    assert offered and "x25519" in offered.group(1), out[:3000]
    assert re.search(r"named_curve: \S*x25519", out), out[:3000]
