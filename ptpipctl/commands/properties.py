"""``ptpipctl get``, ``set`` and ``describe``: one camera property; and the completion of names and values."""

from __future__ import annotations

from ptpipctl.client import CtlError
from ptpipctl.commands import show
from ptpipctl.declare import JSON, PRETTY, Param, command
from ptpipctl.output import pairs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

#: Offered by shell completion when the daemon cannot be asked: unified names most cameras have.
PROPERTY_NAMES: tuple[str, ...] = (
    "battery",
    "delay",
    "effect",
    "exp-bias",
    "exposure",
    "flashmode",
    "fnumber",
)
PROPERTY_NAMES += ("focusmode", "focusmtr", "imagesize", "iso", "program", "whitebalance")
#: How long completion waits for the daemon before it falls back to the static list (seconds).
COMPLETION_TIMEOUT = 1.0


def _ask(g: Globals, method: str, params: dict[str, Any] | None = None) -> Any:
    """The daemon's answer within :data:`COMPLETION_TIMEOUT`, or None."""
    try:
        target = g.target()
        target.timeout = min(target.timeout, COMPLETION_TIMEOUT)
        with target.connect() as conn:
            return conn.call(method, params)
    except CtlError:
        return None


def _matching(words: Any, incomplete: str) -> list[str]:
    return [str(w) for w in words if str(w).lower().startswith(incomplete.lower())]


def complete_property(g: Globals, incomplete: str, _given: dict[str, Any]) -> list[str]:
    """The connected camera's property names (``info``), else :data:`PROPERTY_NAMES`."""
    info = _ask(g, "info")
    try:
        return _matching([p["property"] for p in info["properties"]], incomplete)
    except (TypeError, KeyError):
        return _matching(PROPERTY_NAMES, incomplete)


def complete_value(g: Globals, incomplete: str, given: dict[str, Any]) -> list[str]:
    """The allowed values of the property given before (``describe``); none when the daemon cannot say."""
    desc = _ask(g, "describe", {"property": given.get("prop")})
    try:
        return _matching([v["label"] for v in desc["form"]["values"]], incomplete)
    except (TypeError, KeyError):
        return []


PROP = Param(
    "PROP",
    "prop",
    "A name (iso, exposure, …), a hex code (0x500f) or a decimal code.",
    complete=complete_property,
)
VALUE = Param(
    "VALUE",
    "value",
    'A label ("800", "auto", "+1/3"; case-insensitive), an integer or hex (0x320). A negative value needs '
    "no --. Its words are joined by one blank (set exp-bias -1 2/3); quote it to keep blanks as typed.",
    many=True,
    required=True,
    complete=complete_value,
)


@command(PROP, JSON)
def get(g: Globals, prop: str, *, as_json: bool) -> None:
    """A property's current value."""
    show(g, "get", {"property": prop.strip()}, value_text, as_json)


@command(PROP, VALUE, JSON, dash_values=True)
def set_(g: Globals, prop: str, value: tuple[str, ...], *, as_json: bool) -> None:
    """Writes a property; prints the value the camera reports afterwards."""
    show(g, "set", {"property": prop.strip(), "value": " ".join(value)}, value_text, as_json)


@command(PROP, JSON, PRETTY)
def describe(g: Globals, prop: str, *, as_json: bool, pretty: bool) -> None:
    """A property's type, factory default and allowed values."""
    show(g, "describe", {"property": prop.strip()}, describe_text, as_json, pretty)


def labelled(label: object, hexa: object) -> str:
    """``400 (0x0190)``, or the label alone when there is no hex form (strings, arrays)."""
    return f"{label} ({hexa})" if hexa else str(label)


def _value_rows(v: dict[str, Any]) -> list[tuple[str, str]]:
    raw = v.get("value")
    return [
        ("property", str(v.get("property"))),
        ("name", f"{v.get('name')} ({v.get('code')})"),
        ("value", str(v.get("label"))),
        ("raw", labelled(" ".join(map(str, raw)) if isinstance(raw, list) else raw, v.get("hex"))),
        ("type", f"{v.get('type')}, {'read-write' if v.get('writable') else 'read-only'}"),
    ]


def value_text(v: dict[str, Any]) -> str:
    """A ``PropertyValue`` as aligned ``key  value`` lines."""
    return pairs(_value_rows(v))


def describe_text(v: dict[str, Any]) -> str:
    """A ``PropertyDesc`` as aligned ``key  value`` lines, with its default and allowed values."""
    default = v.get("factory_default") or {}
    form = v.get("form") or {}
    if form.get("kind") == "enum":
        allowed = ("allowed", ", ".join(str(item.get("label")) for item in form.get("values") or []) or "-")
    elif form.get("kind") == "range":
        allowed = ("range", f"{form.get('min')} to {form.get('max')}, step {form.get('step')}")
    else:
        allowed = ("allowed", f"any {v.get('type')} value")
    return pairs([*_value_rows(v), ("default", labelled(default.get("label"), default.get("hex"))), allowed])
