"""The properties of the simulated Nikon bodies (``d750``, ``z6``): types, forms and defaults (pure data).

Types and value encodings follow NIKON.md §2.4 and §4 (libgphoto2 ``config.c``, digiCamControl); the
value lists are those of a D750 with a 50 mm f/1.8 lens and of a Z 6 with the 24-70 mm f/4 kit lens.
Standard properties (0x5xxx) are announced in DeviceInfo, the Nikon ones (0xDxxx) only in the answer to
GetVendorPropCodes 0x90CA, as NIKON.md §5.4 observed libgphoto2 to accept.

Choices where no source says what a body does (each is a simulator decision):

* the exposure program 0x500E follows the mode dial: read-only over PTP, changed on the body only;
* 0x500D ExposureTime (1/10000 s) is derived from 0xD100 (numerator/denominator): on the Z 6 it is
  read-only (N-link: the Z reports and accepts its speed through 0xD100), on the D750 writing one moves
  the other; several 0xD100 times may share one 0x500D value (1/6400 and 1/5000 both read 2);
* the Z 6's 0xD0B4 ExposureIndexEx (UINT32) carries the Hi settings above 65535; 0x500F shows the same
  ISO whenever its UINT16 enumeration has it.
"""

from __future__ import annotations

from fractions import Fraction

from ptpipd.ptp import DataType, DevicePropCode, EnumForm, NoForm, RangeForm
from ptpipd.sim.properties import PropertyStore, PropSpec
from ptpipd.vendors.nikon_codes import (
    SHUTTER_SPECIAL,
    NikonProperty,
    encode_shutter,
    shutter_seconds,
    shutter_value,
)

P = DevicePropCode
N = NikonProperty
U8, U16, I16, U32 = DataType.UINT8, DataType.UINT16, DataType.INT16, DataType.UINT32

#: ISO settings (NIKON.md §4.1): the D750 from Lo 1.0 (50) to Hi 2 (51200).
ISO_D750 = (50, 64, 72, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000,
            2500, 3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 18000, 20000, 25600, 51200)  # fmt: skip
#: The Z 6 up to ISO 51200 in 0x500F; its Hi settings (64000 … 204800) only fit 0xD0B4.
ISO_Z6 = (50, 64, 72, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500,
          3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600, 32000, 40000, 51200)  # fmt: skip
ISO_Z6_EX = (*ISO_Z6, 64000, 72000, 81200, 102400, 204800)

#: f-numbers × 100 of the lenses: AF-S 50 mm f/1.8G on the D750, Z 24-70 mm f/4 S on the Z 6.
_F_STOPS = (180, 200, 220, 250, 280, 320, 350, 400, 450, 500, 560, 630, 710, 800, 900, 1000, 1100, 1300,
            1400, 1600, 1800, 2000, 2200)  # fmt: skip
F_NUMBERS = {"d750": _F_STOPS, "z6": _F_STOPS[_F_STOPS.index(400) :]}


#: Shutter speeds in thirds of a stop, 1/8000 s … 30 s: the reciprocals of the fast ones, then seconds.
_FAST = (8000, 6400, 5000, 4000, 3200, 2500, 2000, 1600, 1250, 1000, 800, 640, 500, 400, 320, 250, 200, 160,
         125, 100, 80, 60, 50, 40, 30, 25, 20, 15, 13, 10, 8, 6, 5, 4, 3, 2.5, 2, 1.6, 1.3)  # fmt: skip
_SLOW = (1, 1.3, 1.6, 2, 2.5, 3, 4, 5, 6, 8, 10, 13, 15, 20, 25, 30)
_SPEEDS = (*(1 / Fraction(str(x)) for x in _FAST), *(Fraction(str(s)) for s in _SLOW))


def _value(seconds: Fraction) -> int:
    value = shutter_value(seconds)
    assert value is not None, seconds
    return value


#: The 0xD100 values (§4.3), written as the bodies list them (1/2.5 s is 10/25, 1.3 s is 13/10), then
#: bulb, flash sync (x 200) and time.
SHUTTER_SPEEDS: tuple[int, ...] = (*(_value(t) for t in _SPEEDS), *SHUTTER_SPECIAL)
DEFAULT_SHUTTER = encode_shutter(1, 250)


def exposure_time(shutter: int) -> int:
    """The 0x500D value (1/10000 s) of a 0xD100 value; bulb and time keep their 0x500D codes (§4.3)."""
    seconds = shutter_seconds(shutter)
    if seconds is None:
        return shutter if shutter != 0xFFFF_FFFE else round(Fraction(1, 200) * 10000)
    return max(1, round(seconds * 10000))


#: 0x500D's enumeration: every 0xD100 speed in 1/10000 s, first (fastest) one of a shared value kept.
EXPOSURE_TIMES: tuple[int, ...] = tuple(dict.fromkeys(exposure_time(s) for s in SHUTTER_SPEEDS))


