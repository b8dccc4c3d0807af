"""``make install DESTDIR=…`` once per session, on a copy of the working tree.

The copy (tracked and new, not ignored, files) keeps pip's in-tree build directory out of the shared
checkout. DESTDIR is given relative to the source directory, as packaging scripts often do. The install uses this test run's interpreter (``INSTALL_PYTHON``), so the installed scripts run
with the same dependencies; the default PREFIX (/usr/local) is what a user gets from a plain
``make install``.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.systemd.units import REPO

PREFIX = "/usr/local"


@dataclass
class Installed:
    """The result of one ``make install``."""

    src: Path
    dest: Path
    prefix: str
    files: dict[str, int]  # path relative to DESTDIR → mode, right after the install
    output: str
    #: ptpipd's metadata in the installing interpreter's own environment, before and after
    env_before: list[str]
    env_after: list[str]

    def path(self, installed: str) -> Path:
        """Where an installed absolute path is inside DESTDIR."""
        return self.dest / installed.lstrip("/")

    def site_packages(self) -> Path:
        found = sorted(self.dest.glob(f"{self.prefix.lstrip('/')}/lib/python3*/*-packages"))
        assert len(found) == 1, found
        return found[0]


def copy_tree(dst: Path) -> None:
    """The working tree's tracked and new (not ignored) files."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listing)):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree
            continue
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def make_env() -> dict[str, str]:
    """The environment without make or pip settings that would change what gets installed."""
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR", "PREFIX", "PIP_", "PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run_make(src: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(src), *args, f"INSTALL_PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        env=make_env(),
        timeout=timeout,
    )


def snapshot(dest: Path) -> dict[str, int]:
    return {
        str(p.relative_to(dest)): p.stat().st_mode & 0o7777
        for p in dest.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    src, dest = base / "src", base / "dest"
    copy_tree(src)
    before = own_installation()
    done = run_make(src, "install", "DESTDIR=../dest")  # relative, the harder case: make runs in src
    assert done.returncode == 0, f"make install failed:\n{done.stdout}\n{done.stderr}"
    return Installed(src, dest, PREFIX, snapshot(dest), done.stdout + done.stderr, before, own_installation())


def own_installation() -> list[str]:
    """ptpipd's metadata files in this interpreter's site-packages (a developer's install of it)."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    return sorted(
        f"{d.name}: {d.read_text('RECORD') or d.read_text('direct_url.json')}"
        for d in importlib.metadata.distributions(name="ptpipd", path=[str(purelib)])
    )
