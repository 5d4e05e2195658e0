"""Command-line contract: exit codes, messages, help, version."""
import subprocess

from conftest import BIN, free_port


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20, env=env)


def test_bad_flag_exits_64_naming_it():
    r = run("-x", "http://127.0.0.1:1/")
    assert r.returncode == 64
    assert "unknown flag '-x'" in r.stderr
    assert r.stdout == ""


def test_bad_value_and_bad_url_exit_64():
    r = run("-d", "zero", "http://127.0.0.1:1/")
    assert r.returncode == 64 and "flag -d: 'zero'" in r.stderr
    # One number syntax for every flag (--timeout once took hex and spaces).
    for bad in ("0x10", " 5", "1e1"):
        r = run("--timeout", bad, "http://127.0.0.1:1/")
        assert r.returncode == 64 and f"flag --timeout: '{bad}'" in r.stderr, r.stderr
    r = run("gopher://h/")
    assert r.returncode == 64 and "bad URL 'gopher://h/'" in r.stderr


def test_nothing_to_do_exits_64():
    r = run()
    assert r.returncode == 64 and "nothing to do" in r.stderr


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and "Usage: pingmesh" in r.stdout and "-s PORT" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("pingmesh ")


def test_port_in_use_exits_1():
    import socket
    port = free_port()
    with socket.socket() as s:
        s.bind(("0.0.0.0", port))
        s.listen()
        r = run("-s", str(port))
    assert r.returncode == 1
    assert f"port {port}" in r.stderr and "address already in use" in r.stderr


def test_command_line_beats_environment_with_a_note(daemons):
    port = free_port()
    d = daemons(["-d", "5", "-f", "1", f"http://127.0.0.1:{port}/"],
                env={"PINGMESH_DELAY": "1", "PINGMESH_MAXFAIL": "3", "PINGMESH_LIMIT": "1"})
    assert d.finish(timeout=20) == 0
    assert "Note: -d 5 overrides PINGMESH_DELAY=1" in d.stderr()
    assert "Recorded 0 valid samples, 1 of 1 failures" in d.stdout()


def test_a_directory_or_a_device_is_no_configuration_file(tmp_path):
    # Once, -C /tmp was read as an empty file (exit 0) and -C /dev/zero spun forever.
    for path, why in ((str(tmp_path), "a directory"), ("/dev/zero", "not a regular file")):
        r = run("-C", path, "--check-config")
        assert r.returncode == 78, (path, r.stderr)
        assert f"{path}: cannot read the configuration file: {why}" in r.stderr
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\nport = 1\n[peers]\nfile = {tmp_path}\n")
    r = run("-C", str(ini), "--check-config")
    assert r.returncode == 78
    assert f"{ini}:4: file: cannot read '{tmp_path}': a directory" in r.stderr


def test_a_directory_is_no_certificate(tmp_path):
    # Once: "PK - Memory allocation failed", from deep inside mbedTLS.
    port = free_port()
    r = run("--tls-port", str(port), "--cert", str(tmp_path), "--key", str(tmp_path))
    assert r.returncode == 64, r.stderr
    assert f"flag --cert: cannot read '{tmp_path}': a directory" in r.stderr
    ini = tmp_path / "p.ini"
    ini.write_text(f"[node]\ntls_port = {port}\ncert = /dev/null\nkey = /dev/null\n")
    r = run("-C", str(ini))
    assert r.returncode == 78, r.stderr
    assert f"{ini}:3: cert: cannot read '/dev/null': not a regular file" in r.stderr
    ini.write_text("[peer a]\nurl = https://127.0.0.1:1/\nca_file = /dev/null\n")
    r = run("-C", str(ini))
    assert r.returncode == 78, r.stderr
    assert f"{ini}:3: ca_file: cannot read the CA file '/dev/null'" in r.stderr
    assert "not a regular file" in r.stderr
