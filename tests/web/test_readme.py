"""The README's curl examples of the data plane run as written against a daemon (curl is Debian's, a
third-party client): every ``curl`` line of the README's ``sh`` blocks, its address swapped for the test
daemon's, exits 0 and gets what its comment promises. ``curl -C - -OJ`` once stood there; curl refuses
``--continue-at`` with ``--remote-header-name`` (exit 2)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.procs import REPO
from tests.web.conftest import Web

README_URL = "http://127.0.0.1:15780"
README_SOCKET = "/tmp/ptpipd-http.sock"


def curl_lines() -> list[str]:
    """Each ``curl`` command of the README's ``sh`` blocks: its comment and anything it pipes into cut off."""
    text = (REPO / "README.md").read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("curl "):
                lines.append(re.split(r"\s+#\s|\s\|\s", line)[0].strip())
    return lines


def run(line: str, web: Web, cwd: Path, seconds: float = 30) -> subprocess.CompletedProcess[bytes]:
    """The README's command against ``web`` (its TCP address and Unix socket), within ``seconds``."""
    args = [
        arg.replace(README_URL, f"http://{web.host}:{web.port}").replace(README_SOCKET, str(web.unix))
        for arg in shlex.split(line)
    ]
    assert shutil.which(args[0]), "curl is installed by make system-deps"
    return subprocess.run(
        [*args, "--max-time", f"{seconds:g}"], cwd=cwd, capture_output=True, timeout=seconds + 30, check=False
    )


def test_the_readmes_curl_examples_of_files_run(generic_web: Web, tmp_path: Path) -> None:
    """The tour's downloads: the list, a download under the camera's file name, a resumed one (a partial
    file completed with a Range), a capture, the list over the Unix socket."""
    lines = [line for line in curl_lines() if "liveview" not in line]
    assert len(lines) >= 5 and any(" -C - " in line for line in lines), lines
    _, _, whole = generic_web.request("GET", "/files/3")
    for line in lines:
        output = tmp_path / "IMG_0001.JPG"
        if " -C - " in line:  # an interrupted download: half of the file is there
            output.write_bytes(whole[: len(whole) // 2])
        done = run(line, generic_web, tmp_path)
        assert done.returncode == 0, (line, done.returncode, done.stderr.decode(errors="replace"))
        if line.endswith("/files/3"):
            assert output.read_bytes() == whole, line
            output.unlink()
        elif "/capture" in line:
            assert json.loads(done.stdout)["url"].startswith("/files/"), line
        else:
            assert json.loads(done.stdout)[0]["url"] == "/files/3", line


def test_the_readmes_curl_examples_of_live_view_run(fuji_web: Web, tmp_path: Path) -> None:
    """The stream (cut after 2 s: curl's exit 28) is multipart with JPEG parts; the snapshot is a JPEG."""
    lines = [line for line in curl_lines() if "liveview" in line]
    assert len(lines) >= 2, lines
    for line in lines:
        if line.endswith(".mjpeg"):
            done = run(line, fuji_web, tmp_path, seconds=2)
            assert done.returncode == 28, (line, done.returncode, done.stderr.decode(errors="replace"))
            assert done.stdout.startswith(b"--ptpipdframe\r\nContent-Type: image/jpeg\r\n"), done.stdout[:200]
            continue
        done = run(line, fuji_web, tmp_path)
        assert done.returncode == 0, (line, done.returncode, done.stderr.decode(errors="replace"))
        (name,) = re.findall(r"-o (\S+)", line)
        assert (tmp_path / name).read_bytes().startswith(b"\xff\xd8"), line


#: A module named in the map (not a pattern such as ``fuji*.py`` or ``*_codes.py``).
MODULE = re.compile(r"(?<![\w*])(\w+\.py)\b")


def layout_rows() -> dict[str, str]:
    """The README's module map (Development, Layout): each row's path and its words (lines joined)."""
    text = (REPO / "README.md").read_text()
    block = text.split("\nLayout (", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    rows: dict[str, str] = {}
    key = ""
    for line in block.splitlines():
        if line.startswith(" "):
            rows[key] += " " + line.strip()
        elif line.startswith(("ptpipd", "ptpipctl")):
            key, _, words = line.partition(" ")
            rows[key] = words.strip()
    return rows


def test_the_module_map_names_only_modules_that_exist() -> None:
    """Every ``NAME.py`` a row of the module map names is in that row's directory (``web/bridge.py`` was
    merged into ``backend.py`` and stayed named), and every module of ``ptpipd/web`` is named."""
    rows = layout_rows()
    for key, words in rows.items():
        folder = REPO / (key if key.endswith("/") else key.rsplit("/", 1)[0])
        missing = [name for name in MODULE.findall(words) if not (folder / name).is_file()]
        assert not missing, f"{key} names {missing}, not in {folder}"
    assert {"ptpipd/web/", "ptpipd/rpc/", "ptpipd/*.py"} <= set(rows), rows.keys()
    web = {path.name for path in (REPO / "ptpipd" / "web").glob("*.py")} - {"__init__.py"}
    named = set(MODULE.findall(rows["ptpipd/web/"]))
    assert web <= named, f"ptpipd/web modules the map does not name: {sorted(web - named)}"
