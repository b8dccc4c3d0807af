"""The simulated X-T1's properties: definitions, current values, and the two lists built from them.

The starting state is the captures of :mod:`ptpipd.sim.fuji_captures`, so the first 0x902B and 0xD212
answers are those captures byte for byte, and a set changes a property's DevicePropDesc in the 0x902B list
and its 0xD212 entry together. The two captures disagree on one value, FlashMode 0x500C (0x8009 in 0x902B,
0x800A in 0xD212: they were taken at different moments); the 0x902B one is kept as a stale description
until 0x500C is set.

Refusals of a set (FUJI.md §6.2; no source shows real ones, so these are choices): unknown code 0x200A,
read-only (and the 0xD212 list) 0x200F, fewer data bytes than the type's size or an undecodable string
0x201B (more bytes are fine: the first N are the value), a value outside the enumeration or range 0x201C.
The opaque blobs 0x5003, 0xD174 and 0xD228 cannot be set (0x201B: their format is unknown). A describe of
an unknown property answers OK with no data (FUJI.md §6.3); a get of one answers 0x200A. Until 0x902B has
run in a session, describes of the captured properties return the captures as they are, stale current
values included (§6.3 says describes are incomplete before 0x902B); afterwards they carry the live values.
"""

from __future__ import annotations

from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropDesc,
    EncodeError,
    ResponseCode,
    Value,
    decode_string,
    decode_value,
    encode_string,
    encode_value,
)
from ptpipd.sim.fuji_captures import (
    CAPTURED_DESCS_HEX,
    CAPTURED_VALUES_HEX,
    INVENTED,
    README_902B,
    README_D212,
)
from ptpipd.sim.properties import PropSpec
from ptpipd.sim.responder import Outcome
from ptpipd.vendors.fuji_codes import (
    FujiProperty,
    decode_desc_list,
    decode_state_list,
    encode_desc_list,
    encode_state_list,
    state_value,
    state_word,
)

OK = ResponseCode.OK


def _spec(desc: DevicePropDesc) -> PropSpec:
    return PropSpec(desc.code, desc.datatype, bool(desc.writable), desc.factory_default, desc.form)


def value_from(datatype: DataType, data: bytes) -> Value | None:
    """The value at the start of a SetDevicePropValue payload (extra bytes ignored, FUJI.md §6.2)."""
    try:
        if datatype is DataType.STR:
            return decode_string(data)[0]
        size = datatype.size
        if size is None or len(data) < size:
            return None
        return decode_value(datatype, data[:size])[0]
    except (DecodeError, EncodeError):
        return None


class XT1Properties:
    """The properties of one simulated X-T1 (see the module docstring)."""

    def __init__(self) -> None:
        readme_list = decode_desc_list(README_902B)
        readme_state = decode_state_list(README_D212)
        self.list_order = tuple(d.code for d in readme_list)
        self.state_order = tuple(item.code for item in readme_state)
        self.captured_descs = {code: bytes.fromhex(text) for code, text in CAPTURED_DESCS_HEX.items()}
        self.blob_values = {code: bytes.fromhex(text) for code, text in CAPTURED_VALUES_HEX.items()}
        self.defs: dict[int, PropSpec] = {}
        self.values: dict[int, Value] = {}
        for code, raw in self.captured_descs.items():
            try:
                desc = DevicePropDesc.decode(raw)
            except DecodeError:
                continue  # 0x5003, 0xD174: opaque blobs, served as captured
            self.defs[code], self.values[code] = _spec(desc), desc.current
        for code, (definition, value) in INVENTED.items():
            self.defs[code], self.values[code] = definition, value
        for desc in readme_list:
            self.defs[desc.code], self.values[desc.code] = _spec(desc), desc.current
        #: Current values the 0x902B list and describes still report although the state says otherwise.
        self.stale: dict[int, Value] = {}
        for item in readme_state:
            value = state_value(self.defs[item.code].datatype, item.value)
            if item.code in self.list_order and self.values[item.code] != value:
                self.stale[item.code] = self.values[item.code]
            self.values[item.code] = value

    @property
    def codes(self) -> list[int]:
        """Every property code, for DeviceInfo."""
        return sorted({*self.defs, *self.blob_values, FujiProperty.CurrentState})

    def desc(self, code: int) -> DevicePropDesc:
        """The live description of a defined property (with its stale current value, if it has one)."""
        return self.defs[code].describe(self.stale.get(code, self.values[code]))

    def payload_902b(self) -> bytes:
        """The 0x902B answer: the README's eight properties with their current descriptions."""
        return encode_desc_list([self.desc(code) for code in self.list_order])

    def payload_d212(self) -> bytes:
        """The 0xD212 answer: the README's seventeen entries with their current values."""
        entries = []
        for code in self.state_order:
            value = self.values[code]
            assert isinstance(value, int)
            entries.append((code, state_word(self.defs[code].datatype, value)))
        return encode_state_list(entries)

    def describe(self, code: int, list_served: bool) -> Outcome:
        """GetDevicePropDesc (``list_served``: 0x902B has run in this session)."""
        captured = self.captured_descs.get(code)
        if captured is not None and (not list_served or code not in self.defs):
            return Outcome(OK, data=captured)
        if code in self.defs:
            return Outcome(OK, data=self.desc(code).encode())
        return Outcome(OK)  # FUJI.md §6.3: no data and no error for a property the camera cannot describe

    def get(self, code: int) -> Outcome:
        """GetDevicePropValue."""
        if code == FujiProperty.CurrentState:
            return Outcome(OK, data=self.payload_d212())
        if code in self.blob_values:
            return Outcome(OK, data=self.blob_values[code])
        if code in self.defs:
            return Outcome(OK, data=encode_value(self.defs[code].datatype, self.values[code]))
        return Outcome(ResponseCode.DevicePropNotSupported)

    def parse(self, code: int, data: bytes) -> Value | Outcome:
        """The value a SetDevicePropValue of ``code`` asks for, or the refusal."""
        if code == FujiProperty.CurrentState:
            return Outcome(ResponseCode.AccessDenied)
        if code in self.blob_values and code not in self.defs:
            return Outcome(ResponseCode.InvalidDevicePropFormat)
        definition = self.defs.get(code)
        if definition is None:
            return Outcome(ResponseCode.DevicePropNotSupported)
        if not definition.writable:
            return Outcome(ResponseCode.AccessDenied)
        value = value_from(definition.datatype, data)
        if value is None:
            return Outcome(ResponseCode.InvalidDevicePropFormat)
        if not definition.allows(value):
            return Outcome(ResponseCode.InvalidDevicePropValue)
        return value

    def set(self, code: int, value: Value) -> None:
        """Changes a property as the camera itself would (no checks): 0x902B and 0xD212 follow."""
        self.values[code] = value
        self.stale.pop(code, None)
        if code == FujiProperty.GeoTag:
            assert isinstance(value, str)
            self.blob_values[code] = encode_string(value)
