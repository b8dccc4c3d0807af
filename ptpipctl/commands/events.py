"""``ptpipctl events``: the daemon's notifications as they arrive, until Ctrl-C."""

from __future__ import annotations

import sys
import time

from ptpipctl.client import UsageError
from ptpipctl.declare import Param, command
from ptpipctl.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

TOPICS = ("event", "property", "connection")


def _complete_topic(_g: Globals, incomplete: str, _given: dict[str, Any]) -> list[str]:
    return [t for t in TOPICS if t.startswith(incomplete)]


@command(
    Param("--json", "as_json", "One JSON object per notification and line."),
    Param(
        "--topic",
        "topics",
        "event, property or connection (repeatable; default: all).",
        metavar="TOPIC",
        many=True,
        complete=_complete_topic,
    ),
)
def events(g: Globals, *, as_json: bool, topics: tuple[str, ...]) -> None:
    """Prints the daemon's notifications as they arrive, until Ctrl-C."""
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise UsageError(f"unknown topic {', '.join(unknown)}; topics: {', '.join(TOPICS)}")
    chosen = list(dict.fromkeys(topics))
    try:
        with g.target().connect() as conn:
            conn.call("subscribe", {"topics": chosen} if chosen else None)
            # on stderr, also with --json: scripts may wait for this line to know the subscription is live
            sys.stderr.write(f"listening to {', '.join(chosen or TOPICS)} notifications; Ctrl-C stops\n")
            sys.stderr.flush()
            while (note := conn.notification(None)) is not None:  # None: waits for ever
                show(note, as_json)
    except KeyboardInterrupt:
        return


def show(note: dict[str, Any], as_json: bool) -> None:
    """Prints one notification."""
    if as_json:
        sys.stdout.write(json_text({"method": note.get("method"), "params": note.get("params")}))
    else:
        sys.stdout.write(note_text(note))
    sys.stdout.flush()


def note_text(note: dict[str, Any], now: float | None = None) -> str:
    """One line: local time, the topic, what happened."""
    p = note.get("params") or {}
    method = str(note.get("method"))
    stamped = p.get("time")
    when = float(stamped) if isinstance(stamped, int | float) else (time.time() if now is None else now)
    stamp = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
    if method == "notify.event":
        params = " ".join(str(x) for x in p.get("params") or [])
        what = f"{p.get('name')} ({p.get('code')})" + (f" {params}" if params else "")
        topic = "event"
    elif method == "notify.connection":
        what = str(p.get("state")) + (f": {p['reason']}" if p.get("reason") else "")
        topic = "connection"
    elif method == "notify.property":
        what = f"{p.get('property')} = {p.get('label')} ({p.get('code')})"
        topic = "property"
    else:
        what = json_text(p).strip()
        topic = method
    return f"{stamp}  {topic:<10}  {what}\n"
