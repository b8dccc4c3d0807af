"""docs/api.md is what ``make docs`` generates now (from rpc.discover, with real examples), and it has an
example request and response for every method and every error code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ptpipd.rpc import make_dispatcher
from ptpipd.rpc.errors import ERROR_TABLE
from ptpipd.service import CameraService
from ptpipd.vendors.base import CameraConfig
from tests.procs import REPO

API = REPO / "docs" / "api.md"
GENERATOR = REPO / "docs" / "gen_api.py"
FENCE = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_api_md_is_current() -> None:
    done = check(API)
    assert done.returncode == 0, f"{done.stderr}\n{done.stdout}"


def test_check_notices_a_stale_file(tmp_path: Path) -> None:
    current = API.read_text()
    edited = current.replace('"label": "800"', '"label": "900"', 1)
    assert edited != current
    stale = tmp_path / "api.md"
    stale.write_text(edited)
    done = check(stale)
    assert done.returncode == 1
    assert re.search(r'(?m)^-.*"label": "900"', done.stdout), done.stdout
    assert "is stale: run `make docs`" in done.stderr


def sections(level: str) -> dict[str, str]:
    """Heading text → the section's body, for headings of ``level`` (e.g. ``###``)."""
    text = API.read_text()
    parts = re.split(rf"(?m)^{level} (.+)$", text)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def examples(body: str) -> list[object]:
    """The JSON blocks of a section (requests and responses alternate; notifications are NDJSON)."""
    out: list[object] = []
    for block in FENCE.findall(body):
        try:
            out.append(json.loads(block))
        except json.JSONDecodeError:
            out.append(block)  # the parse-error example's request is deliberately not JSON
    return out


def test_every_method_has_a_real_example() -> None:
    dispatcher = make_dispatcher(CameraService(CameraConfig()), Path("/nonexistent"))
    names = list(dispatcher.table)
    body = sections("###")
    for name in names:
        assert name in body, f"no section for {name}"
        blocks = examples(body[name])
        assert len(blocks) >= 2, name
        request, response = blocks[0], blocks[1]
        assert isinstance(request, dict) and request["method"] == name, (name, request)
        assert isinstance(response, dict) and response["id"] == request["id"], (name, response)
        assert ("result" in response) != ("error" in response)
    # at least one successful example per method, except `state` on cameras without a state list
    for name in names:
        answers = [b for b in examples(body[name])[1::2] if isinstance(b, dict)]
        assert any("result" in a for a in answers) or name == "state", name


def test_every_error_code_has_a_real_example() -> None:
    body = sections("###")
    for code in ERROR_TABLE:
        blocks = examples(body[str(code)])
        assert len(blocks) == 2, code
        response = blocks[1]
        answers = response if isinstance(response, list) else [response]
        assert any(isinstance(a, dict) and a.get("error", {}).get("code") == code for a in answers), code


def test_examples_are_normalised() -> None:
    """Nothing of the machine that generated the file: no temporary paths, ports or current times."""
    text = API.read_text()
    assert "/tmp/" not in text
    assert not re.search(r"127\.0\.0\.1', (?!15740\)|5574[012]\))\d+\)", text)
    for ts in re.findall(r'"(?:time|connected_since)": ([0-9.]+)', text):
        assert float(ts) == 1717236000.0
