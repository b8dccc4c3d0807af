"""``ptpipctl info`` and ``state``: everything the camera says about itself."""

from __future__ import annotations

from ptpipctl.commands import show
from ptpipctl.declare import JSON, PRETTY, command
from ptpipctl.output import fields, pairs, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals


@command(JSON, PRETTY)
def info(g: Globals, *, as_json: bool, pretty: bool) -> None:
    """The camera's description and every property's value."""
    show(g, "info", None, info_text, as_json, pretty)


@command(JSON, PRETTY)
def state(g: Globals, *, as_json: bool, pretty: bool) -> None:
    """The camera's state list (Fujifilm)."""
    show(g, "state", None, state_text, as_json, pretty)


def _cell(value: object) -> str:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return "-" if value is None or value == "" else str(value)


def info_text(result: dict[str, Any]) -> str:
    """The device fields as ``key  value`` lines, a blank line, and the properties table."""
    head = pairs((str(k).replace("_", " "), _cell(v)) for k, v in (result.get("device") or {}).items())
    rows = [
        [
            *fields(p, "property", "code", "name", "label"),
            p.get("hex") or "-",
            "rw" if p.get("writable") else "ro",
        ]
        for p in result.get("properties") or []
    ]
    return head + "\n" + table(rows, ("Property", "Code", "Name", "Value", "Hex", "Access"))


def state_text(entries: list[dict[str, Any]]) -> str:
    """The state list as a table."""
    rows = [
        [
            *fields(e, "property", "code", "name", "label"),
            f"0x{e['value']:x}" if isinstance(e.get("value"), int) else "-",
        ]
        for e in entries
    ]
    return table(rows, ("Property", "Code", "Name", "Value", "Hex"))
