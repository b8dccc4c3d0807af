"""``ptpipctl get``, ``set`` and ``describe``: one camera property; and their shell completion."""

from __future__ import annotations

import sys

from ptpipctl.client import CtlError
from ptpipctl.declare import JSON, PRETTY, Param, command
from ptpipctl.output import json_text, pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

#: Offered by shell completion when the daemon cannot be asked: the unified names most cameras have.
PROPERTY_NAMES = (
    "battery",
    "delay",
    "effect",
    "exp-bias",
    "exposure",
    "flashmode",
    "fnumber",
    "focusmode",
    "focusmtr",
    "imagesize",
    "iso",
    "program",
    "whitebalance",
)

#: How long shell completion waits for the daemon before it falls back to the static list.
COMPLETION_TIMEOUT = 1.0


def _ask(g: Globals, method: str, params: dict[str, Any] | None = None) -> Any:
    """The daemon's answer within :data:`COMPLETION_TIMEOUT`, or None (completion stays silent)."""
    try:
        target = g.target()
        target.timeout = min(target.timeout, COMPLETION_TIMEOUT)
        with target.connect() as conn:
            return conn.call(method, params)
    except CtlError:
        return None


def complete_property(g: Globals, incomplete: str, _given: dict[str, Any]) -> list[str]:
    """The connected camera's property names (``info``), else :data:`PROPERTY_NAMES`."""
    info = _ask(g, "info")
    names: tuple[str, ...] = PROPERTY_NAMES
    if isinstance(info, dict) and isinstance(info.get("properties"), list):
        names = tuple(str(p.get("property")) for p in info["properties"] if isinstance(p, dict))
    return [n for n in names if n.lower().startswith(incomplete.lower())]


def complete_value(g: Globals, incomplete: str, given: dict[str, Any]) -> list[str]:
    """The allowed values of the property before (``describe``); nothing when the daemon cannot say."""
    prop = given.get("prop")
    desc = _ask(g, "describe", {"property": prop}) if isinstance(prop, str) else None
    form = desc.get("form") if isinstance(desc, dict) else None
    if not isinstance(form, dict) or form.get("kind") != "enum":
        return []
    labels = [str(v.get("label")) for v in form.get("values") or [] if isinstance(v, dict)]
    return [label for label in labels if label.lower().startswith(incomplete.lower())]


PROP = Param(
    "PROP",
    "prop",
    "A name (iso, exposure, …), a hex code (0x500f) or a decimal code.",
    complete=complete_property,
)
VALUE = Param(
    "VALUE",
    "value",
    'A label ("800", "auto", "+1/3"; case-insensitive), an integer or hex (0x320). A negative value needs no --.',
    complete=complete_value,
)


@command(PROP, JSON)
def get(g: Globals, prop: str, *, as_json: bool) -> None:
    """A property's current value."""
    with g.target().connect() as conn:
        result = conn.call("get", {"property": prop.strip()})
    sys.stdout.write(json_text(result) if as_json else value_text(result))


@command(PROP, VALUE, JSON, dash_values=True)
def set_(g: Globals, prop: str, value: str, *, as_json: bool) -> None:
    """Writes a property; prints the value the camera reports afterwards."""
    with g.target().connect() as conn:
        result = conn.call("set", {"property": prop.strip(), "value": value})
    sys.stdout.write(json_text(result) if as_json else value_text(result))


@command(PROP, JSON, PRETTY)
def describe(g: Globals, prop: str, *, as_json: bool, pretty: bool) -> None:
    """A property's type, factory default and allowed values."""
    with g.target().connect() as conn:
        result = conn.call("describe", {"property": prop.strip()})
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
