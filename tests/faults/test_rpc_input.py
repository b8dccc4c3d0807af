"""Issue 14, defects 4, 5 and 12: hostile JSON-RPC input gets a precise standard answer, in standard JSON,
and guessing the token is throttled.

A real ``ptpipd --simulate generic`` subprocess over its Unix socket and TCP. Node.js's ``JSON.parse`` is
the independent strict parser (the one the issue names).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import Defect, check, check_all, error_code, simulated_daemon
from tests.procs import DaemonProcess

NODE = shutil.which("node")
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    with simulated_daemon(tmp_path_factory.mktemp("rpc-input")) as d:
        yield d


def exchange(daemon: DaemonProcess, line: str) -> bytes:
    """Sends one raw line on a fresh connection and returns the raw answer line."""
    with daemon.connect() as conn:
        conn.send_line(line)
        deadline = time.monotonic() + 15
        buf = b""
        while b"\n" not in buf:
            conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = conn.sock.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        return buf.partition(b"\n")[0]


# ------------------------------------------------------------------------------------------------ defect 4


@pytest.mark.xfail(
    strict=True,
    raises=Defect,
    reason="issue 14 defect 4: a huge integer string gives -32603 (int digit limit) instead of -32602",
)
def test_a_huge_integer_is_invalid_params(daemon: DaemonProcess) -> None:
    """Issue 14 defect 4: ``opreq`` with ``code`` ``"0x"`` + 5000 ``f`` → -32602 (invalid params), never
    -32603 (today -32603 "Exceeds the limit (4300 digits) for integer string conversion")."""
    line = json.dumps({"jsonrpc": "2.0", "method": "opreq", "params": {"code": "0x" + "f" * 5000}, "id": 1})
    response = json.loads(exchange(daemon, line))
    check(error_code(response) == -32602, f"expected -32602, got {json.dumps(response)[:300]}")


# ------------------------------------------------------------------------------------------------ defect 5

#: Requests with a non-standard number token, and the codes that refuse them.
REFUSED = {
    "id NaN": ('{"jsonrpc":"2.0","method":"status","id":NaN}', {-32600, -32700}),
    "id Infinity": ('{"jsonrpc":"2.0","method":"status","id":Infinity}', {-32600, -32700}),
    "id -Infinity": ('{"jsonrpc":"2.0","method":"status","id":-Infinity}', {-32600, -32700}),
    "id 1e400": ('{"jsonrpc":"2.0","method":"status","id":1e400}', {-32600, -32700}),
    "param NaN": ('{"jsonrpc":"2.0","method":"get","params":{"property":NaN},"id":2}', {-32600, -32700}),
    # 1e400 is valid JSON grammar: invalid params is a fair answer too, as long as the answer is standard
    "param 1e400": (
        '{"jsonrpc":"2.0","method":"opreq","params":{"code":1e400},"id":3}',
        {-32600, -32602, -32700},
    ),
}


def node_refusals(lines: list[bytes]) -> dict[int, str]:
    """Why Node.js's JSON.parse refuses a line (or finds a non-finite number in it), by line index."""
    assert NODE is not None
    script = (
        "const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter(Boolean);"
        "for (const [i, l] of lines.entries()) {"
        "  try { JSON.parse(l, (k, v) => { if (typeof v === 'number' && !isFinite(v)) throw Error('non-finite');"
        "    return v; }); }"
        "  catch (e) { console.log(i + ' ' + e.message); } }"
    )
    proc = subprocess.run(
        [NODE, "-e", script], input=b"\n".join(lines) + b"\n", capture_output=True, timeout=30, check=True
    )
    return {int(i): why for i, _, why in (line.partition(" ") for line in proc.stdout.decode().splitlines())}


