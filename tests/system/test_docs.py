"""The documentation the build writes: pingmesh(8), pingmesh.ini(5) and the example ini
agree with what the daemon itself says (--help, --check-config), render without a groff
warning, and install where the unit's Documentation= says."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PINGMESH_BUILD_ROOT", os.path.join(ROOT, "build"))
MAN8 = os.environ.get("PINGMESH_MAN8", os.path.join(BUILD, "man", "pingmesh.8"))
MAN5 = os.environ.get("PINGMESH_MAN5", os.path.join(BUILD, "man", "pingmesh.ini.5"))
EXAMPLE = os.environ.get("PINGMESH_EXAMPLE_INI", os.path.join(BUILD, "man", "pingmesh.ini"))
RENDER = os.environ.get("PINGMESH_RENDER_DOCS", os.path.join(BUILD, "man", "render_docs"))
UNIT = os.environ.get("PINGMESH_UNIT", os.path.join(BUILD, "pingmesh.service"))


def run(*args, **kw):
    return subprocess.run([*args], capture_output=True, text=True, timeout=60, **kw)


def groff():
    path = shutil.which("groff")
    assert path, "groff is missing: apt-get install groff-base (scripts/dev.sh installs it)"
    return path


def page_text(page):
    """The page as plain text, one paragraph a line, no hyphenation."""
    r = run(groff(), "-man", "-Tascii", "-P-cbou", "-rLL=300n", "-rHY=0", page)
    assert r.returncode == 0, r.stderr
    return r.stdout


def section(text, name):
    """A section (.SH) of a page's text: from its heading to the next one."""
    m = re.search(rf"^{re.escape(name)}\n(.*?)(?=^\S)", text, re.M | re.S)
    assert m, f"no {name} section"
    return m.group(1)


def help_flag_lines():
    """The --help lines that list a flag, without their indent: "-d N    seconds ..."."""
    r = run(BIN, "--help")
    assert r.returncode == 0
    lines = [l[2:] for l in r.stdout.splitlines() if l.startswith("  -")]
    assert len(lines) > 25, r.stdout  # every flag of the table, and the built-in ones
    return lines


