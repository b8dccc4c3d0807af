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

TOPICS = ("event", "property", "connection", "ingest")


def _complete_topic(_g: Globals, incomplete: str, _given: dict[str, Any]) -> list[str]:
    return [t for t in TOPICS if t.startswith(incomplete)]


@command(
    Param("--json", "as_json", "One JSON object per notification and line."),
    Param(
        "--topic",
        "topics",
        "event, property, connection or ingest (repeatable; default: all).",
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
                as_sent = {"method": note.get("method"), "params": note.get("params")}
                sys.stdout.write(json_text(as_sent) if as_json else note_text(note))
                sys.stdout.flush()
    except KeyboardInterrupt:
        return


def note_text(note: dict[str, Any], now: float | None = None) -> str:
    """One line: local time, the topic, what happened."""
    p = note.get("params") or {}
    method = str(note.get("method"))
    stamped = p.get("time")
    when = float(stamped) if isinstance(stamped, int | float) else (time.time() if now is None else now)
    stamp = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
    topic = method.removeprefix("notify.")
    if topic == "event":
        params = " ".join(str(x) for x in p.get("params") or [])
        what = f"{p.get('name')} ({p.get('code')})" + (f" {params}" if params else "")
    elif topic == "connection":
        what = str(p.get("state")) + (f": {p['reason']}" if p.get("reason") else "")
    elif topic == "property":
        what = f"{p.get('property')} = {p.get('label')} ({p.get('code')})"
    elif topic == "ingest":
        handle = f", handle {p['handle']}" if p.get("handle") is not None else ""
        what = f"{p.get('path')} ({p.get('size')} bytes{handle})"
    else:
        what, topic = json_text(p).strip(), method
    return f"{stamp}  {topic:<10}  {what}\n"