def python_strict(line: bytes) -> Any:
    """``json.loads`` that refuses NaN/Infinity and numbers that overflow to infinity."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard token {token}")

    def finite(text: str) -> float:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError(f"{text} is not a finite number")
        return value

    return json.loads(line, parse_constant=refuse, parse_float=finite)


@pytest.mark.skipif(NODE is None, reason="node is not installed (make system-deps)")
@pytest.mark.xfail(
    strict=True,
    raises=Defect,
    reason="issue 14 defect 5: NaN/Infinity ids are echoed and -32602 data echoes NaN: answers are not JSON",
)
def test_non_standard_numbers_are_refused_in_standard_json(daemon: DaemonProcess) -> None:
    """Issue 14 defect 5: a request with ``NaN``, ``Infinity`` or ``1e400`` gets an error (-32600/-32700;
    -32602 for a finite-number param) with ``"id": null`` when its id is the culprit, and every answer is
    standard JSON: Node.js's JSON.parse accepts it and finds no non-finite number (today the id comes back
    as ``NaN``/``Infinity`` with a result, and -32602 data echoes ``"input": NaN``)."""
    answers = {name: exchange(daemon, line) for name, (line, _) in REFUSED.items()}
    control = exchange(daemon, '{"jsonrpc":"2.0","method":"status","id":7}')
    refused = node_refusals([*answers.values(), control])
    assert len(answers) not in refused, f"JSON.parse refuses a plain status answer: {refused}"
    problems = []
    for index, (name, raw) in enumerate(answers.items()):
        if index in refused:
            problems.append(f"{name}: JSON.parse refuses the answer ({refused[index]})")
        try:
            response = python_strict(raw)
        except ValueError as exc:
            problems.append(f"{name}: {exc} in {raw[:100]!r}…")
            continue
        allowed = REFUSED[name][1]
        if error_code(response) not in allowed:
            problems.append(f"{name}: expected one of {sorted(allowed)}, got {raw[:200]!r}")
        if name.startswith("id ") and response.get("id") is not None:
            problems.append(f"{name}: the answer's id must be null, got {raw[:200]!r}")
    check_all(problems)


# ----------------------------------------------------------------------------------------------- defect 12


def wrong_auth(i: int) -> bytes:
    return (
        json.dumps({"jsonrpc": "2.0", "method": "auth", "params": {"token": f"guess-{i}"}, "id": i}) + "\n"
    ).encode()


def answers_until_closed(sock: socket.socket, expected: int, timeout: float) -> tuple[int, bool]:
    """Counts answer lines until ``expected`` arrived or the daemon closed; (count, closed)."""
    deadline = time.monotonic() + timeout
    buf, count = b"", 0
    while count < expected:
        left = deadline - time.monotonic()
        if left <= 0:
            return count, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            return count, False
        except ConnectionResetError:
            return count, True
        if not chunk:
            return count, True
        buf += chunk
        count += buf.count(b"\n")
        buf = buf.rpartition(b"\n")[2]
    return count, False


@pytest.mark.xfail(
    strict=True,
    raises=Defect,
    reason="issue 14 defect 12: wrong auth tokens are not throttled (3,000 guesses in 0.45 s on one connection)",
)
def test_wrong_tokens_are_throttled(tmp_path: Path) -> None:
    """Issue 14 defect 12, on a daemon with an ``auth_token`` (TCP):

    * one connection sending 50 wrong ``auth`` calls back to back is closed after a few failures (at most
      10 answers, and the close comes within 10 s);
    * then, from the same peer, fresh connections guessing one token each get at most 20 wrong-token answers
      in one second (today: every guess is answered at once, thousands per second).
    """
    problems = []
    with simulated_daemon(tmp_path / "d", env={"PTPIPD_AUTH_TOKEN": TOKEN}) as daemon:
        assert daemon.tcp is not None
        with socket.create_connection(daemon.tcp, timeout=10) as sock:
            sock.sendall(b"".join(wrong_auth(i) for i in range(50)))
            answered, closed = answers_until_closed(sock, 50, 10.0)
        if not closed or answered > 10:
            problems.append(f"one connection: {answered} wrong guesses answered, closed: {closed}")
        wrong, attempts = 0, 0
        window_end = time.monotonic() + 1.0
        while (left := window_end - time.monotonic()) > 0:
            attempts += 1
            with socket.create_connection(daemon.tcp, timeout=10) as sock:
                sock.sendall(wrong_auth(attempts))
                sock.settimeout(left)
                try:
                    line = sock.recv(1 << 16)
                except (TimeoutError, ConnectionResetError):
                    continue
            if b"-32010" in line:
                wrong += 1
        if wrong > 20:
            problems.append(f"fresh connections: {wrong} wrong guesses answered in 1 s ({attempts} tried)")
        with daemon.connect("tcp") as conn:  # the right token still works for another client
            assert conn.call("auth", {"token": TOKEN}) is True
    check_all(problems)
