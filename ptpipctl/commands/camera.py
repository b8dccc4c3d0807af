"""``ptpipctl info`` and ``state``: everything the camera says about itself."""

from __future__ import annotations

import sys

from ptpipctl.declare import JSON, PRETTY, command
from ptpipctl.output import json_text, pairs, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

PROPERTY_HEADER = ("Property", "Code", "Name", "Value", "Hex", "Access")
STATE_HEADER = ("Property", "Code", "Name", "Value", "Hex")


@command(JSON, PRETTY)
def info(g: Globals, *, as_json: bool, pretty: bool) -> None:
    """The camera's description and every property's value."""
    with g.target().connect() as conn:
        result = conn.call("info")
    sys.stdout.write(json_text(result, pretty=pretty) if as_json or pretty else info_text(result))


@command(JSON, PRETTY)
def state(g: Globals, *, as_json: bool, pretty: bool) -> None:
    """The camera's state list (Fujifilm)."""
    with g.target().connect() as conn:
        result = conn.call("state")
    sys.stdout.write(json_text(result, pretty=pretty) if as_json or pretty else state_text(result))


def _cell(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


def info_text(result: dict[str, Any]) -> str:
    """The device fields as ``key  value`` lines, a blank line, and the properties table."""
    device = result.get("device") or {}
    head = pairs((str(k).replace("_", " "), _cell(v)) for k, v in device.items())
    rows = [
        (
            str(p.get("property")),
            str(p.get("code")),
            str(p.get("name")),
            str(p.get("label")),
            p.get("hex") or "-",
            "rw" if p.get("writable") else "ro",
        )
        for p in result.get("properties") or []
    ]
    return head + "\n" + table(rows, PROPERTY_HEADER)


def state_text(entries: list[dict[str, Any]]) -> str:
    """The state list as a table."""
    rows = [
        (
            str(e.get("property")),
            str(e.get("code")),
            str(e.get("name")),
            str(e.get("label")),
            f"0x{e['value']:x}" if isinstance(e.get("value"), int) else "-",
        )
        for e in entries
    ]
    return table(rows, STATE_HEADER)
