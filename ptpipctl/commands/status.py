"""``ptpipctl status`` and ``wait``: the daemon and its camera connection."""

from __future__ import annotations

import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.commands import show
from ptpipctl.declare import JSON, Param, command
from ptpipctl.output import pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

WAIT_SECONDS = 60.0


@command(JSON)
def status(g: Globals, *, as_json: bool) -> None:
    """The daemon and its camera connection."""
    show(g, "status", None, status_text, as_json)


def _when(stamp: object) -> str | None:
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _camera(s: dict[str, Any]) -> str:
    camera = s.get("camera") or {}
    return f"{camera.get('manufacturer', '')} {camera.get('model', '')}".strip()


def last_error_text(s: dict[str, Any]) -> str:
    """The last error, with its time when the daemon sends ``last_error_time``."""
    when = _when(s.get("last_error_time"))
    return (
        "-" if not s.get("last_error") else f"{s['last_error']} (at {when})" if when else str(s["last_error"])
    )


def status_text(s: dict[str, Any]) -> str:
    """The ``status`` result as aligned ``key  value`` lines (``attempts`` when the daemon counts them)."""
    camera = s.get("camera") or {}
    ports = ",".join(str(p) for p in s.get("ports") or [])
    rows = [
        ("state", str(s.get("state"))),
        ("camera", _camera(s) or "-"),
        ("serial", camera.get("serial") or "-"),
        ("firmware", camera.get("version") or "-"),
        ("vendor", str(s.get("vendor"))),
        ("address", f"{s.get('host')}:{ports}" if ports else str(s.get("host"))),
        ("connected since", _when(s.get("connected_since")) or "-"),
        ("reconnects", str(s.get("reconnects"))),
        *([("attempts", str(s["attempts"]))] if "attempts" in s else []),
        ("last error", last_error_text(s)),
        ("clients", str(s.get("clients"))),
        ("daemon", f"ptpipd {s.get('daemon_version')}, API {s.get('api_version')}"),
    ]
    return pairs(rows)


def state_text(s: dict[str, Any]) -> str:
    """``state connecting; last error: … (at …); 3 attempts`` from a ``status`` result."""
    text = f"state {s.get('state')}" + (f"; last error: {last_error_text(s)}" if s.get("last_error") else "")
    return text + (f"; {s['attempts']} attempts" if "attempts" in s else "")


WAIT = Param(
    "--timeout",
    "timeout",
    f"How long to wait for the camera (default {WAIT_SECONDS:g}).",
    metavar="SECONDS",
    kind=float,
    default=WAIT_SECONDS,
)


@command(WAIT)
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
                status = conn.call("status")
                raise CtlError(f"the camera is not connected after {timeout:g} s ({state_text(status)})")
            if (note.get("params") or {}).get("state") == "connected":
                result = conn.call("status")
    sys.stdout.write(f"connected to {_camera(result) or 'the camera'}\n")
