"""The simulated EOS 6D's properties: what it reports in GetEvent, what it offers, what it lets a host write.

Pure data and rules, no I/O. EOS properties never travel as DevicePropDesc: their values go out as
PropValueChanged records and their allowed values as AvailListChanged records of GetEvent 0x9116, and a host
writes them with SetDevicePropValueEx 0x9110 (CANON.md §1, §4, §5). The values and lists are those of a 6D
with an EF 24-105mm f/4L IS USM, from libgphoto2's ``cameras/canon-eos6d.txt`` (CANON.md §6.4, §9.2): ISO
Auto and 100 … 25600, white balance 0, 1, 8, 2, 3, 4, 5, 6, 9, exposure compensation ±5 EV in thirds, drive
0, 1, 0x13, 0x14, 0x11, 0x10, metering 3, 4, 1, 5, AF operation 0, 1, 2; the lens's apertures f/4 … f/22 and
the 6D's shutter speeds 30 s … 1/4000 and bulb.

Rules of SetDevicePropValueEx (the responses are the standard PTP ones a camera gives; no source shows the
6D's own):

=====================================================  ===========================================
data                                                   response
=====================================================  ===========================================
not a whole SetDevicePropValueEx structure             0x201B InvalidDevicePropFormat
a property the body does not have                      0x200A DevicePropNotSupported
a read-only property (battery, serial, lens, counters)  0x200F AccessDenied
a number that is not 4 bytes, or that does not fit     0x201B InvalidDevicePropFormat
a value outside the property's list                    0x201C InvalidDevicePropValue
=====================================================  ===========================================

The shooting mode 0xD105 has a list the body keeps to itself: libgphoto2 notes that "enumeration for AEM
is never provided, but is available to set" (CANON.md §3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ptpipd.ptp import DecodeError, EncodeError, ResponseCode
from ptpipd.sim.properties import Values
from ptpipd.vendors.canon_codes import (
    CAPTURE_TO_CARD,
    CAPTURE_TO_PC,
    AvailListChanged,
    CanonProperty,
    EosValue,
    ImageFile,
    ImageFormat,
    Kind,
    PropValueChanged,
    SetPropValue,
    property_kind,
)

P = CanonProperty
RC = ResponseCode


@dataclass(frozen=True, slots=True)
class EosProp:
    """One property of the body: its code, value at power-on, the values it takes (None: any of its kind),
    whether a host may write it, and whether the body sends its list (``listed``)."""

    code: int
    default: int | str
    allowed: tuple[int, ...] | None = None
    writable: bool = True
    listed: bool = True


def _thirds(first: int, last: int) -> tuple[int, ...]:
    """Canon stop codes from ``first`` to ``last`` in 1/3 stops (codes x0, x3, x5 of each stop of 8)."""
    return tuple(c for c in range(first, last + 1) if c % 8 in (0, 3, 5))


def _exposure_comp(stops: int) -> tuple[int, ...]:
    """±``stops`` EV in thirds as the body's signed eighths (0xFD = -1/3, 0x03 = +1/3)."""
    eighths = [whole * 8 + rest for whole in range(stops + 1) for rest in (0, 3, 5)][: 3 * stops + 1]
    return tuple(sorted((-e) & 0xFF for e in eighths[1:])) + tuple(eighths)


def _formats(*names: tuple[tuple[int, int, int], ...]) -> tuple[int, ...]:
    codes = []
    for files in names:
        code = ImageFormat(tuple(ImageFile(*f) for f in files)).code
        assert code is not None
        codes.append(code)
    return tuple(codes)


_RAW, _MRAW, _SRAW = (6, 0, 4), (6, 1, 4), (6, 2, 4)
_L, _LN, _M, _MN, _S1, _S1N, _S2, _S3 = (1, 0, 3), (1, 0, 2), (1, 1, 3), (1, 1, 2), (1, 14, 3), (1, 14, 2), (
    1, 15, 3), (1, 16, 3)  # fmt: skip
