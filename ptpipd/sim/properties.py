"""Device properties of a simulated camera: their descriptions, current values and the SetDevicePropValue rules.

Pure (no I/O). A :class:`PropertyStore` holds one :class:`PropSpec` per property and the current values,
and answers the three property operations the way PTP.md §5.2 says a device must:

* unknown property → DevicePropNotSupported (0x200A)
* read-only property → AccessDenied (0x200F)
* data that is not exactly one value of the property's DataType → InvalidDevicePropFormat (0x201B)
* a value the form (or the property's own check) does not allow → InvalidDevicePropValue (0x201C)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropDesc,
    Form,
    ResponseCode,
    Value,
    decode_value,
    encode_value,
)
from ptpipd.ptp.types import Buffer
from ptpipd.sim.responder import Outcome, param

V = TypeVar("V", bound=Value)


class Values(Generic[V]):
    """The current values of a body's properties by code, as the camera itself reads and changes them."""

    def __init__(self, values: dict[int, V]) -> None:
        self.values = values

    def __getitem__(self, code: int) -> V:
        return self.values[code]

    def number(self, code: int) -> int:
        """The value of a numeric property."""
        value = self.values[code]
        assert isinstance(value, int), f"0x{code:04X} is not a number"
        return value

    def store(self, code: int, value: V) -> bool:
        """Sets a value from the camera's side (no access check); returns whether it changed."""
        changed = self.values[code] != value
        self.values[code] = value
        return changed


@dataclass(frozen=True, slots=True)
class PropSpec:
    """One property: its code, DataType, whether the initiator may set it, factory default and form.

    ``check`` is an extra rule on top of the form (e.g. the DateTime syntax for a none-form STR).
    """

    code: int
    datatype: DataType
    writable: bool
    default: Value
    form: Form
    check: Callable[[Value], bool] | None = None

    def describe(self, current: Value) -> DevicePropDesc:
        """The DevicePropDesc dataset with ``current`` as the current value."""
        return DevicePropDesc(self.code, self.datatype, int(self.writable), self.default, current, self.form)

    def allows(self, value: Value) -> bool:
        """Whether ``value`` may become the current value."""
        if not self.describe(self.default).allows(value):
            return False
        return self.check is None or self.check(value)

    def decode_set(self, data: Buffer, *, exact: bool = True) -> tuple[ResponseCode, Value | None]:
        """The data of a SetDevicePropValue of this property: (OK, the value), or the refusal and None:
        AccessDenied for a read-only property, InvalidDevicePropFormat for data that is not one value of the
        DataType (``exact``: nothing may follow it), InvalidDevicePropValue for a value it does not allow."""
        if not self.writable:
            return ResponseCode.AccessDenied, None
        try:
            value, end = decode_value(self.datatype, data)
        except DecodeError:
            return ResponseCode.InvalidDevicePropFormat, None
        if exact and end != len(data):
            return ResponseCode.InvalidDevicePropFormat, None
        if not self.allows(value):
            return ResponseCode.InvalidDevicePropValue, None
        return ResponseCode.OK, value


class PropertyStore(Values[Value]):
    """The current values of a set of properties, in the order given (the DeviceInfo order)."""

    def __init__(self, specs: Iterable[PropSpec]) -> None:
        self.specs = {spec.code: spec for spec in specs}
        for spec in self.specs.values():
            if not spec.allows(spec.default):  # a table error: fail at start-up, not at the first Get
                raise ValueError(f"property 0x{spec.code:04X}: the default {spec.default!r} breaks its form")
        super().__init__({code: spec.default for code, spec in self.specs.items()})

    @property
    def codes(self) -> tuple[int, ...]:
        """The property codes, for DeviceInfo.DevicePropertiesSupported."""
        return tuple(int(code) for code in self.specs)

    def __contains__(self, code: int) -> bool:
        return code in self.specs

    def get_desc(self, params: Sequence[int]) -> Outcome:
        """GetDevicePropDesc 0x1014 of the property Param1 names: its DevicePropDesc with the current
        value."""
        spec = self.specs.get(param(params, 0))
        if spec is None:
            return Outcome(ResponseCode.DevicePropNotSupported)
        return Outcome(ResponseCode.OK, data=spec.describe(self.values[spec.code]).encode())

    def get_value(self, params: Sequence[int]) -> Outcome:
        """GetDevicePropValue 0x1015 of the property Param1 names: its bare current value (PTP.md §3.5)."""
        spec = self.specs.get(param(params, 0))
        if spec is None:
            return Outcome(ResponseCode.DevicePropNotSupported)
        return Outcome(ResponseCode.OK, data=encode_value(spec.datatype, self.values[spec.code]))

    def set_from_initiator(self, code: int, data: Buffer) -> tuple[ResponseCode, bool]:
        """SetDevicePropValue: checks and stores the value; returns the response code and whether it changed."""
        spec = self.specs.get(code)
        if spec is None:
            return ResponseCode.DevicePropNotSupported, False
        result, value = spec.decode_set(data)
        return result, value is not None and self.store(code, value)

    def reset(self, code: int) -> tuple[ResponseCode, list[int]]:
        """ResetDevicePropValue: ``code`` or 0xFFFFFFFF for every writable property.

        Returns the response code and the codes whose value changed.
        """
        if code == 0xFFFF_FFFF:
            targets = [c for c, spec in self.specs.items() if spec.writable]
        elif code not in self.specs:
            return ResponseCode.DevicePropNotSupported, []
        elif not self.specs[code].writable:
            return ResponseCode.AccessDenied, []
        else:
            targets = [code]
        return ResponseCode.OK, [c for c in targets if self.store(c, self.specs[c].default)]