def shutter_for(exposure: int) -> int:
    """The 0xD100 value a 0x500D value stands for (the first speed that reads as it)."""
    return next(s for s in SHUTTER_SPEEDS if exposure_time(s) == exposure)


#: Exposure bias in thirds from -5 EV to +5 EV, 1/1000 EV (0x5010 INT16, §4.4).
EXPOSURE_BIAS = tuple(round(k * 1000 / 3) for k in range(-15, 16))
#: 0x5005 (§4.5): the settings of the D750 and Z 6 white-balance menus.
WHITE_BALANCES = (2, 4, 5, 6, 7, 0x8010, 0x8011, 0x8012, 0x8013)
#: 0x500E (§4.6): the D750's mode dial (scene modes left out); the Z 6's dial has no AUTO (no flash).
PROGRAMS = {
    "d750": (1, 2, 3, 4, 0x8010, 0x8018, 0x8050, 0x8051),
    "z6": (1, 2, 3, 4, 0x8010, 0x8050, 0x8051, 0x8052),
}
#: 0x500A (§4.7) and 0xD161 AutofocusMode.
FOCUS_MODES = (1, 0x8010, 0x8011, 0x8012)
AUTOFOCUS_MODES = (0, 1, 2, 3, 4)
#: 0x5004 image quality (§4.8): gphoto2's D90 numbering for the D750, the D850 numbering for the Z 6.
IMAGE_QUALITIES = {"d750": (0, 1, 2, 4, 5, 6, 7), "z6": tuple(range(14))}
DEFAULT_QUALITY = {"d750": 2, "z6": 4}  # JPEG fine in either numbering
#: Shots left on the card at start-up (0xD1F1 ExposureRemaining; one fewer after every shot).
SHOTS_LEFT = 1234


def follow(store: PropertyStore, code: int) -> list[int]:
    """After ``code`` changed: the properties that move with it (module docstring), the codes of those that
    changed."""
    value = store.number(code)
    pairs: list[tuple[int, int]] = []
    if code == N.ShutterSpeed:
        pairs.append((P.ExposureTime, exposure_time(value)))
    elif code == P.ExposureTime:
        pairs.append((N.ShutterSpeed, shutter_for(value)))
    elif code == P.ExposureIndex and N.ExposureIndexEx in store:
        pairs.append((N.ExposureIndexEx, value))
    elif code == N.ExposureIndexEx and store.specs[P.ExposureIndex].allows(value):
        pairs.append((P.ExposureIndex, value))
    return [other for other, new in pairs if store.store(other, new)]


def nikon_properties(model: str) -> tuple[PropSpec, ...]:
    """The property table of a body, standard ones first, in DeviceInfo / 0x90CA order."""
    z = model == "z6"
    iso = ISO_Z6 if z else ISO_D750
    standard = (
        PropSpec(P.BatteryLevel, U8, False, 100, RangeForm(0, 100, 1)),
        PropSpec(P.CompressionSetting, U8, True, DEFAULT_QUALITY[model], EnumForm(IMAGE_QUALITIES[model])),
        PropSpec(P.WhiteBalance, U16, True, 2, EnumForm(WHITE_BALANCES)),
        PropSpec(P.FNumber, U16, True, 560, EnumForm(F_NUMBERS[model])),
        PropSpec(P.FocusMode, U16, True, 0x8010, EnumForm(FOCUS_MODES)),
        PropSpec(P.ExposureTime, U32, not z, exposure_time(DEFAULT_SHUTTER), EnumForm(EXPOSURE_TIMES)),
        PropSpec(P.ExposureProgramMode, U16, False, 1, EnumForm(PROGRAMS[model])),
        PropSpec(P.ExposureIndex, U16, True, 400, EnumForm(iso)),
        PropSpec(P.ExposureBiasCompensation, I16, True, 0, EnumForm(EXPOSURE_BIAS)),
    )
    vendor = (
        PropSpec(N.ShutterSpeed, U32, True, DEFAULT_SHUTTER, EnumForm(SHUTTER_SPEEDS)),
        PropSpec(N.RecordingMedia, U8, True, 0, EnumForm((0, 1))),
        PropSpec(N.AutofocusMode, U8, True, 0, EnumForm(AUTOFOCUS_MODES)),
        PropSpec(N.ISOAuto, U8, True, 0, EnumForm((0, 1))),
        PropSpec(N.LiveViewStatus, U8, False, 0, NoForm()),
        PropSpec(N.LiveViewProhibitCondition, U32, False, 0, NoForm()),
        PropSpec(N.ExposureRemaining, U32, False, SHOTS_LEFT, NoForm()),
    )
    extended = (PropSpec(N.ExposureIndexEx, U32, True, 400, EnumForm(ISO_Z6_EX)),) if z else ()
    return (*standard, *vendor, *extended)
