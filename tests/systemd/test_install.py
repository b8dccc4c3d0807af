"""``make install``: the tree it lays out under DESTDIR, the units' rewritten paths, and the installed
programs running from there (the daemon serving its simulated camera)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.procs import DaemonProcess, LogFile, NotifyListener, daemon_env
from tests.systemd.conftest import Installed, run_make
from tests.systemd.units import Unit

UNITS = [
    "ptpipd.service",
    "ptpipd.socket",
    "ptpipd@.service",
    "ptpipd@.socket",
    "ptpipd-legacy.socket",
    "ptpipd-http.socket",
    "ptpipd-http@.socket",
]
EXAMPLES = ["generic.conf", "fuji.conf", "ptpipd.conf"]
SCRIPTS = ["timelapse.sh", "bracket.py", "focus_stack.py", "client.js", "legacy.sh"]


def test_tree(installed: Installed) -> None:
    p = installed.prefix.lstrip("/")
    expected = {
        **{f"{p}/lib/systemd/system/{u}": 0o644 for u in UNITS},
        f"{p}/lib/sysusers.d/ptpipd.conf": 0o644,
        f"{p}/lib/tmpfiles.d/ptpipd.conf": 0o644,
        "etc/ptpipd/generic.conf": 0o644,
        "etc/ptpipd/fuji.conf": 0o644,
        "etc/ptpipd/ptpipd.conf": 0o644,
        **{f"{p}/bin/{b}": 0o755 for b in ("ptpipd", "ptpipctl", "ptpipd-sim")},
        f"{p}/share/doc/ptpipd/README.md": 0o644,
        f"{p}/share/doc/ptpipd/api.md": 0o644,
        **{f"{p}/share/doc/ptpipd/examples/{e}": 0o644 for e in EXAMPLES},
        **{f"{p}/share/doc/ptpipd/examples/{s}": 0o755 for s in SCRIPTS},
    }
    files = installed.files
    assert {k: files.get(k) for k in expected} == expected
    site = str(installed.site_packages().relative_to(installed.dest))
    python_files = {k for k in files if k.startswith(site + "/")}
    rest = set(files) - set(expected) - python_files
    assert not rest, f"unexpected files: {sorted(rest)}"
    for package in ("ptpipd", "ptpipctl"):
        assert f"{site}/{package}/__init__.py" in python_files
    assert f"{site}/ptpipd/py.typed" in python_files
    # the web page ships in the package (the daemon serves it from there)
    page = {f"{site}/ptpipd/web/static/{f.name}" for f in (installed.src / "ptpipd/web/static").iterdir()}
    assert len(page) >= 5 and page <= python_files, sorted(page - python_files)
    assert any(re.fullmatch(rf"{site}/ptpipd-[0-9.]+\.dist-info/METADATA", k) for k in python_files)
    # the copies are the repository's files (configs byte for byte)
    for name in ("generic.conf", "fuji.conf", "ptpipd.conf"):
        assert (
            installed.path(f"/etc/ptpipd/{name}").read_bytes()
            == (installed.src / "contrib" / name).read_bytes()
        )


def test_units_name_the_installed_binary(installed: Installed) -> None:
    """Only the binary and documentation paths change, and they point inside PREFIX."""
    unit_dir = installed.path(f"{installed.prefix}/lib/systemd/system")
    for name in UNITS:
        original = (installed.src / "systemd" / name).read_text()
        written = (unit_dir / name).read_text()
        expected = original.replace("/usr/bin/ptpipd", f"{installed.prefix}/bin/ptpipd").replace(
            "/usr/share/doc/ptpipd", f"{installed.prefix}/share/doc/ptpipd"
        )
        assert written == expected, name
    for name in ("ptpipd.service", "ptpipd@.service"):
        exec_start = Unit.load(unit_dir / name).one("Service", "ExecStart")
        binary = exec_start.split()[0]
        assert binary == f"{installed.prefix}/bin/ptpipd"
        assert os.access(installed.path(binary), os.X_OK)


def test_prefix_usr_and_admin_config_kept(installed: Installed, tmp_path: Path) -> None:
    """PREFIX=/usr puts the units where distributions do; an existing ptpipd.conf is never replaced."""
    dest = tmp_path / "dest"
    conf = dest / "etc/ptpipd/ptpipd.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[responder]\nhost = 10.0.0.9\n")
    done = run_make(installed.src, "install-systemd", "install-config", f"DESTDIR={dest}", "PREFIX=/usr")
    assert done.returncode == 0, done.stderr
    assert conf.read_text() == "[responder]\nhost = 10.0.0.9\n"
    assert (dest / "etc/ptpipd/generic.conf").is_file()
    service = Unit.load(dest / "usr/lib/systemd/system/ptpipd.service")
    assert service.one("Service", "ExecStart").startswith("/usr/bin/ptpipd ")
    assert (dest / "usr/lib/sysusers.d/ptpipd.conf").is_file()
    assert (dest / "usr/lib/tmpfiles.d/ptpipd.conf").is_file()


def test_python_install_is_clean(installed: Installed) -> None:
    """The scripts run with the chosen interpreter; nothing mentions the staging or build directory; the
    interpreter's own environment is untouched (pip must not uninstall the developer's copy)."""
    site = installed.site_packages()
    for script in ("ptpipd", "ptpipctl", "ptpipd-sim"):
        first = installed.path(f"{installed.prefix}/bin/{script}").read_text().splitlines()[0]
        assert first == f"#!{sys.executable}"
    pycs = list(site.glob("ptpipd/**/*.pyc"))
    assert pycs, "nothing byte-compiled"
    for pyc in pycs:
        data = pyc.read_bytes()
        assert str(installed.dest).encode() not in data, pyc
    assert not list(site.glob("*.dist-info/direct_url.json"))
    for path in site.rglob("*"):
        if path.is_file() and path.suffix != ".pyc":
            assert str(installed.src) not in path.read_text(errors="replace"), path
    assert "lacks pydantic" not in installed.output  # this interpreter has the dependencies
    # pip must not have uninstalled (or replaced) the interpreter's own copy of ptpipd
    assert installed.env_after == installed.env_before


def installed_env(installed: Installed, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The installed site-packages first on the path (the DESTDIR staging is not the real root)."""
    env = dict(extra if extra is not None else os.environ)
    env["PYTHONPATH"] = str(installed.site_packages())
    env.pop("PYTHONHOME", None)
    return env


