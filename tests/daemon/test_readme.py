"""Issue 15 item 16 (the daemon's part): the README's ptpipd section says what ``ptpipd --help`` says — its
options table row for row, the default socket, and the exit codes — and the unified property names table
(item 5) says what the vendors' property tables do. On a difference the assertion shows the rows to paste.

As tests/cli/test_readme.py does for ptpipctl, the help is the installed program's, run as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ptpipd.vendors.base import PropertyTable
from ptpipd.vendors.fuji import FujiDriver
from ptpipd.vendors.generic import GenericDriver
from tests.procs import REPO

ENTRY = re.compile(r"^  (-\S.*?)(?:  +(.*))?$")
ENV = re.compile(r"\s*\[env: ([\w, ]+)\]$")


def help_text() -> str:
    """``ptpipd --help`` of the installed console script, on a terminal wide enough that nothing wraps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTPIPD_")}
    env["COLUMNS"] = "1000"
    ptpipd = Path(sys.executable).with_name("ptpipd")
    done = subprocess.run([str(ptpipd), "--help"], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def option_rows(text: str) -> list[str]:
    """The help's options as README rows; a long option's text on the next line is joined to it."""
    section = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    entries: list[tuple[str, str]] = []
    for line in section.splitlines():
        match = ENTRY.match(line)
        if match:
            entries.append((match[1], match[2] or ""))
        else:
            term, words = entries[-1]
            entries[-1] = (term, f"{words} {line.strip()}".strip())
    rows = []
    for term, words in entries:
        if term == "-h, --help":
            continue
        env = ENV.search(words)
        names = ", ".join(f"`{name}`" for name in env[1].split(", ")) if env else "–"
        rows.append(f"| `{term}` | {names} | {ENV.sub('', words)} |")
    return rows


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def table(section: str, index: int = 0) -> list[str]:
    """The rows (header and rule left out) of the section's ``index``-th table."""
    blocks = [block.strip("\n") for block in section.split("\n\n")]
    tables = [block.splitlines()[2:] for block in blocks if block.startswith("| ")]
    return tables[index]


def test_readme_options_are_the_help() -> None:
    expected = option_rows(help_text())
    assert table(readme_section("ptpipd")) == expected, "\n" + "\n".join(expected)


def test_the_default_socket_the_timeout_and_the_exit_codes_agree() -> None:
    text = " ".join(help_text().split())
    section = readme_section("ptpipd")
    assert "/tmp/ptpipd-$UID/ptpipd.sock" in text and "`--timeout SECONDS`" in section
    api = readme_section("The JSON-RPC API")
    assert "else `/tmp/ptpipd-$UID/ptpipd.sock`" in " ".join(api.split("\n\n", 1)[0].split())
    codes = text.split("Exit codes: ", 1)[1].removesuffix(".")
    row = next(r for r in table(readme_section("Exit codes")) if r.startswith("| `ptpipd` |"))
    assert row.replace("`", "") == f"| ptpipd | {codes} |"


# ------------------------------------------------------------------------ unified property names (item 5)

CODE = re.compile(r"`0x([0-9A-F]{4})`")
TABLES: dict[str, PropertyTable] = {"generic": GenericDriver.properties, "fuji": FujiDriver.properties}


def test_the_unified_names_table_says_what_the_vendors_do() -> None:
    """Each row: its names (the first is the unified name, the others aliases), then one column per vendor
    with the code they mean on it, or – where the camera has no such property."""
    rows = table(readme_section("The JSON-RPC API"), index=1)
    assert rows, "the unified property names table"
    seen: set[str] = set()
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        names = re.findall(r"`([\w-]+)`", cells[0])
        for vendor, cell in zip(("generic", "fuji"), cells[2:4], strict=True):
            code = CODE.search(cell)
            for name in names:
                spec = TABLES[vendor].by_name(name)
                if code is None:
                    assert cell == "–" and spec is None, (vendor, name, spec)
                else:
                    assert spec is not None and spec.code == int(code[1], 16), (vendor, name, cell, spec)
                    assert names[0] == spec.name, f"{name} is an alias of {spec.name} on {vendor}"
        seen.update(names)
    generic_names = {s.name for s in GenericDriver.properties.specs}
    assert generic_names <= seen, sorted(generic_names - seen)
    for name in ("shutterspeed", "shutter", "aperture", "recmode", "quality", "commanddial"):
        assert name in seen
