"""From what a user types to a wire value and back, for every vendor alike.

A property is named by a :class:`~ptpipd.vendors.base.PropertySpec` (labels) and described by the camera's
own :class:`~ptpipd.ptp.DevicePropDesc` (type, form). :func:`coerce_value` checks a user's value against both
*before* anything is sent; :func:`property_value` and :func:`property_desc` label what the camera answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ptpipd.errors import InvalidValue
from ptpipd.ptp import DataType, DevicePropDesc, EncodeError, EnumForm, RangeForm, Value, check_value
from ptpipd.ptp.types import MAX_STRING_UNITS, int_bounds
from ptpipd.vendors.base import (
    EnumValues,
    PropertyDesc,
    PropertySpec,
    PropertyValue,
    RangeValues,
    labelled,
)
from ptpipd.vendors.labels import normalize
from ptpipd.vendors.quantities import QUANTITIES, TOLERANCE, Quantity

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


@dataclass(frozen=True, slots=True)
class _Choice:
    """A value the camera lists, with its label and (for a quantity) its position in stops."""

    value: Value
    label: str
    position: float | None


def _choices(spec: PropertySpec, desc: DevicePropDesc, quantity: Quantity | None) -> list[_Choice]:
    if not isinstance(desc.form, EnumForm):
        return []
    out = []
    for value in desc.form.values:
        label = labelled(desc.datatype, value, spec.labels).label
        out.append(_Choice(value, label, None if quantity is None else quantity.read(label)))
    return out


class _Refusal(Exception):
    """Why a user's text cannot be taken (ambiguous, or not near any listed value). ``final``: the text is a
    plausible spelling of the quantity, so it is not tried as anything else."""

    def __init__(self, message: str, *, final: bool = True) -> None:
        super().__init__(message)
        self.final = final


def _nearest(choices: list[_Choice], position: float) -> _Choice | None:
    """The listed value within :data:`TOLERANCE` of ``position``, when one stands out."""
    near = sorted(
        (abs(c.position - position), i, c)
        for i, c in enumerate(choices)
        if c.position is not None and abs(c.position - position) < TOLERANCE - 1e-9  # exactly half: a tie
    )
    if not near or (len(near) > 1 and near[1][0] - near[0][0] < TOLERANCE / 4):
        return None  # nothing close, or two listed values about as close: the text does not say which
    return near[0][2]


def _neighbours(choices: list[_Choice], position: float) -> list[_Choice]:
    """The listed values just below and just above ``position``."""
    placed = sorted((c for c in choices if c.position is not None), key=lambda c: c.position or 0.0)
    below = [c for c in placed if (c.position or 0.0) < position][-1:]
    above = [c for c in placed if (c.position or 0.0) > position][:1]
    return below + above


def _snap(spec: PropertySpec, choices: list[_Choice], text: str) -> Value | None:
    """The listed value a spelling of the property's quantity means (``-0.3`` → −1/3, ``5.6`` → f/5.6,
    ``250`` → 1/250): None when the text is not such a spelling; :class:`_Refusal` when it is one but
    means no listed value, or more than one."""
    quantity = QUANTITIES.get(spec.name)
    readings = quantity.readings(text) if quantity is not None else []
    if not readings or not choices:
        return None
    picked = {id(c): c for c in (_nearest(choices, r) for r in readings) if c is not None}
    if len(picked) == 1:
        return next(iter(picked.values())).value
    if len(picked) > 1:
        labels = " or ".join(c.label for c in picked.values())
        raise _Refusal(f"{text.strip()!r} could mean {labels}: write the one you mean")
    found = {id(c): c for r in readings for c in _neighbours(choices, r)}.values()
    near = [c.label for c in sorted(found, key=lambda c: c.position or 0.0)]
    raise _Refusal(
        f"the camera offers no value near {text.strip()}"
        + (f" (nearest: {', '.join(near)})" if near else ""),
        final=any(_plausible(choices, r) for r in readings),
    )


def _plausible(choices: list[_Choice], position: float) -> bool:
    """Whether ``position`` lies within a stop of the listed values' span: ``40`` is a shutter speed to
    refuse on a 1/2000…30 s camera (40 s or 1/40), while ``-3000`` is no exposure bias at all and may be a
    wire value (−3 EV in 1/1000 EV)."""
    placed = [c.position for c in choices if c.position is not None]
    return bool(placed) and min(placed) - 1 <= position <= max(placed) + 1


def _type_problem(dt: DataType, value: Value) -> str | None:
    """Why ``value`` cannot be a ``dt`` at all, said with the limit: None when it fits."""
    try:
        check_value(dt, value)
    except EncodeError:
        if dt == DataType.STR and isinstance(value, str):
            units = len(value.encode("utf-16-le", "surrogatepass")) // 2
            return f"too long: {units} characters, a PTP string holds at most {MAX_STRING_UNITS}"
        try:
            lo, hi = int_bounds(dt)
        except KeyError:  # a string type given a number, an array type …
            return f"not a {dt.label}"
        return f"out of range for a {dt.label} ({lo}..{hi})"
    return None


def _string(spec: PropertySpec, desc: DevicePropDesc, text: str) -> Value:
    """A string property's value: what its labels make of the text (``now`` for a date), or the text."""
    parsed = spec.labels.parse(text)
    if parsed is None and spec.labels.expected is not None:
        raise InvalidValue(spec.name, text, allowed_labels(spec, desc), f"not {spec.labels.expected}")
    value = text if parsed is None else parsed
    listed = [c.value for c in _choices(spec, desc, None) if normalize(c.label) == normalize(text)]
    if listed:  # one of the camera's own strings, in any case and spacing: 640X480
        return listed[0]
    problem = _type_problem(desc.datatype, value)
    if problem is not None:
        raise InvalidValue(spec.name, text, allowed_labels(spec, desc), problem)
    if not desc.allows(value):
        raise InvalidValue(spec.name, text, allowed_labels(spec, desc))
    return value


