"""From what a user types to a wire value and back, for every vendor alike.

A property is named by a :class:`~ptpipd.vendors.base.PropertySpec` (labels) and described by the camera's
own :class:`~ptpipd.ptp.DevicePropDesc` (type, form). :func:`coerce_value` checks a user's value against both
*before* anything is sent; :func:`property_value` and :func:`property_desc` label what the camera answers.
"""

from __future__ import annotations

import re

from ptpipd.errors import InvalidValue
from ptpipd.ptp import DataType, DevicePropDesc, EncodeError, EnumForm, RangeForm, Value, check_value
from ptpipd.vendors.base import (
    EnumValues,
    PropertyDesc,
    PropertySpec,
    PropertyValue,
    RangeValues,
    labelled,
)
from ptpipd.vendors.labels import normalize

_INT = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def parse_int(text: str) -> int | None:
    """A decimal (``800``, ``-1``) or hex (``0x320``) integer, or None."""
    t = text.strip()
    if _INT.fullmatch(t):
        return int(t, 10)
    if _HEX.fullmatch(t):
        return int(t, 16)
    return None


def property_value(spec: PropertySpec, desc: DevicePropDesc, value: Value) -> PropertyValue:
    """A value read from the camera, with its label."""
    label = labelled(desc.datatype, value, spec.labels).label
    return PropertyValue(spec.name, spec.code, spec.title, desc.datatype, value, label, desc.writable)


def property_desc(spec: PropertySpec, desc: DevicePropDesc) -> PropertyDesc:
    """A camera's description with every value labelled."""
    form: EnumValues | RangeValues | None = None
    if isinstance(desc.form, EnumForm):
        form = EnumValues(tuple(labelled(desc.datatype, v, spec.labels) for v in desc.form.values))
    elif isinstance(desc.form, RangeForm):
        form = RangeValues(desc.form.minimum, desc.form.maximum, desc.form.step)
    default = labelled(desc.datatype, desc.factory_default, spec.labels)
    return PropertyDesc(property_value(spec, desc, desc.current), default, form, desc)


def _candidates(spec: PropertySpec, desc: DevicePropDesc, value: str | int) -> list[Value]:
    """The readings of ``value``, best first: an allowed value's label, a label of the property's kind
    (``f/5.6``, ``1/250``, ``+1/3``), a plain integer (``800``, ``-3000``, ``0x320``)."""
    dt = desc.datatype
    if isinstance(value, int) or dt == DataType.STR:
        return [value]
    out: list[Value] = []
    if isinstance(desc.form, EnumForm):
        wanted = normalize(value)
        out += [v for v in desc.form.values if normalize(labelled(dt, v, spec.labels).label) == wanted]
    parsed = spec.labels.parse(value)
    if parsed is not None:
        out.append(parsed)
    number = parse_int(value)
    if number is not None:
        out.append(number)
    return out


def coerce_value(spec: PropertySpec, desc: DevicePropDesc, value: str | int) -> Value:
    """The wire value for what a user asked for; :class:`InvalidValue` when the camera would not accept it.

    The first reading of ``value`` (see :func:`_candidates`) that the property's type and form accept wins.
    """
    allowed = allowed_labels(spec, desc)
    if not desc.writable:
        raise InvalidValue(spec.name, value, [], f"{spec.name} is read-only")
    dt = desc.datatype
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidValue(spec.name, value, allowed, "give a label, an integer or a hex string")
    if dt.is_array:
        raise InvalidValue(spec.name, value, allowed, "array properties cannot be set")
    reason: str | None = None
    for candidate in _candidates(spec, desc, value):
        try:
            check_value(dt, candidate)
        except EncodeError:
            reason = f"does not fit a {dt.label}"
            continue
        if desc.allows(candidate):
            return candidate
        reason = None
    raise InvalidValue(spec.name, value, allowed, reason)


def allowed_labels(spec: PropertySpec, desc: DevicePropDesc) -> list[str]:
    """What a user may pass for a property, for error messages."""
    if isinstance(desc.form, EnumForm):
        return [labelled(desc.datatype, v, spec.labels).label for v in desc.form.values]
    if isinstance(desc.form, RangeForm):
        lo = labelled(desc.datatype, desc.form.minimum, spec.labels).label
        hi = labelled(desc.datatype, desc.form.maximum, spec.labels).label
        return [f"{lo}..{hi} (step {desc.form.step})"]
    return []
