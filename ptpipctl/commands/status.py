"""``ptpipctl status``: the daemon and its camera connection."""

from __future__ import annotations

import sys
import time

from ptpipctl.output import json_text, pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.commands import Globals


def status(g: Globals, *, as_json: bool = False) -> None:
    """Prints the ``status`` result: the camera's connection state, who it is, the daemon's versions."""
    with g.target().connect() as conn:
        result = conn.call("status")
    sys.stdout.write(json_text(result) if as_json else status_text(result))


def status_text(s: dict[str, Any]) -> str:
    """The ``status`` result as aligned ``key  value`` lines."""
    camera = s.get("camera") or {}
    since = s.get("connected_since")
    ports = ",".join(str(p) for p in s.get("ports") or [])
    rows = [
        ("state", str(s.get("state"))),
        ("camera", f"{camera.get('manufacturer', '')} {camera.get('model', '')}".strip() or "-"),
        ("serial", camera.get("serial") or "-"),
        ("firmware", camera.get("version") or "-"),
        ("vendor", str(s.get("vendor"))),
        ("address", f"{s.get('host')}:{ports}" if ports else str(s.get("host"))),
        (
            "connected since",
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
            if isinstance(since, int | float)
            else "-",
        ),
        ("reconnects", str(s.get("reconnects"))),
        ("last error", s.get("last_error") or "-"),
        ("clients", str(s.get("clients"))),
        ("daemon", f"ptpipd {s.get('daemon_version')}, API {s.get('api_version')}"),
    ]
    return pairs(rows)
