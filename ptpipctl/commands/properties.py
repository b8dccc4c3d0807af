"""``ptpipctl get``, ``set`` and ``describe``: one camera property."""

from __future__ import annotations

import sys

from ptpipctl.output import json_text, pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.commands import Globals


def property_ref(text: str) -> str:
    """What the daemon gets for a property argument: the text as given (a name, ``0x5005`` or ``20485``)."""
    return text.strip()


def get(g: Globals, prop: str, *, as_json: bool = False) -> None:
    """Prints a property's current value."""
    with g.target().connect() as conn:
        result = conn.call("get", {"property": property_ref(prop)})
    sys.stdout.write(json_text(result) if as_json else value_text(result))


def set_(g: Globals, prop: str, value: str, *, as_json: bool = False) -> None:
    """Writes a property and prints the value the camera reports afterwards."""
    with g.target().connect() as conn:
        result = conn.call("set", {"property": property_ref(prop), "value": value})
    sys.stdout.write(json_text(result) if as_json else value_text(result))


def describe(g: Globals, prop: str, *, as_json: bool = False, pretty: bool = False) -> None:
    """Prints a property's value, type, factory default and allowed values."""
    with g.target().connect() as conn:
        result = conn.call("describe", {"property": property_ref(prop)})
    sys.stdout.write(json_text(result, pretty=pretty) if as_json or pretty else describe_text(result))


def labelled(label: object, hexa: object) -> str:
    """``400 (0x0190)``, or the label alone when there is no hex form (strings, arrays)."""
    return f"{label} ({hexa})" if hexa else str(label)


def _value_rows(v: dict[str, Any]) -> list[tuple[str, str]]:
    access = "read-write" if v.get("writable") else "read-only"
    raw = v.get("value")
    raw_text = " ".join(str(x) for x in raw) if isinstance(raw, list) else str(raw)
    return [
        ("property", str(v.get("property"))),
        ("name", f"{v.get('name')} ({v.get('code')})"),
        ("value", str(v.get("label"))),
        ("raw", labelled(raw_text, v.get("hex"))),
        ("type", f"{v.get('type')}, {access}"),
    ]


def value_text(v: dict[str, Any]) -> str:
    """A ``PropertyValue`` as aligned ``key  value`` lines."""
    return pairs(_value_rows(v))


def allowed_text(v: dict[str, Any]) -> tuple[str, str]:
    """The ``allowed`` or ``range`` line of a ``PropertyDesc``."""
    form = v.get("form") or {}
    kind = form.get("kind")
    if kind == "enum":
        return ("allowed", ", ".join(str(item.get("label")) for item in form.get("values") or []) or "-")
    if kind == "range":
        return ("range", f"{form.get('min')} to {form.get('max')}, step {form.get('step')}")
    return ("allowed", f"any {v.get('type')} value")


def describe_text(v: dict[str, Any]) -> str:
    """A ``PropertyDesc`` as aligned ``key  value`` lines."""
    default = v.get("factory_default") or {}
    rows = _value_rows(v)
    rows.append(("default", labelled(default.get("label"), default.get("hex"))))
    rows.append(allowed_text(v))
    return pairs(rows)
