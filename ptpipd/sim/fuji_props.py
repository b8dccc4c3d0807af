"""The simulated Fuji bodies' properties: definitions, current values, and the two lists built from them.

Every body starts from the X-T1. The X-T1's starting state is the captures of
:mod:`ptpipd.sim.fuji_captures`, so its first 0x902B and 0xD212 answers are those captures byte for byte,
and a set changes a property's DevicePropDesc in the 0x902B list and its 0xD212 entry together. The two
captures disagree on one value, FlashMode 0x500C (0x8009 in 0x902B, 0x800A in 0xD212: they were taken at
different moments); the 0x902B one is kept as a stale description until 0x500C is set.

Refusals of a set (FUJI.md §6.2; no source shows real ones, so these are choices): unknown code 0x200A,
read-only (and the 0xD212 list) 0x200F, fewer data bytes than the type's size or an undecodable string
0x201B (more bytes are fine: the first N are the value), a value outside the enumeration or range 0x201C.
The opaque blobs 0x5003, 0xD174 and 0xD228 cannot be set (0x201B: their format is unknown). A describe of
an unknown property answers OK with no data (FUJI.md §6.3); a get of one answers 0x200A. Until 0x902B has
run in a session, describes of the captured properties return the captures as they are, stale current
values included (§6.3 says describes are incomplete before 0x902B); afterwards they carry the live values.

A body after the X-T1 (its :class:`~ptpipd.vendors.fuji_body_codes.BodyProfile`; facts and choices in
tests/data/fuji/BODIES.md §1, §3, §9) changes that start:

* its version properties are its profile's: read-only, 0xDF24 writable from its own version up, an empty
  answer for those it lacks; the X-T1's other version properties are gone;
* the values of its first events list and of its shooting state replace the X-T1's (an enumeration that
  lacks such a value gets it: the logs' lens opens to f/2); 0xD228, a blob naming the X-T1, is gone;
  describes carry the live values from the start, and the captures' disagreement on 0x500C is not kept;
* a property it does not have answers GetDevicePropValue with no data and OK, as the logs show;
* 0xD227 EnableCorrectFileSize is writable (0 or 1), 0xDF01 takes every ClientState;
* its 0xD212 answer is a :class:`~ptpipd.vendors.fuji_body_codes.ChangeJournal`: at OpenSession its
  access entries, after InitiateOpenCapture its whole shooting state, afterwards what changed among those
  codes (sets by the client and the body's own changes), ``00 00`` when nothing did;
* its battery (0xD242 and 0xD246, 6 critical … 11 full) loses a bar every 20 drain steps.

:class:`Quirks` are the ``ptpipd-sim`` switches of issue 13 that make any body answer differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropDesc,
    EnumForm,
    NoForm,
    RangeForm,
    ResponseCode,
    Value,
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
from ptpipd.vendors.fuji_body_codes import (
    XT1,
    BodyProfile,
    BodyProperty,
    CameraState,
    ChangeJournal,
    ClientState,
    EventsMode,
)
from ptpipd.vendors.fuji_codes import (
    PROPERTY_TYPES,
    FujiProperty,
    decode_desc_list,
    decode_state_list,
    encode_desc_list,
    encode_state_list,
    state_value,
    state_word,
)

OK = ResponseCode.OK
_U16, _U32 = DataType.UINT16, DataType.UINT32
#: The X-T1's version properties besides 0xDF24; a later body has those of its profile instead.
_XT1_VERSIONS = (0xDF21, 0xDF22, 0xDF23, 0xDF25, 0xDF31)
#: The entries of a later body's first events list that follow the body (the rest is as logged).
_LIVE_ACCESS = frozenset({BodyProperty.CameraState, BodyProperty.ObjectCount, BodyProperty.ObjectCount2})
#: The battery of the later bodies in 0xD242/0xD246: 6 critical, 7 … 11 one to five bars (FUJI.md §11.2).
BATTERY_EMPTY, BATTERY_FULL, PERCENT_PER_BAR = 6, 11, 20


@dataclass(frozen=True, slots=True)
class Quirks:
    """How a simulated body departs from its profile: the ``ptpipd-sim`` switches of issue 13 and the
    camera's Wi-Fi function. No source shows a body that does the first three (BODIES.md §7)."""

    refuse_desc: bool = False  # GetDevicePropDesc 0x1014 → 0x2005 OperationNotSupported
    empty_value: bool = False  # GetDevicePropValue 0x1015 → no data, OK (but 0xD212 and the versions)
    ignore_device_info: bool = False  # GetDeviceInfo 0x1001 never answered; the next command is served
    no_remote: bool = False  # 0xDF24 answers no data: a body without Wi-Fi remote mode
    camera_state: int = CameraState.REMOTE_ACCESS  # 0xDF00 in a later body's events list

    @property
    def shown_state(self) -> int:
        """0xDF00 as the body reports it: a body without remote mode can at best be browsed."""
        if self.no_remote and self.camera_state == CameraState.REMOTE_ACCESS:
            return CameraState.FULL_ACCESS
        return self.camera_state


