"""Fujifilm Wi-Fi data: codes, value tables, value encodings and the two Fuji list formats (pure data).

Everything here converts numbers and bytes; nothing talks to a camera. It imports only :mod:`ptpipd.ptp` and
the label helpers, so the simulated camera can share the tables with the driver. Sources are FUJI.md §7
(events), §9 (0xD212), §10 (0x902B), §11 (properties and encodings), §12 (operations) and §17 (which
source wins where they disagree).

0xD212 "current state" list (the data of GetDevicePropValue 0xD212)::

    offset   size  field
    0        2     Count u16
    2 + 6i   2     PropertyCode u16
    4 + 6i   4     Value u32 (always 32 bits; an INT16 sits in the low half: b3 fe 00 00 = -333)

0x902B DevicePropDesc list (the data of operation 0x902B)::

    offset   size          field
    0        4             Count u32
    then per entry:
    +0       4             EntrySize u32 = 4 + the size of the DevicePropDesc (it counts itself)
    +4       EntrySize-4   a standard DevicePropDesc (PTP.md §3.2)

Fuji event container (28 bytes, FUJI.md §7), as the container codec splits it::

    offset  size  field
    0       4     Length = 28
    4       2     ContainerType = 4
    6       2     EventCode
    8       4     "TransactionID" to the codec; always 1 in the captures (malc0mn: "Amount")
    12      4     params[0]: the TID of the InitiateCapture (malc0mn's TransactionID)
    16      4     params[1]: the same TID again
    20      4     params[2]: C001: the preview size in bytes
    24      4     params[3]: 0
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from enum import IntEnum
from fractions import Fraction
from typing import NamedTuple

from ptpipd.ptp import DataType, DecodeError, DevicePropDesc, EncodeError, Value
from ptpipd.ptp.types import Buffer, decode_counted
from ptpipd.vendors.labels import (
    Enum,
    ExposureBias,
    ExposureTime,
    FNumber,
    Labels,
    Plain,
    decimal,
    hex_label,
    normalize,
)

# ------------------------------------------------------------------------------------------------ codes


class FujiOperation(IntEnum):
    """Fuji operation codes (FUJI.md §10, §12; libgphoto2's names)."""

    InitiateMovieCapture = 0x9020
    TerminateMovieCapture = 0x9021
    GetCapturePreview = 0x9022
    SetFocusPoint = 0x9026
    ResetFocusPoint = 0x9027
    GetDeviceInfo = 0x902B  # the DevicePropDesc list of §10, not a DeviceInfo dataset
    SetShutterSpeed = 0x902C
    SetAperture = 0x902D
    SetExposureCompensation = 0x902E
    CancelInitiateCapture = 0x9030
    FmSendObjectInfo = 0x9040
    FmSendObject = 0x9041
    FmSendPartialObject = 0x9042


class FujiEvent(IntEnum):
    """Fuji event codes (FUJI.md §7). 0xC006 is listed by libgphoto2 without a meaning."""

    PreviewAvailable = 0xC001
    ObjectAdded = 0xC004
    Unknown_C006 = 0xC006


#: Display names of the Fuji events, as the vectors spell them.
EVENT_NAMES: dict[int, str] = {
    FujiEvent.PreviewAvailable: "Fuji_PreviewAvailable",
    FujiEvent.ObjectAdded: "Fuji_ObjectAdded",
    FujiEvent.Unknown_C006: "Fuji_C006",
}


class FujiProperty(IntEnum):
    """Fuji device property codes (FUJI.md §11.1). Unknown ones are named after their code."""

    FilmSimulation = 0xD001
    ImageQuality = 0xD018
    RecMode = 0xD019
    MacroMode = 0xD01D
    CommandDialMode = 0xD028
    ExposureIndex = 0xD02A
    MovieISO = 0xD02B
    LensZoomPos = 0xD170
    LiveViewImageSize = 0xD174
    FocusPoint = 0xD17C
    FocusLock = 0xD209
    CurrentState = 0xD212
    DeviceError = 0xD21B
    Unknown_D220 = 0xD220
    SensitivityFineTune1 = 0xD222
    Unknown_D226 = 0xD226
    Unknown_D227 = 0xD227
    DeviceVersionBlob = 0xD228
    CapturesRemaining = 0xD229
    MovieRemainingTime = 0xD22A
    ShutterSpeed = 0xD240
    ImageAspectRatio = 0xD241
    BatteryLevel = 0xD242
    Unknown_D400 = 0xD400
    Unknown_D401 = 0xD401
    GeoTag = 0xD500
    Unknown_D52F = 0xD52F
    Unknown_DF00 = 0xDF00
    InitSequence = 0xDF01
    AppVersionReceive = 0xDF21
    AppVersionBrowse = 0xDF22
    Unknown_DF23 = 0xDF23
    AppVersion = 0xDF24
    Unknown_DF25 = 0xDF25
    AppVersionGeo = 0xDF31


#: 0xDF01 values (FUJI.md §4): the session mode the initiator asks for.
INIT_SEQUENCE_REMOTE = 5
INIT_SEQUENCE_RECEIVE = 8
INIT_SEQUENCE_GEO = 0x0A
#: The minimum app version the X-T1 fw 5.51 reports in 0xDF24.
XT1_APP_VERSION = 0x0002_0001

#: The X-T1's data type of each property (FUJI.md §11.1; GetDevicePropValue sizes of the captures).
#: 0xD209 and 0xD242 appear only as u32 in 0xD212; their own type is a guess (UINT16, UINT32).
PROPERTY_TYPES: dict[int, DataType] = {
    0x5001: DataType.UINT8,
    0x5005: DataType.UINT16,
    0x5007: DataType.UINT16,
    0x500A: DataType.UINT16,
    0x500C: DataType.UINT16,
    0x500D: DataType.UINT32,
    0x500E: DataType.UINT16,
    0x5010: DataType.INT16,
    0x5012: DataType.UINT16,
    0xD001: DataType.UINT16,
    0xD018: DataType.UINT16,
    0xD019: DataType.UINT16,
    0xD01D: DataType.UINT16,
    0xD028: DataType.UINT16,
    0xD02A: DataType.UINT32,
    0xD02B: DataType.UINT32,
    0xD170: DataType.UINT16,
    0xD17C: DataType.UINT32,
    0xD209: DataType.UINT16,
    0xD21B: DataType.UINT16,
    0xD220: DataType.UINT32,
    0xD222: DataType.UINT32,
    0xD226: DataType.UINT16,
    0xD227: DataType.UINT16,
    0xD229: DataType.UINT32,
    0xD22A: DataType.UINT32,
    0xD240: DataType.UINT32,
    0xD241: DataType.UINT16,
    0xD242: DataType.UINT32,
    0xD400: DataType.UINT32,
    0xD401: DataType.UINT32,
    0xD52F: DataType.UINT32,
    0xDF00: DataType.UINT16,
    0xDF01: DataType.UINT16,
    0xDF21: DataType.UINT32,
    0xDF22: DataType.UINT32,
    0xDF23: DataType.UINT32,
    0xDF24: DataType.UINT32,
    0xDF25: DataType.UINT32,
    0xDF31: DataType.UINT32,
}

#: Properties whose value and description are not in a PTP layout (FUJI.md §11.4): keep them as bytes.
BLOB_PROPERTIES = frozenset({0x5003, 0xD174, 0xD228, 0xD500})

# ------------------------------------------------------------------------------------------------ tables

#: 0xD001, malc0mn/hkr numbering for the X-T1 over Wi-Fi (§17: libgphoto2's USB table differs from 4 on).
FILM_SIMULATIONS: dict[int, str] = {
    1: "PROVIA",
    2: "Velvia",
    3: "ASTIA",
    4: "Monochrome",
    5: "Sepia",
    6: "PRO Neg. Hi",
    7: "PRO Neg. Std",
    8: "Monochrome + Ye Filter",
    9: "Monochrome + R Filter",
    10: "Monochrome + G Filter",
    11: "Classic Chrome",
    12: "ACROS",
    13: "ACROS + Ye Filter",
    14: "ACROS + R Filter",
    15: "ACROS + G Filter",
    16: "ETERNA",
}
FILM_ALIASES = {
    "standard": 1,
    "std": 1,
    "vivid": 2,
    "soft": 3,
    "mono": 4,
    "b&w": 4,
    "monochrome-ye": 8,
    "monochrome-r": 9,
    "monochrome-g": 10,
    "classic-chrome": 11,
}

#: 0x5005, malc0mn/hkr meaning of 0x800A–0x800C for the X-T1 (§17); 0 is the X-T1's value before 0x902B.
WHITE_BALANCE: dict[int, str] = {
    0: "undefined",
    2: "auto",
    4: "daylight",
    6: "tungsten",
    0x8001: "fluorescent 1",
    0x8002: "fluorescent 2",
    0x8003: "fluorescent 3",
    0x8006: "shade",
    0x800A: "underwater",
    0x800B: "temperature",
    0x800C: "custom",
}
WHITE_BALANCE_ALIASES = {
    "automatic": 2,
    "fine": 4,
    "incandescent": 6,
    "kelvin": 0x800B,
    "temperature (kelvin)": 0x800B,
    "color-temperature": 0x800B,
}

#: 0x500C: the standard values and Fuji's 0x8001–0x800A (FUJI.md §11.1).
FLASH_MODES: dict[int, str] = {
    1: "auto",
    2: "off",
    3: "fill",
    4: "red-eye auto",
    5: "red-eye fill",
    6: "external sync",
    0x8001: "on",
    0x8002: "red-eye",
    0x8003: "red-eye on",
    0x8004: "red-eye sync",
    0x8005: "red-eye rear",
    0x8006: "slow sync",
    0x8007: "rear sync",
    0x8008: "commander",
    0x8009: "disabled",
    0x800A: "enabled",
}

#: 0x500A. 0 is what the X-T1 reports before 0x902B has run.
FOCUS_MODES: dict[int, str] = {0: "undefined", 1: "manual", 0x8001: "AF-S", 0x8002: "AF-C"}
FOCUS_MODE_ALIASES = {"mf": 1, "single auto": 0x8001, "single": 0x8001, "continuous auto": 0x8002}

#: 0x500E. 6 is PTP "program action" and hkr "Auto" (§17: label both); 0x8001–0x8008 are unknown.
EXPOSURE_PROGRAMS: dict[int, str] = {
    0: "undefined",
    1: "manual",
    2: "program",
    3: "aperture priority",
    4: "shutter priority",
    6: "auto/action",
}
EXPOSURE_PROGRAM_ALIASES = {
    "m": 1,
    "automatic": 2,
    "p": 2,
    "a": 3,
    "s": 4,
    "auto": 6,
    "action": 6,
    "program action": 6,
}

#: 0x5012 on Fuji is an index, not milliseconds.
SELF_TIMER: dict[int, str] = {0: "off", 1: "1s", 2: "2s", 3: "5s", 4: "10s"}
SELF_TIMER_ALIASES = {
    "none": 0,
    "1 second": 1,
    "1 seconds": 1,
    "2 seconds": 2,
    "5 seconds": 3,
    "10 seconds": 4,
}

#: 0xD018. 1 (RAW only) is libgphoto2's; malc0mn says remote mode has no RAW-only.
IMAGE_QUALITY: dict[int, str] = {
    1: "RAW",
    2: "JPEG fine",
    3: "JPEG normal",
    4: "RAW + JPEG fine",
    5: "RAW + JPEG normal",
}
IMAGE_QUALITY_ALIASES = {"fine": 2, "normal": 3, "raw+fine": 4, "raw+normal": 5}

#: 0xD241 image size and aspect ratio.
IMAGE_SIZES: dict[int, str] = {
    2: "S 3:2",
    3: "S 16:9",
    4: "S 1:1",
    6: "M 3:2",
    7: "M 16:9",
    8: "M 1:1",
    10: "L 3:2",
    11: "L 16:9",
    12: "L 1:1",
}

#: 0xD028.
COMMAND_DIAL: dict[int, str] = {0: "both", 1: "aperture", 2: "shutter speed", 3: "none"}
COMMAND_DIAL_ALIASES = {"aperture only": 1, "shutter speed only": 2, "shutter": 2}

#: 0x5001 / 0xD242 on malc0mn's scale for the X-T1 (§11.2 is unresolved; hkr numbers the bars differently).
BATTERY_LEVELS: dict[int, str] = {
    1: "1/3",
    2: "2/3",
    3: "3/3",
    6: "critical",
    7: "1/5",
    8: "2/5",
    9: "3/5",
    10: "4/5",
    11: "5/5",
}
BATTERY_ALIASES = {"full": 3}

FOCUS_LOCK: dict[int, str] = {0: "off", 1: "on"}
DEVICE_ERRORS: dict[int, str] = {0: "none"}
REC_MODES: dict[int, str] = {0: "unavailable", 1: "available"}
REC_MODE_ALIASES = {
    "movie not available": 0,
    "movie unavailable": 0,
    "movie available": 1,
    "off": 0,
    "on": 1,
}
#: 0x5007: 0xFFFF is malc0mn's "automatic" (the X-T1's list has it; hkr calls it "---"), 0 is hkr's "Auto"
#: (the X-T1 reads 0 in program mode, where the camera chooses). Both read "auto"; ``set fnumber auto``
#: sends the listed 0xFFFF (the later entry wins when parsing).
FNUMBER_SPECIAL: dict[int, str] = {0: "auto", 0xFFFF: "auto"}
#: 0x500D: the X-T1 lists {2, 300000, 0xFFFFFFFF} without a documented meaning. 0 (its value in program
#: mode) reads "auto" as for 0x5007; 0xFFFFFFFF reads "bulb", its meaning on Nikon bodies (libgphoto2
#: config.c ``_get_ExpTime``) and the only setting of the X-T1's dial beyond 30 s (inferred, not proven).
EXPOSURE_TIME_SPECIAL: dict[int, str] = {0: "auto", 0xFFFF_FFFF: "bulb"}

# ------------------------------------------------------------------------------------------------ encodings


#: 0xD02A/0xD02B whole value meaning "auto ISO".
ISO_AUTO = 0xFFFF_FFFF
#: High 16 bits of an ISO value: 0 manual, 0x8000 auto with this maximum ("S"), 0x4000 extended ("L"/"H").
ISO_FLAG_MANUAL = 0x0000
ISO_FLAG_AUTO_MAX = 0x8000
ISO_FLAG_EXTENDED = 0x4000
_ISO_PREFIXES = {"": ISO_FLAG_MANUAL, "s": ISO_FLAG_AUTO_MAX, "l": ISO_FLAG_EXTENDED, "h": ISO_FLAG_EXTENDED}


def encode_iso(sensitivity: int, flag: int = ISO_FLAG_MANUAL) -> int:
    """The u32 of an ISO setting: ``flag`` in the high 16 bits, the sensitivity in the low 16."""
    if not 0 <= sensitivity <= 0xFFFF or not 0 <= flag <= 0xFFFF:
        raise EncodeError(f"ISO {sensitivity} with flags 0x{flag:04X} does not fit the Fuji encoding")
    return (flag << 16) | sensitivity


def decode_iso(value: int) -> tuple[int, int]:
    """(flags, sensitivity) of an ISO u32; ``ISO_AUTO`` gives (0xFFFF, 0xFFFF)."""
    return value >> 16, value & 0xFFFF


class FujiIso(Labels):
    """Labels of 0xD02A/0xD02B: ``800``, ``S6400`` (auto, max 6400), ``L100``/``H12800`` (extended), ``auto``.

    Parsing ignores case and spaces, so ``"S 6400"`` and ``"s6400"`` are ``S6400``.
    """

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        if value == ISO_AUTO:
            return "auto"
        flags, iso = decode_iso(value)
        if flags == ISO_FLAG_MANUAL:
            return str(iso)
        if flags == ISO_FLAG_AUTO_MAX:
            return f"S{iso}"
        if flags == ISO_FLAG_EXTENDED:
            return f"{'L' if iso < 200 else 'H'}{iso}"
        return f"0x{value:08X}"

    def hint(self, value: Value, allowed: list[str]) -> str | None:
        """Auto ISO on a camera that does not list "auto": it lists auto with a maximum (``S6400``)."""
        autos = [label for label in allowed if label.startswith("S")]
        if value != ISO_AUTO or not autos:
            return None
        return f"its auto ISO comes with a maximum sensitivity: {', '.join(autos)}"

    def parse(self, text: str) -> Value | None:
        t = normalize(text).removeprefix("iso")
        if t == "auto":
            return ISO_AUTO
        match = re.fullmatch(r"([slh]?)(\d+)", t)
        if not match or int(match.group(2)) > 0xFFFF:
            return None
        return encode_iso(int(match.group(2)), _ISO_PREFIXES[match.group(1)])


#: Bytes 2–3 of a focus point as every captured X-T1 value has them (``02 03``; meaning unknown).
FOCUS_POINT_TAIL = 0x0302


def encode_focus_point(x: int, y: int, tail: int = FOCUS_POINT_TAIL) -> int:
    """The u32 of 0xD17C: byte0 = y, byte1 = x, bytes 2–3 = ``tail``."""
    if not (0 <= x <= 0xFF and 0 <= y <= 0xFF and 0 <= tail <= 0xFFFF):
        raise EncodeError(f"focus point x={x} y={y} tail=0x{tail:04X} does not fit the Fuji encoding")
    return (tail << 16) | (x << 8) | y


def decode_focus_point(value: int) -> tuple[int, int, int]:
    """(x, y, tail) of a 0xD17C u32."""
    return (value >> 8) & 0xFF, value & 0xFF, value >> 16


class FocusPoint(Labels):
    """Labels of 0xD17C in malc0mn's ``XxY`` form: 0x03020404 → ``4x4``, 0x03020702 → ``7x2``.

    The label drops bytes 2–3; parsing ``"4x4"`` (or ``"x=4 y=4"``) gives them the usual ``02 03``.
    """

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        x, y, _ = decode_focus_point(value)
        return f"{x}x{y}"

    def parse(self, text: str) -> Value | None:
        t = normalize(text)
        match = re.fullmatch(r"(\d+)x(\d+)", t) or re.fullmatch(r"x=?(\d+),?y=?(\d+)", t)
        if not match or int(match.group(1)) > 0xFF or int(match.group(2)) > 0xFF:
            return None
        return encode_focus_point(int(match.group(1)), int(match.group(2)))


#: 0xD240: "not available" (hkr prints ``----``).
SHUTTER_NOT_AVAILABLE = 0xFFFF_FFFF
#: 0xD240 bit 31: the value is 1/(v ÷ 1000) s; clear: v ÷ 1000 s.
SHUTTER_FRACTION = 0x8000_0000


def shutter_seconds(value: int) -> Fraction | None:
    """The exposure time a 0xD240 value encodes, in seconds; None for "not available" or 1/0."""
    if value == SHUTTER_NOT_AVAILABLE:
        return None
    if value & SHUTTER_FRACTION:
        thousandths = value & 0x0FFF_FFFF
        return Fraction(1000, thousandths) if thousandths else None
    return Fraction(value, 1000)


class ShutterSpeed(Labels):
    """Labels of 0xD240 (hkr's encoding): 0x8003D090 → ``1/250``, 2000 → ``2s``, 0xFFFFFFFF → ``n/a``."""

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        if value == SHUTTER_NOT_AVAILABLE:
            return "n/a"
        if value & SHUTTER_FRACTION:
            return f"1/{decimal(Fraction(value & 0x0FFF_FFFF, 1000), 3)}"
        return f"{decimal(Fraction(value, 1000), 3)}s"

    def parse(self, text: str) -> Value | None:
        t = normalize(text)
        if t in ("n/a", "----", "notavailable"):
            return SHUTTER_NOT_AVAILABLE
        try:
            if t.startswith("1/"):
                thousandths = Fraction(t[2:]) * 1000
                if thousandths.denominator != 1 or not 0 < thousandths <= 0x0FFF_FFFF:
                    return None
                return SHUTTER_FRACTION | int(thousandths)
            thousandths = Fraction(t.removesuffix("s").removesuffix('"')) * 1000
        except (ValueError, ZeroDivisionError):
            return None
        if thousandths.denominator != 1 or not 0 <= thousandths < SHUTTER_FRACTION:
            return None
        return int(thousandths)


#: The labels of every property the tables above cover, by code.
PROPERTY_LABELS: dict[int, Labels] = {
    0x5001: Enum(BATTERY_LEVELS, BATTERY_ALIASES),
    0x5005: Enum(WHITE_BALANCE, WHITE_BALANCE_ALIASES),
    0x5007: FNumber(FNUMBER_SPECIAL),
    0x500A: Enum(FOCUS_MODES, FOCUS_MODE_ALIASES),
    0x500C: Enum(FLASH_MODES),
    0x500D: ExposureTime(EXPOSURE_TIME_SPECIAL),
    0x500E: Enum(EXPOSURE_PROGRAMS, EXPOSURE_PROGRAM_ALIASES),
    0x5010: ExposureBias(),
    0x5012: Enum(SELF_TIMER, SELF_TIMER_ALIASES),
    0xD001: Enum(FILM_SIMULATIONS, FILM_ALIASES),
    0xD018: Enum(IMAGE_QUALITY, IMAGE_QUALITY_ALIASES),
    0xD019: Enum(REC_MODES, REC_MODE_ALIASES),
    0xD028: Enum(COMMAND_DIAL, COMMAND_DIAL_ALIASES),
    0xD02A: FujiIso(),
    0xD02B: FujiIso(),
    0xD17C: FocusPoint(),
    0xD209: Enum(FOCUS_LOCK),
    0xD21B: Enum(DEVICE_ERRORS),
    0xD229: Plain(),
    0xD22A: Plain(),
    0xD240: ShutterSpeed(),
    0xD241: Enum(IMAGE_SIZES),
    0xD242: Enum(BATTERY_LEVELS, BATTERY_ALIASES),
}

# ------------------------------------------------------------------------------------------------ 0xD212


class StateItem(NamedTuple):
    """One 0xD212 entry: a property code and its value as the u32 the list carries."""

    code: int
    value: int


_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_STATE_ENTRY = struct.Struct("<HI")


def decode_state_list(data: Buffer) -> list[StateItem]:
    """The entries of a 0xD212 payload (layout in the module docstring); the count must fill the data exactly.

    Raises:
        DecodeError: shorter than the count, a count the bytes cannot hold, or trailing bytes.
    """
    return [StateItem(*item) for item in decode_counted(data, _STATE_ENTRY, "0xD212 list")]


def encode_state_list(items: Iterable[tuple[int, int]]) -> bytes:
    """A 0xD212 payload from (code, u32 value) pairs, in the given order."""
    entries = list(items)
    if len(entries) > 0xFFFF:
        raise EncodeError(f"0xD212 list: {len(entries)} entries exceed the u16 count")
    out = bytearray(_U16.pack(len(entries)))
    for code, value in entries:
        if not (0 <= code <= 0xFFFF and 0 <= value <= 0xFFFF_FFFF):
            raise EncodeError(f"0xD212 entry 0x{code:X} = {value} does not fit u16 code + u32 value")
        out += _STATE_ENTRY.pack(code, value)
    return bytes(out)


def state_value(datatype: DataType, word: int) -> int:
    """A property value from its 0xD212 u32: cut to the type's width, sign-extended for signed types.

    ``state_value(INT16, 0xFEB3) == -333``; types wider than 32 bits get the word as it is.
    """
    bits = _state_bits(datatype)
    value = word & ((1 << bits) - 1)
    if datatype.signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def state_word(datatype: DataType, value: int) -> int:
    """The 0xD212 u32 of a property value: its two's-complement bytes at the type's width, zero-extended."""
    return value & ((1 << _state_bits(datatype)) - 1)


def _state_bits(datatype: DataType) -> int:
    size = datatype.size
    return 32 if size is None or size >= 4 else 8 * size


# ------------------------------------------------------------------------------------------------ 0x902B

_MIN_DPD = 8  # code 2 + type 2 + GetSet 1 + at least one byte per value and the form flag


def split_desc_list(data: Buffer) -> list[bytes]:
    """The DevicePropDesc bytes of each entry of a 0x902B payload (sizes checked, contents not parsed).

    Raises:
        DecodeError: a count the bytes cannot hold, an entry size under 4 or past the end, trailing bytes.
    """
    view = memoryview(data).cast("B")
    if len(view) < _U32.size:
        raise DecodeError(f"0x902B list: {len(view)} bytes, need 4 for the count", offset=0)
    (count,) = _U32.unpack_from(view, 0)
    offset = _U32.size
    if count * (_U32.size + _MIN_DPD) > len(view) - offset:
        raise DecodeError(
            f"0x902B list: count {count} cannot fit in the {len(view) - offset} bytes that follow", offset=0
        )
    entries: list[bytes] = []
    for index in range(count):
        if len(view) - offset < _U32.size:
            raise DecodeError(f"0x902B list: entry {index} has no size field", offset=offset)
        (size,) = _U32.unpack_from(view, offset)
        if size < _U32.size + _MIN_DPD or size > len(view) - offset:
            raise DecodeError(
                f"0x902B list: entry {index} claims {size} bytes, {len(view) - offset} are left",
                offset=offset,
            )
        entries.append(bytes(view[offset + _U32.size : offset + size]))
        offset += size
    if offset != len(view):
        raise DecodeError(f"0x902B list: {len(view) - offset} trailing bytes", offset=offset)
    return entries


def decode_desc_list(data: Buffer) -> list[DevicePropDesc]:
    """The DevicePropDescs of a 0x902B payload; each entry must hold exactly one standard descriptor."""
    out = []
    for index, entry in enumerate(split_desc_list(data)):
        try:
            out.append(DevicePropDesc.decode(entry))
        except DecodeError as exc:
            raise DecodeError(f"0x902B list entry {index}: {exc}", offset=exc.offset) from None
    return out


def encode_desc_list(entries: Sequence[DevicePropDesc | bytes]) -> bytes:
    """A 0x902B payload: the count, then each descriptor (or its raw bytes) behind its self-counting size."""
    out = bytearray(_U32.pack(len(entries)))
    for entry in entries:
        body = entry if isinstance(entry, bytes) else entry.encode()
        out += _U32.pack(_U32.size + len(body)) + body
    return bytes(out)


# ------------------------------------------------------------------------------------------------ events

#: The word the captured events carry at offset 8 (the codec's TransactionID; malc0mn's "Amount").
EVENT_FIRST_WORD = 1
#: Index in the codec's params of the word at byte offset 20 of the container (C001: the preview size).
PREVIEW_SIZE_PARAM = 2


def capture_event_params(transaction_id: int, value: int = 0) -> tuple[int, int, int, int]:
    """The four words after offset 8 of a capture event: ``tid, tid, value, 0`` (FUJI.md §7)."""
    return (transaction_id, transaction_id, value, 0)


def preview_size(params: Sequence[int]) -> int | None:
    """The preview size a C001 event carries at byte offset 20, or None when the event is too short."""
    return params[PREVIEW_SIZE_PARAM] if len(params) > PREVIEW_SIZE_PARAM else None
