"""``ptpipctl status`` and ``wait``: the daemon and its camera connection."""

from __future__ import annotations

import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.declare import JSON, Param, command
from ptpipctl.output import json_text, pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

WAIT_SECONDS = 60.0


@command(JSON)
def status(g: Globals, *, as_json: bool) -> None:
    """The daemon and its camera connection."""
    with g.target().connect() as conn:
        result = conn.call("status")
    sys.stdout.write(json_text(result) if as_json else status_text(result))


def _when(stamp: object) -> str | None:
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def last_error_text(s: dict[str, Any]) -> str:
    """The last error, with its time when the daemon sends ``last_error_time``."""
    error = s.get("last_error")
    if not error:
        return "-"
    when = _when(s.get("last_error_time"))
    return f"{error} (at {when})" if when else str(error)


def status_text(s: dict[str, Any]) -> str:
    """The ``status`` result as aligned ``key  value`` lines (``attempts`` when the daemon counts them)."""
    camera = s.get("camera") or {}
    ports = ",".join(str(p) for p in s.get("ports") or [])
    rows = [
        ("state", str(s.get("state"))),
        ("camera", f"{camera.get('manufacturer', '')} {camera.get('model', '')}".strip() or "-"),
        ("serial", camera.get("serial") or "-"),
        ("firmware", camera.get("version") or "-"),
        ("vendor", str(s.get("vendor"))),
        ("address", f"{s.get('host')}:{ports}" if ports else str(s.get("host"))),
        ("connected since", _when(s.get("connected_since")) or "-"),
        ("reconnects", str(s.get("reconnects"))),
    ]
    if "attempts" in s:
        rows.append(("attempts", str(s["attempts"])))
    rows.append(("last error", last_error_text(s)))
    rows.append(("clients", str(s.get("clients"))))
    rows.append(("daemon", f"ptpipd {s.get('daemon_version')}, API {s.get('api_version')}"))
    return pairs(rows)


@command(
    Param(
        "--timeout",
        "timeout",
        f"How long to wait for the camera (default {WAIT_SECONDS:g}).",
        metavar="SECONDS",
        kind=float,
        default=WAIT_SECONDS,
    )
)
def wait(g: Globals, *, timeout: float) -> None:
    """Waits until the daemon is connected to its camera (exit 0), or says why not after --timeout (exit 1)."""
    if not 0 <= timeout < float("inf"):
        raise UsageError(f"the wait must be 0 or more seconds, not {timeout}")
    deadline = time.monotonic() + timeout
    with g.target().connect() as conn:
        conn.call("subscribe", {"topics": ["connection"]})  # first, so no change goes unseen
        result = conn.call("status")
        if result.get("state") != "connected":  # on stderr: scripts may wait for this line
            sys.stderr.write(f"waiting for the camera ({state_text(result)}), at most {timeout:g} s\n")
            sys.stderr.flush()
        while result.get("state") != "connected":
            left = deadline - time.monotonic()
            note = conn.notification(left) if left > 0 else None
            if note is None:
                raise CtlError(not_connected_text(conn.call("status"), timeout))
            if (note.get("params") or {}).get("state") == "connected":
                result = conn.call("status")
    camera = result.get("camera") or {}
    who = f"{camera.get('manufacturer', '')} {camera.get('model', '')}".strip() or "the camera"
    sys.stdout.write(f"connected to {who}\n")


def state_text(s: dict[str, Any]) -> str:
    """``state connecting; last error: … (at …); 3 attempts`` from a ``status`` result."""
    text = f"state {s.get('state')}"
    if s.get("last_error"):
        text += f"; last error: {last_error_text(s)}"
    if "attempts" in s:
        text += f"; {s['attempts']} attempts"
    return text


def not_connected_text(s: dict[str, Any], timeout: float) -> str:
    """Why ``wait`` gave up: the state, the last error with its time, the attempts."""
    return f"the camera is not connected after {timeout:g} s ({state_text(s)})"