def test_installed_code_is_what_runs(installed: Installed) -> None:
    env = installed_env(installed)
    found = subprocess.run(
        [sys.executable, "-c", "import ptpipd, ptpipctl; print(ptpipd.__file__); print(ptpipctl.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout.split()
    for path in found:
        assert Path(path).is_relative_to(installed.site_packages()), found


@pytest.mark.parametrize(
    ("program", "args", "expect"),
    [
        ("ptpipd", ["--version"], r"^ptpipd \d+\.\d+\.\d+$"),
        ("ptpipd", ["--help"], r"usage: ptpipd .*--simulate"),
        ("ptpipctl", ["--version"], r"^ptpipctl \d+\.\d+\.\d+$"),
        ("ptpipctl", ["--help"], r"Usage: ptpipctl"),
        ("ptpipd-sim", ["--help"], r"usage: ptpipd-sim"),
    ],
)
def test_installed_programs_run(installed: Installed, program: str, args: list[str], expect: str) -> None:
    done = subprocess.run(
        [str(installed.path(f"{installed.prefix}/bin/{program}")), *args],
        env=installed_env(installed),
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert re.search(expect, done.stdout.strip(), re.DOTALL), done.stdout


def test_installed_daemon_serves_the_simulator(installed: Installed, tmp_path: Path) -> None:
    notify = NotifyListener(tmp_path / "notify.sock")
    sock = tmp_path / "ptpipd.sock"
    log = LogFile(tmp_path / "daemon.log")
    proc = subprocess.Popen(
        [
            str(installed.path(f"{installed.prefix}/bin/ptpipd")),
            "--simulate",
            "generic",
            "--socket",
            str(sock),
            "--rpc-tcp",
            "off",
        ],
        env=installed_env(installed, daemon_env(tmp_path, notify.path)),
        stdout=subprocess.DEVNULL,
        stderr=log.file,
        text=True,
        cwd="/",
    )
    log.file.close()
    daemon = DaemonProcess(proc, sock, None, notify, tmp_path, log)
    try:
        notify.wait_for("READY", "1", timeout=30)
        status = daemon.wait_connected()
        assert status["daemon_version"] == importlib.metadata.version("ptpipd")
        with daemon.connect() as conn:
            assert conn.call("set", {"property": "iso", "value": "800"})["label"] == "800"
            shot = conn.call("capture")
        assert Path(shot["path"]).read_bytes()[:2] == b"\xff\xd8"
    finally:
        rc, err = daemon.stop()
    assert rc == 0, err
    notify_messages = daemon.notify.messages
    assert any(m.get("STOPPING") == "1" for m in notify_messages), notify_messages
    assert "Traceback" not in err, err
