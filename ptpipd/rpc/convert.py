"""From the camera layer's values to the JSON shapes of DESIGN.md §4."""

from __future__ import annotations

import base64
from typing import Any

from ptpipd.camera import CameraInfo
from ptpipd.ptp import Value
from ptpipd.vendors.base import (
    EnumValues,
    FileEntry,
    LabelledValue,
    OpreqResult,
    PropertyDesc,
    PropertyValue,
    RangeValues,
    StateEntry,
    Transfer,
)


def _json_value(value: Value) -> int | str | list[int]:
    return list(value) if isinstance(value, tuple) else value


def property_value(v: PropertyValue) -> dict[str, Any]:
    """``PropertyValue``."""
    return {
        "property": v.prop,
        "code": f"0x{v.code:04x}",
        "name": v.name,
        "type": v.datatype.label,
        "value": _json_value(v.value),
        "hex": v.hex,
        "label": v.label,
        "writable": v.writable,
    }


def labelled_value(v: LabelledValue) -> dict[str, Any]:
    """``{value, hex, label}``."""
    return {"value": _json_value(v.value), "hex": v.hex, "label": v.label}


def property_desc(d: PropertyDesc) -> dict[str, Any]:
    """``PropertyDesc``."""
    out = property_value(d.current)
    out["factory_default"] = labelled_value(d.factory_default)
    form: dict[str, Any]
    if isinstance(d.form, EnumValues):
        form = {"kind": "enum", "values": [labelled_value(v) for v in d.form.values]}
    elif isinstance(d.form, RangeValues):
        form = {
            "kind": "range",
            "min": _json_value(d.form.minimum),
            "max": _json_value(d.form.maximum),
            "step": _json_value(d.form.step),
        }
    else:
        form = {"kind": "none"}
    out["form"] = form
    return out


def info(i: CameraInfo) -> dict[str, Any]:
    """``{device, properties}``."""
    return {"device": i.device, "properties": [property_desc(d) for d in i.properties]}


def state_entry(e: StateEntry) -> dict[str, Any]:
    """``{code, name, property, value, label}``."""
    return {"code": f"0x{e.code:04x}", "name": e.name, "property": e.prop, "value": e.value, "label": e.label}


def transfer(t: Transfer, *, path: str | None = None, data: bytes | None = None) -> dict[str, Any]:
    """``{format, size, handle?, filename?, path?, data?}``."""
    out: dict[str, Any] = {"format": t.format, "size": t.size}
    if t.handle is not None:
        out["handle"] = t.handle
    if t.filename:
        out["filename"] = t.filename
    if path is not None:
        out["path"] = path
    if data is not None:
        out["data"] = base64.b64encode(data).decode("ascii")
    return out


def file_entry(f: FileEntry) -> dict[str, Any]:
    """``{handle, storage, filename, folder, format, size, captured}``."""
    return {
        "handle": f.handle,
        "storage": f"0x{f.storage:08x}",
        "filename": f.filename,
        "folder": f.folder,
        "format": f.format,
        "size": f.size,
        "captured": f.captured,
    }


def opreq(r: OpreqResult) -> dict[str, Any]:
    """``{response: {code, name, params}, data?, packets}``."""
    out: dict[str, Any] = {
        "response": {"code": f"0x{r.code:04x}", "name": r.name, "params": list(r.params)},
        "packets": [p.hex() for p in r.packets],
    }
    if r.data is not None:
        out["data"] = base64.b64encode(r.data).decode("ascii")
    return out