#: The 6D's image quality menu: JPEG sizes, RAW sizes, RAW + L fine JPEG.
IMAGE_FORMATS = _formats(
    (_L,), (_LN,), (_M,), (_MN,), (_S1,), (_S1N,), (_S2,), (_S3,),
    (_RAW, _L), (_RAW,), (_MRAW, _L), (_MRAW,), (_SRAW, _L), (_SRAW,),
)  # fmt: skip
#: 0xD105 values the 6D's mode dial has: P, Tv, Av, M, B, C1, C2, A+ (scene intelligent auto), SCN.
SHOOTING_MODES = (0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x10, 0x16, 0x19)
#: EF 24-105mm f/4L at 105 mm: f/4 … f/22.
APERTURES = _thirds(0x28, 0x50)
#: 30 s … 1/4000 s, bulb first (gphoto2 lists bulb with the speeds).
SHUTTER_SPEEDS = (0x0C, *_thirds(0x10, 0x98))
ISO_SPEEDS = (0x00, *_thirds(0x48, 0x88))
#: The 6D's battery reports 2 (full), 4 (75 %), 1 (50 %), 5 (25 %), 0 (low): CANON.md §3.
BATTERY_FULL = 2
LENS = "EF24-105mm f/4L IS USM"
#: The 6D's 0xD1AF serial, from libgphoto2's canon-eos6d.txt.
SERIAL = "033024014483"
#: 0xD116 ModelID (the value libgphoto2's canon-eos6d.txt shows for the 6D)
MODEL_ID = 0x80000302
#: 2024-06-01 10:00:00 UTC: the camera clock of a deterministic body does not tick.
CAMERA_TIME = 1_717_236_000
#: CaptureDestination is a bit set of card slots (1, 2) and the host (4) on newer bodies; a one-slot body's card
#: may be called 1 (older libgphoto2 writes 1 for "card") or 2 (libpict): both mean the card here.
CARD_SLOT_1 = 1
#: Frames the body reports as AvailableShots on an empty card at the default quality.
AVAILABLE_SHOTS = 4672
SHUTTER_COUNT = 147

# fmt: off
SIX_D: tuple[EosProp, ...] = (
    EosProp(P.Aperture, 0x30, APERTURES),
    EosProp(P.ShutterSpeed, 0x78, SHUTTER_SPEEDS),
    EosProp(P.ISOSpeed, 0x48, ISO_SPEEDS),
    EosProp(P.ExpCompensation, 0x00, _exposure_comp(5)),
    EosProp(P.AutoExposureMode, 0x03, SHOOTING_MODES, listed=False),
    EosProp(P.DriveMode, 0x00, (0x00, 0x01, 0x13, 0x14, 0x11, 0x10)),
    EosProp(P.MeteringMode, 3, (3, 4, 1, 5)),
    EosProp(P.FocusMode, 0, (0, 1, 2)),
    EosProp(P.WhiteBalance, 0, (0, 1, 8, 2, 3, 4, 5, 6, 9)),
    EosProp(P.ColorSpace, 1, (1, 2)),
    EosProp(P.PictureStyle, 0x81, (0x87, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x21, 0x22, 0x23)),
    EosProp(P.BatteryPower, BATTERY_FULL, writable=False),
    EosProp(P.CameraTime, CAMERA_TIME),
    EosProp(P.Owner, ""),
    EosProp(P.ModelID, MODEL_ID, writable=False),
    EosProp(P.AvailableShots, AVAILABLE_SHOTS, writable=False),
    EosProp(P.CaptureDestination, CAPTURE_TO_CARD, (CARD_SLOT_1, CAPTURE_TO_CARD, CAPTURE_TO_PC), listed=False),
    EosProp(P.ImageFormat, IMAGE_FORMATS[0], IMAGE_FORMATS),
    EosProp(P.ShutterCounter, SHUTTER_COUNT, writable=False),
    EosProp(P.SerialNumber, SERIAL, writable=False),
    EosProp(P.EVFOutputDevice, 0, tuple(range(16)), listed=False),
    EosProp(P.EVFMode, 1, (0, 1), listed=False),
    EosProp(P.Artist, ""),
    EosProp(P.Copyright, ""),
    EosProp(P.LensName, LENS, writable=False),
)
# fmt: on


