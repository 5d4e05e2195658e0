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