def ini_keys(tmp_path):
    """(section, key) of every key, as --check-config prints them (the settings table),
    with the keys of a [peer NAME] section and of [peers], which the loader reads itself."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed by --check-config\n")
    ini = tmp_path / "keys.ini"
    ini.write_text("[peer one]\nurl = https://a.example/\nlocation = L\naddress = 192.0.2.1\n"
                   "delay = 5\nverify = yes\nca_file = ca.pem\n"
                   "pin_sha256 = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nresume = no\n")
    r = run(BIN, "-C", str(ini), "--check-config")
    assert r.returncode == 0 and r.stderr == "", r.stderr  # no "unknown key" either
    keys, sec = set(), None
    for line in r.stdout.splitlines():
        if m := re.match(r"\[(peer) \d+\]|\[(\w+)\]", line):
            sec = "peer NAME" if m.group(1) else m.group(2)
        elif m := re.match(r"(\w+) = ", line):
            keys.add((sec, m.group(1)))
    assert ("peer NAME", "pin_sha256") in keys and ("node", "delay") in keys, keys
    return keys | {("peers", "url"), ("peers", "file")}


def test_every_help_flag_is_in_pingmesh_8():
    # Each entry of OPTIONS starts with its tag, the flag with its value: "-d N".
    options = section(page_text(MAN8), "OPTIONS")
    tags = [m.group(1) for m in re.finditer(r"^ {7}(-.*?)(?: {2,}|$)", options, re.M)]

    def listed(line):  # the help line's first column is the tag, with its value name
        return any(line.startswith(t) and (line[len(t):].startswith("  ") or
                                           (len(t) >= 20 and line[len(t):].startswith(" ")))
                   for t in tags)
    missing = [l for l in help_flag_lines() if not listed(l)]
    assert not missing, f"--help lines whose flag is not in pingmesh(8) OPTIONS: {missing}"


def test_every_ini_key_is_in_pingmesh_ini_5(tmp_path):
    text = section(page_text(MAN5), "SECTIONS")
    found, sec = set(), None
    for line in text.splitlines():
        if m := re.match(r" {3}\[(.+)\]$", line):
            sec = m.group(1)
        elif m := re.match(r" {7}(\w+) = ", line):
            found.add((sec, m.group(1)))
    missing = sorted(ini_keys(tmp_path) - found)
    assert not missing, f"keys missing from pingmesh.ini(5): {missing}"


def test_every_ini_key_is_in_the_example(tmp_path):
    found, sec = set(), None
    for line in open(EXAMPLE):
        if m := re.match(r";?\[(.+)\]$", line):
            sec = "peer NAME" if m.group(1).startswith("peer ") else m.group(1)
        elif m := re.match(r";?(\w+) =", line):
            found.add((sec, m.group(1)))
    missing = sorted(ini_keys(tmp_path) - found)
    assert not missing, f"keys missing from the example ini: {missing}"


@pytest.mark.parametrize("page", [MAN8, MAN5], ids=["pingmesh.8", "pingmesh.ini.5"])
def test_pages_render_without_warnings(page):
    r = run(groff(), "-man", "-ww", "-z", page)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    # The terminal's rendering too, as man(1) would run it.
    r = run(groff(), "-man", "-ww", "-Tutf8", page)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_the_example_loads_clean():
    r = run(BIN, "-C", EXAMPLE, "--check-config")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no unknown key, no warning


def test_the_checked_in_example_is_the_generated_one():
    # packaging/pingmesh.ini is kept for readers of the tree; the build's is the source.
    assert open(os.path.join(ROOT, "packaging", "pingmesh.ini")).read() == open(EXAMPLE).read(), \
        "packaging/pingmesh.ini is stale: meson compile -C build update-example-ini"


def test_pages_carry_the_version_and_the_build_date(tmp_path):
    version = run(BIN, "--version").stdout.split()[1]
    for page in (MAN8, MAN5):
        th = next(l for l in open(page) if l.startswith(".TH "))
        assert f'"pingmesh {version}"' in th, th
    # SOURCE_DATE_EPOCH, when set, is the date (reproducible builds); else the release date.
    template = os.path.join(ROOT, "man", "pingmesh.8.in")
    out = tmp_path / "p.8"
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    assert run(RENDER, "man8", template, str(out), "2001-02-03", env=env).returncode == 0
    assert '.TH PINGMESH 8 "2001-02-03"' in out.read_text()
    env["SOURCE_DATE_EPOCH"] = "1700000000"  # 2023-11-14 22:13:20 UTC
    assert run(RENDER, "man8", template, str(out), "2001-02-03", env=env).returncode == 0
    assert '.TH PINGMESH 8 "2023-11-14"' in out.read_text()


@pytest.mark.skipif(not shutil.which("systemd-analyze") or not shutil.which("man"),
                    reason="needs systemd-analyze and man")
def test_the_units_man_pages_resolve(tmp_path):
    for sub, page in (("man8", MAN8), ("man5", MAN5)):
        (tmp_path / "man" / sub).mkdir(parents=True)
        shutil.copy(page, tmp_path / "man" / sub)
    unit = tmp_path / "pingmesh.service"
    text = open(UNIT).read()
    assert "rafayopen" not in text
    unit.write_text(re.sub(r"ExecStart=\S+", "ExecStart=" + os.path.abspath(BIN), text))
    # --man=yes runs man(1) for each man: page of Documentation=.
    r = run("systemd-analyze", "verify", "--man=yes", str(unit),
            env={**os.environ, "MANPATH": str(tmp_path / "man")})
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_install_puts_pages_example_and_readme_where_the_unit_says(tmp_path):
    meson = shutil.which("meson")
    assert meson
    dest = tmp_path / "dest"
    r = run(meson, "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", str(dest))
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    for want in (r"bin/pingmesh$", r"man/man8/pingmesh\.8$", r"man/man5/pingmesh\.ini\.5$",
                 r"etc/pingmesh/pingmesh\.ini$", r"share/doc/pingmesh/README\.md$",
                 r"lib/systemd/system/pingmesh\.service$"):
        assert any(re.search(want, f) for f in files), (want, files)
    assert not any("render_docs" in f for f in files), files  # a build tool, not installed
    unit = next(dest.rglob("pingmesh.service")).read_text()
    readme = re.search(r"Documentation=.*file://(\S+)", unit)
    assert readme and (dest / readme.group(1).lstrip("/")).is_file(), unit
    ini = next(p for p in dest.rglob("pingmesh.ini"))
    assert ini.read_text() == open(EXAMPLE).read()
