"""The seed tool's text and JSON, byte for byte, from the result models (pure: no I/O).

What old scripts parse (``../shared/protocol/SEED-OUTPUT.md``): Go's ``text/tabwriter`` tables (minimum cell
width 8, 2 spaces of padding, the last column unpadded), Go's ``%#x`` and ``%0#8x`` hex, Go's ``json.Marshal``
(compact) and ``json.MarshalIndent`` with four spaces, and the seed's words for properties and values
(:class:`~ptpipd.vendors.legacy_labels.LegacyLabels`). Every function takes the JSON-RPC result models and
the vendor's seed words; nothing here knows a vendor.

Where the seed printed nothing to copy (string values, range forms in ``describe``), the choices are written
at the function.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ptpipd.rpc import models as m
from ptpipd.vendors.legacy_labels import LegacyLabels

INFO_HEADER = ("DevicePropCode", "Property name", "Value as string", "Value as int64", "Value in hex")
DESCRIBE_HEADER = (
    "DevicePropCode",
    "Prop name",
    "Dflt val as str",
    "Dflt val as int64",
    "Dflt val in hex",
    "Cur val as str",
    "Cur val as int64",
    "Cur val in hex",
    "Vals allowed",
)
#: The seed's data type names where ours differ.
TYPE_NAMES = {"str": "string", "undef": "undefined"}


# ------------------------------------------------------------------------------------------ Go's formats


def go_hex(value: int) -> str:
    """Go's ``%#x``: ``0x320``, ``0x0``, ``-0x14d``."""
    return f"-0x{-value:x}" if value < 0 else f"0x{value:x}"


def go_hex8(value: int) -> str:
    """Go's ``%0#8x``: zero-padded to 8 digits (7 after a minus sign); the ``0x`` is not counted."""
    return f"-0x{-value:07x}" if value < 0 else f"0x{value:08x}"


def tabwriter(rows: list[tuple[str, ...]]) -> str:
    """Go's ``text/tabwriter`` as the seed set it up (min width 8, padding 2, spaces; last cell unpadded)."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + 2, 8)
    return "".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1] + "\n" for row in rows
    )


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A seed table: a blank line, the header, its dashes, the rows."""
    return "\n" + tabwriter([header, tuple("-" * len(h) for h in header), *rows])


def go_json(value: Any, pretty: bool) -> str:
    """Go's ``json.Marshal`` / ``json.MarshalIndent(v, "", "    ")``, with its HTML-safe escapes; a newline."""
    if pretty:
        text = json.dumps(value, indent=4, ensure_ascii=False, allow_nan=False)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


def hex_dump(data: bytes) -> str:
    """Go's ``hex.Dump`` (``hexdump -C`` without the final offset line)."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = f"{chunk[:8].hex(' ')}  {chunk[8:].hex(' ')}"  # two groups of 8 bytes
        text = "".join(chr(b) if 32 <= b <= 126 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes.ljust(49)} |{text}|\n")
    return "".join(lines)


def packet_dumps(packets: list[bytes]) -> str:
    """The seed's ``opreq`` output: per packet received, a blank line, ``Received N bytes. HEX dump:``, the dump."""
    return "".join(f"\nReceived {len(p)} bytes. HEX dump:\n{hex_dump(p)}" for p in packets)


# ------------------------------------------------------------------------------------------ values


def short_hex(hexa: str | None) -> str | None:
    """A value's hex as wide as its type, without leading zeros (Go's ``%#x`` of the unsigned value)."""
    return None if not hexa else go_hex(int(hexa, 16))


def value_line(v: m.PropertyValueResult, labels: LegacyLabels) -> str:
    """``get``: ``LABEL (0xHEX)`` — the seed's label (maybe empty), the unsigned value in hex. A string value
    (the seed had none) is shown as itself."""
    hexa = short_hex(v.hex)
    if hexa is None:
        return f"{v.value}\n"
    return f"{labels.label(int(v.code, 16), v.value)} ({hexa})\n"