def _hint(spec: PropertySpec, value: Value | None, allowed: list[str]) -> str | None:
    """What to write instead, when the text names a value the camera does not offer now."""
    if value is None:
        return None
    said = spec.labels.hint(value, allowed)
    label = spec.labels.label(value)
    return f"the camera does not offer {label} now" + (f"; {said}" if said else "")


def coerce_value(spec: PropertySpec, desc: DevicePropDesc, value: str | int) -> Value:
    """The wire value for what a user asked for; :class:`InvalidValue` when the camera would not accept it.

    An integer is a wire value. A text is tried, in order, as: one of the camera's values' labels (case and
    spaces ignored); a spelling of the property's quantity, snapped to the one listed value it unambiguously
    means (``-0.3`` → −1/3, ``5.6`` → f/5.6, ``250`` → 1/250 when 250 s is not offered; ``2`` is refused
    when both 2 s and 1/2 are; see :mod:`ptpipd.vendors.quantities`); a label of the property's kind
    (``S 6400``, ``500mm``, ``now``); a decimal or ``0x`` integer as a wire value, unless the text was a
    label or a plausible spelling of the quantity (``-3000`` is no exposure bias, so it is −3 EV in the
    wire's 1/1000 EV; ``40`` on a 1/2000…30 s camera is refused, 40 s or 1/40 being plausible). Nothing is
    sent on a refusal.
    """
    allowed = allowed_labels(spec, desc)
    if not desc.writable:
        raise InvalidValue(spec.name, value, [], f"{spec.name} is read-only")
    dt = desc.datatype
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidValue(spec.name, value, allowed, "give a label, an integer or a hex string")
    if dt.is_array:
        raise InvalidValue(spec.name, value, allowed, "array properties cannot be set")
    if dt == DataType.STR:
        if not isinstance(value, str):
            raise InvalidValue(spec.name, value, allowed, "give a text")
        return _string(spec, desc, value)
    if isinstance(value, int):
        problem = _type_problem(dt, value)
        if problem is None and desc.allows(value):
            return value
        raise InvalidValue(spec.name, value, allowed, problem)
    return _text(spec, desc, value, allowed)


def _text(spec: PropertySpec, desc: DevicePropDesc, text: str, allowed: list[str]) -> Value:
    """A text value of a number property (see :func:`coerce_value`)."""
    choices = _choices(spec, desc, QUANTITIES.get(spec.name))
    wanted = normalize(text)
    for choice in choices:
        if normalize(choice.label) == wanted:
            return choice.value
    refused: str | None = None
    try:
        snapped = _snap(spec, choices, text)
    except _Refusal as refusal:
        if refusal.final:
            raise InvalidValue(spec.name, text, allowed, str(refusal)) from None
        snapped, refused = None, str(refusal)
    if snapped is not None:
        return snapped
    parsed = spec.labels.parse(text)
    problem = None if parsed is None else _type_problem(desc.datatype, parsed)
    if parsed is not None and problem is None and desc.allows(parsed):
        return parsed
    number = parse_int(text)
    if number is not None and (parsed is None or refused is not None) and desc.allows(number):
        return number  # a wire value: not a label, nor a plausible spelling of the quantity
    reason = refused or problem or _hint(spec, parsed, allowed)
    if reason is None and number is not None:
        reason = _type_problem(desc.datatype, number)
    raise InvalidValue(spec.name, text, allowed, reason)


def allowed_labels(spec: PropertySpec, desc: DevicePropDesc) -> list[str]:
    """What a user may pass for a property, for error messages."""
    if isinstance(desc.form, EnumForm):
        return [labelled(desc.datatype, v, spec.labels).label for v in desc.form.values]
    if isinstance(desc.form, RangeForm):
        lo = labelled(desc.datatype, desc.form.minimum, spec.labels).label
        hi = labelled(desc.datatype, desc.form.maximum, spec.labels).label
        return [f"{lo}..{hi} (step {desc.form.step})"]
    return []