def _spec(desc: DevicePropDesc) -> PropSpec:
    return PropSpec(desc.code, desc.datatype, bool(desc.writable), desc.factory_default, desc.form)


def _read_only(code: int, value: int) -> PropSpec:
    return PropSpec(code, PROPERTY_TYPES.get(code, _U32), False, value, NoForm())


class FujiProperties:
    """The properties of one simulated body (see the module docstring)."""

    def __init__(self, profile: BodyProfile = XT1, quirks: Quirks | None = None) -> None:
        self.profile, self.quirks = profile, quirks or Quirks()
        self.later = profile.events is EventsMode.CHANGES
        self.defs: dict[int, PropSpec] = {}
        self.values: dict[int, Value] = {}
        #: Current values the 0x902B list and describes still report although the state says otherwise.
        self.stale: dict[int, Value] = {}
        self._start_from_captures()
        #: Properties the body answers with no data (it does not have them).
        self.absent: set[int] = set()
        self.journal = ChangeJournal()
        self.event_codes = tuple(dict.fromkeys(c for c, _ in (*profile.access_events, *profile.remote_state)))
        self.battery = 100
        if self.later:
            self._become(profile)
        if self.quirks.no_remote:
            self._drop(BodyProperty.RemoteVersion)
        #: What ``--empty-value`` still answers: the events list and the version properties.
        self.kept = frozenset({FujiProperty.CurrentState, *(code for code, _ in profile.versions)})

    def _start_from_captures(self) -> None:
        """The X-T1 as captured: the README's lists, the scanned descriptions, the invented rest."""
        readme_list = decode_desc_list(README_902B)
        readme_state = decode_state_list(README_D212)
        self.list_order = tuple(d.code for d in readme_list)
        self.state_order = tuple(item.code for item in readme_state)
        self.captured_descs = {code: bytes.fromhex(text) for code, text in CAPTURED_DESCS_HEX.items()}
        self.blob_values = {code: bytes.fromhex(text) for code, text in CAPTURED_VALUES_HEX.items()}
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
        for item in readme_state:
            value = state_value(self.defs[item.code].datatype, item.value)
            if item.code in self.list_order and self.values[item.code] != value:
                self.stale[item.code] = self.values[item.code]
            self.values[item.code] = value

    # -------------------------------------------------------------- a body after the X-T1

    def _become(self, profile: BodyProfile) -> None:
        self.stale.clear()
        self._drop(FujiProperty.DeviceVersionBlob, absent=False)
        for code in _XT1_VERSIONS:
            self._drop(code, absent=False)
        for code, word in (*profile.access_events, *profile.remote_state):
            self._adopt(code, word)
        for code, version in profile.versions:  # after the lists: 0xD400 is read as 0, listed as 1
            if version is None:
                self._drop(code)
            elif code == BodyProperty.RemoteVersion:
                self.define(PropSpec(code, _U32, True, version, RangeForm(version, 0xFFFF_FFFF, 1)), version)
            else:
                self.define(_read_only(code, version), version)
        self.define(PropSpec(BodyProperty.EnableCorrectFileSize, _U16, True, 0, EnumForm((0, 1))), 0)
        client_states = EnumForm(tuple(int(state) for state in ClientState))
        self.define(PropSpec(BodyProperty.ClientState, _U16, True, 0, client_states), 0)
        self.values[BodyProperty.CameraState] = self.quirks.shown_state
        level = self.values.get(FujiProperty.BatteryLevel)
        if isinstance(level, int) and BATTERY_EMPTY <= level <= BATTERY_FULL:
            self.battery = (level - BATTERY_EMPTY) * PERCENT_PER_BAR

    def define(self, spec: PropSpec, value: Value) -> None:
        """Adds or replaces a property."""
        self.defs[spec.code], self.values[spec.code] = spec, value

    def _drop(self, code: int, *, absent: bool = True) -> None:
        """The body does not have ``code``: unknown, or (``absent``) answered with no data."""
        for table in (self.defs, self.values, self.captured_descs, self.blob_values):
            table.pop(code, None)
        if absent:
            self.absent.add(code)

    def _adopt(self, code: int, word: int) -> None:
        """A value from the body's events lists; its enumeration learns it when it lacks it."""
        spec = self.defs.get(code) or _read_only(code, word)
        value = state_value(spec.datatype, word)
        if isinstance(spec.form, EnumForm) and value not in spec.form.values:
            spec = replace(spec, form=EnumForm((*spec.form.values, value)))
        self.define(spec, value)

    @property
    def remote_allowed(self) -> bool:
        """Whether ClientState 5 may be written: the body is in its remote-shooting function."""
        return not self.later or self.quirks.camera_state == CameraState.REMOTE_ACCESS

    # -------------------------------------------------------------- the lists

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
        """The 0xD212 answer: the X-T1's seventeen README entries with their current values, or what a
        later body's journal holds (emptied by this poll)."""
        if self.later:
            return self.journal.poll().encode()
        return encode_state_list((code, self.word(code)) for code in self.state_order)

    def word(self, code: int) -> int:
        """The u32 of ``code``'s current value in an events list."""
        value = self.values[code]
        assert isinstance(value, int)
        return state_word(self.defs[code].datatype, value)

    def start_session(self) -> None:
        """OpenSession: a later body's first events list says who may do what and how many images there
        are (those three are current), the rest as its log shows it (the X-T4 and X-T5 list 0xD400 = 1
        and answer a read of it with 0)."""
        self.journal = ChangeJournal()
        for code, word in self.profile.access_events:
            self.journal.set(code, self.word(code) if code in _LIVE_ACCESS else word)

    def announce_remote(self) -> None:
        """InitiateOpenCapture: a later body's next events list carries its whole shooting state."""
        codes = [code for code, _ in self.profile.remote_state]
        for code in codes:
            self.journal.set(code, self.word(code))
        self.journal.announce(codes)

    # -------------------------------------------------------------- operations

    def describe(self, code: int, list_served: bool) -> Outcome:
        """GetDevicePropDesc (``list_served``: 0x902B has run in this session)."""
        if self.quirks.refuse_desc:
            return Outcome(ResponseCode.OperationNotSupported)
        captured = self.captured_descs.get(code)
        if captured is not None and (code not in self.defs or not (list_served or self.later)):
            return Outcome(OK, data=captured)
        if code in self.defs:
            return Outcome(OK, data=self.desc(code).encode())
        return Outcome(OK)  # FUJI.md §6.3: no data and no error for a property the camera cannot describe

    def get(self, code: int) -> Outcome:
        """GetDevicePropValue."""
        if self.quirks.empty_value and code not in self.kept:
            return Outcome(OK, data=b"")
        if code == FujiProperty.CurrentState:
            return Outcome(OK, data=self.payload_d212())
        if code in self.blob_values:
            return Outcome(OK, data=self.blob_values[code])
        if code in self.defs:
            return Outcome(OK, data=encode_value(self.defs[code].datatype, self.values[code]))
        if self.later or code in self.absent:
            return Outcome(OK, data=b"")  # the logs: what a body does not have, it answers with no data
        return Outcome(ResponseCode.DevicePropNotSupported)

    def parse(self, code: int, data: bytes) -> Value | Outcome:
        """The value a SetDevicePropValue of ``code`` asks for (the bytes after it are ignored, FUJI.md §6.2),
        or the refusal."""
        if code == FujiProperty.CurrentState:
            return Outcome(ResponseCode.AccessDenied)
        if code in self.blob_values and code not in self.defs:
            return Outcome(ResponseCode.InvalidDevicePropFormat)
        definition = self.defs.get(code)
        if definition is None:
            return Outcome(ResponseCode.DevicePropNotSupported)
        result, value = definition.decode_set(data, exact=False)
        return Outcome(result) if value is None else value

    def set(self, code: int, value: Value) -> None:
        """Changes a property as the camera itself would (no checks): 0x902B and 0xD212 follow."""
        self.values[code] = value
        self.stale.pop(code, None)
        if code == FujiProperty.GeoTag:
            assert isinstance(value, str)
            self.blob_values[code] = encode_string(value)
        if self.later and code in self.event_codes:
            self.journal.set(code, self.word(code))

    def drain_battery(self) -> None:
        """One percent less battery on a later body (its list shows a bar less every 20 %)."""
        if not self.later or self.battery <= 0:
            return
        self.battery -= 1
        bars = BATTERY_EMPTY + math.ceil(self.battery / PERCENT_PER_BAR)
        for code in (FujiProperty.BatteryLevel, BodyProperty.BatteryLevel2):
            if code in self.values and self.values[code] != bars:
                self.set(code, bars)