def set_line(prop_text: str, v: m.PropertyValueResult) -> str:
    """``set``: ``property PROP successfully set to 0xHEX`` (the value the camera reports after the write)."""
    return f"property {prop_text} successfully set to {short_hex(v.hex) or v.value}\n"


def _cells(code: int, value: m.Scalar, labels: LegacyLabels) -> tuple[str, str, str]:
    """(as string, as int64, in hex) of a value; a value that is not a number (the seed had none) shows as
    itself, with ``-`` for the numbers."""
    if isinstance(value, int):
        return labels.label(code, value), str(value), go_hex8(value)
    return str(value), "-", "-"


def _shown(value: m.Scalar) -> str:
    """A value in the seed's hex (Go's ``%#x``); one that is not a number (the seed had none) as itself."""
    return go_hex(value) if isinstance(value, int) else str(value)


def _json_value(code: int, value: m.Scalar, labels: LegacyLabels) -> dict[str, str]:
    return {"value": _shown(value), "label": labels.label(code, value) if isinstance(value, int) else ""}


# ------------------------------------------------------------------------------------------ properties


def value_rows(items: Sequence[m.PropertyDescResult | m.StateEntryResult], labels: LegacyLabels) -> str:
    """``info`` (the properties) and ``state`` (the state list entries): one row each, in the camera's order."""
    rows = []
    for item in items:
        code = int(item.code, 16)
        rows.append((go_hex(code), labels.name(code), *_cells(code, item.value, labels)))
    return table(INFO_HEADER, rows)


def _allowed(form: m.EnumFormResult | m.RangeFormResult | m.NoFormResult) -> str:
    """The allowed values in hex; a range (the seed printed none) as ``min 0x0, max 0x10, step 0x1``."""
    if isinstance(form, m.EnumFormResult):
        return ", ".join(_shown(v.value) for v in form.values)
    if isinstance(form, m.RangeFormResult):
        return f"min {_shown(form.min)}, max {_shown(form.max)}, step {_shown(form.step)}"
    return ""


def describe_rows(d: m.PropertyDescResult, labels: LegacyLabels) -> str:
    """``describe``: the default and current value, and the allowed values."""
    code = int(d.code, 16)
    row = (
        go_hex(code),
        labels.name(code),
        *_cells(code, d.factory_default.value, labels),
        *_cells(code, d.value, labels),
        _allowed(d.form),
    )
    return table(DESCRIBE_HEADER, [row])


def _prop_json(
    code: int, labels: LegacyLabels, data_type: str, read_only: bool, default: m.Scalar, current: m.Scalar
) -> dict[str, Any]:
    """The seed's JSON object of a property, without a form (``property_json`` adds its own)."""
    return {
        "DevicePropertyCode": {"code": go_hex(code), "label": labels.name(code)},
        "dataType": data_type,
        "readOnly": read_only,
        "FactoryDefaultValue": _json_value(code, default, labels),
        "CurrentValue": _json_value(code, current, labels),
        "formType": "none",
        "form": None,
    }


def property_json(d: m.PropertyDescResult, labels: LegacyLabels) -> dict[str, Any]:
    """One property in the seed's JSON shape."""
    code = int(d.code, 16)
    data_type = TYPE_NAMES.get(d.type, d.type)
    out = _prop_json(code, labels, data_type, not d.writable, d.factory_default.value, d.value)
    if isinstance(d.form, m.EnumFormResult):
        out["formType"] = "enum"
        out["form"] = {"values": [_json_value(code, v.value, labels) for v in d.form.values]}
    elif isinstance(d.form, m.RangeFormResult):
        out["formType"] = "range"
        out["form"] = {"min": _shown(d.form.min), "max": _shown(d.form.max), "step": _shown(d.form.step)}
    return out


def state_json(e: m.StateEntryResult, labels: LegacyLabels) -> dict[str, Any]:
    """One state list entry in the seed's JSON shape: a read-only uint32 without form, default 0."""
    return _prop_json(int(e.code, 16), labels, "uint32", True, 0, e.value)