def _fits(kind: Kind, raw: bytes) -> bool:
    """A number on the wire is a u32 (CANON.md §4.2) whose value fits the property's width, or is its
    sign extension (gphoto2 sends -1/3 EV as 0x000000FD, others may send 0xFFFFFFFD)."""
    if len(raw) != 4:
        return False
    width = {Kind.U8: 8, Kind.U16: 16, Kind.I16: 16}.get(kind, 32)
    high = int.from_bytes(raw, "little") >> width
    return high in (0, (1 << (32 - width)) - 1)


class EosProperties(Values[int | str]):
    """The current values of the body's EOS properties, in dump order."""

    def __init__(self, specs: tuple[EosProp, ...] = SIX_D) -> None:
        self.specs = {spec.code: spec for spec in specs}
        for spec in specs:
            if spec.allowed is not None and spec.default not in spec.allowed:
                raise ValueError(f"property 0x{spec.code:04X}: the default {spec.default!r} is not allowed")
        super().__init__({spec.code: spec.default for spec in specs})

    def value_record(self, code: int) -> PropValueChanged:
        """The PropValueChanged record of ``code``'s current value."""
        return PropValueChanged.of(code, _wire(code, self.values[code]))

    def list_record(self, code: int) -> AvailListChanged | None:
        """The AvailListChanged record of ``code``, or None when the body sends no list for it."""
        spec = self.specs[code]
        if spec.allowed is None or not spec.listed:
            return None
        if property_kind(code) is Kind.IMAGE_FORMAT:
            return AvailListChanged(code, tuple(ImageFormat.from_code(v) for v in spec.allowed))
        return AvailListChanged(code, spec.allowed)

    def dump(self) -> Iterator[PropValueChanged | AvailListChanged]:
        """Every value, then every list: a list only counts after its property's value (CANON.md §4.3)."""
        yield from (self.value_record(code) for code in self.specs)
        for code in self.specs:
            record = self.list_record(code)
            if record is not None:
                yield record

    def set_from_host(self, data: bytes) -> tuple[ResponseCode, int | None]:
        """SetDevicePropValueEx: checks and stores; the response and the code whose value changed."""
        try:
            request = SetPropValue.decode(data)
        except DecodeError:
            return RC.InvalidDevicePropFormat, None
        spec = self.specs.get(request.code)
        if spec is None:
            return RC.DevicePropNotSupported, None
        if not spec.writable:
            return RC.AccessDenied, None
        value = _value(request)
        if value is None:
            return RC.InvalidDevicePropFormat, None
        if spec.allowed is not None and value not in spec.allowed:
            return RC.InvalidDevicePropValue, None
        return RC.OK, request.code if self.store(request.code, value) else None


def _wire(code: int, value: int | str) -> EosValue:
    if property_kind(code) is Kind.IMAGE_FORMAT and isinstance(value, int):
        return ImageFormat.from_code(value)
    return value


def _value(request: SetPropValue) -> int | str | None:
    """The value a SetDevicePropValueEx carries, or None when its bytes are not one of its kind."""
    kind = property_kind(request.code)
    if kind in (Kind.U8, Kind.U16, Kind.U32, Kind.I16) and not _fits(kind, request.data):
        return None
    if kind is Kind.STR and not request.data.endswith(b"\0"):
        return None
    try:
        value = request.value
    except (DecodeError, EncodeError):
        return None
    if isinstance(value, ImageFormat):
        return value.code
    return value if isinstance(value, (int, str)) else None
