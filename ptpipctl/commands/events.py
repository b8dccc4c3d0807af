"""``ptpipctl events``: the daemon's notifications as they arrive, until Ctrl-C."""

from __future__ import annotations

import sys
import time

from ptpipctl.client import UsageError
from ptpipctl.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.commands import Globals

TOPICS = ("event", "property", "connection")


def events(g: Globals, *, as_json: bool = False, topics: list[str] | tuple[str, ...] = ()) -> None:
    """Subscribes and prints each notification (``--json``: one JSON object per line) until interrupted.

    Once subscribed it says so in one line on stderr. Ends normally (exit 0) on Ctrl-C; a daemon that goes
    away ends it with exit 105.
    """
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
            while True:
                while conn.notifications:
                    show(conn.notifications.pop(0), as_json)
                message = conn.read_message(timeout=None)
                if isinstance(message, dict) and "method" in message and "id" not in message:
                    show(message, as_json)
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
    elif method == "notify.property":
        what = f"{p.get('property')} = {p.get('label')} ({p.get('code')})"
        topic = "property"
    elif method == "notify.connection":
        what = str(p.get("state")) + (f": {p['reason']}" if p.get("reason") else "")
        topic = "connection"
    else:
        what = json_text(p).strip()
        topic = method
    return f"{stamp}  {topic:<10}  {what}\n"
