"""The standard properties of the simulated generic camera (PTP.md §5.4, §5.6), with realistic types and forms.

Defaults are those of a camera fresh from the box: ISO 400, automatic white balance, f/5.6, 1/250 s,
no exposure bias, full battery, the lens focused at 1 m. The table is data only; :class:`~ptpipd.sim.properties.PropertyStore` applies
the rules.
"""

from __future__ import annotations

import re
from datetime import datetime

from ptpipd.ptp import (
    DataType,
    DevicePropCode,
    EffectMode,
    EnumForm,
    ExposureMeteringMode,
    ExposureProgramMode,
    FlashMode,
    FocusMeteringMode,
    FocusMode,
    NoForm,
    RangeForm,
    StillCaptureMode,
    Value,
    WhiteBalance,
)
from ptpipd.sim.properties import PropSpec

P = DevicePropCode
WB, Metering, Program, FocusMetering = (
    WhiteBalance,
    ExposureMeteringMode,
    ExposureProgramMode,
    FocusMeteringMode,
)
U8, U16, I16, U32, STR = DataType.UINT8, DataType.UINT16, DataType.INT16, DataType.UINT32, DataType.STR

#: ISO auto marker of ExposureIndex (PTP.md §5.4).
ISO_AUTO = 0xFFFF
#: ImageSize values; a capture produces a JPEG of the current size.
IMAGE_SIZES = ("640x480", "1600x1200", "4000x3000")
#: Exposure times in 1/10000 s, from 1/2000 s to 30 s.
EXPOSURE_TIMES = (
    5,
    10,
    20,
    40,
    80,
    167,
    333,
    667,
    1250,
    2500,
    5000,
    10000,
    20000,
    40000,
    80000,
    150000,
    300000,
)
#: f-numbers × 100.
F_NUMBERS = (280, 350, 400, 560, 800, 1100, 1600, 2200)
#: Exposure bias in thirds of a stop, × 1000 (−3 EV … +3 EV).
EXPOSURE_BIAS = tuple(round(third * 1000 / 3) for third in range(-9, 10))
#: FocusDistance in mm (PTP.md §5.4): from the lens's closest focus, 0.3 m, to 0xFFFF = infinity.
FOCUS_NEAREST = 300
FOCUS_INFINITY = 0xFFFF
#: Default DateTime (the camera clock does not tick: the simulator is deterministic).
DEFAULT_DATETIME = "20240601T120000"


#: PTP.md §2.2, checked here on its own (not with the initiator's parser: the simulator is an oracle).
_DATETIME = re.compile(r"(\d{8}T\d{6})(\.\d)?(Z|[+-]\d{4})?")


def is_datetime(value: Value) -> bool:
    """A PTP DateTime string (PTP.md §2.2): ``YYYYMMDDThhmmss[.s][Z|±hhmm]`` of a real date and time."""
    match = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    try:
        datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
    except ValueError:  # 31 February, hour 24 …
        return False
    return True


def _enum(*values: int) -> EnumForm:
    return EnumForm(tuple(int(v) for v in values))


_WHITE_BALANCES = _enum(WB.Manual, WB.Automatic, WB.Daylight, WB.Fluorescent, WB.Tungsten, WB.Flash)
_PROGRAMS = _enum(Program.Manual, Program.Automatic, Program.AperturePriority, Program.ShutterPriority)
_FOCUS_METERING = _enum(FocusMetering.CenterSpot, FocusMetering.MultiSpot)

GENERIC_PROPERTIES: tuple[PropSpec, ...] = (
    PropSpec(P.BatteryLevel, U8, False, 100, RangeForm(0, 100, 1)),
    PropSpec(P.ImageSize, STR, True, "1600x1200", EnumForm(IMAGE_SIZES)),
    # 0 basic, 1 normal, 2 fine: "higher = better quality"
    PropSpec(P.CompressionSetting, U8, True, 2, _enum(0, 1, 2)),
    PropSpec(P.WhiteBalance, U16, True, int(WB.Automatic), _WHITE_BALANCES),
    PropSpec(P.FNumber, U16, True, 560, EnumForm(F_NUMBERS)),
    # a 18-55 mm zoom, in mm × 100; the simulated lens is not zoomable from the initiator
    PropSpec(P.FocalLength, U32, False, 3500, RangeForm(1800, 5500, 100)),
    # focus by distance, millimetre by millimetre, as a lens motor drives it
    PropSpec(P.FocusDistance, U16, True, 1000, RangeForm(FOCUS_NEAREST, FOCUS_INFINITY, 1)),
    PropSpec(P.FocusMode, U16, True, int(FocusMode.Automatic), _enum(*list(FocusMode)[1:])),
    PropSpec(P.ExposureMeteringMode, U16, True, int(Metering.MultiSpot), _enum(*list(Metering)[1:])),
    PropSpec(P.FlashMode, U16, True, int(FlashMode.AutoFlash), _enum(*list(FlashMode)[1:])),
    PropSpec(P.ExposureTime, U32, True, 40, EnumForm(EXPOSURE_TIMES)),
    PropSpec(P.ExposureProgramMode, U16, True, int(Program.Automatic), _PROGRAMS),
    PropSpec(P.ExposureIndex, U16, True, 400, _enum(100, 200, 400, 800, 1600, 3200, 6400, ISO_AUTO)),
    PropSpec(P.ExposureBiasCompensation, I16, True, 0, EnumForm(EXPOSURE_BIAS)),
    PropSpec(P.DateTime, STR, True, DEFAULT_DATETIME, NoForm(), check=is_datetime),
    # self-timer in ms: a capture starts this long after InitiateCapture's response
    PropSpec(P.CaptureDelay, U32, True, 0, _enum(0, 2000, 10000)),
    # burst: one InitiateCapture makes BurstNumber photos; time-lapse is not simulated
    PropSpec(P.StillCaptureMode, U16, True, 1, _enum(StillCaptureMode.Normal, StillCaptureMode.Burst)),
    PropSpec(P.Contrast, U8, True, 5, RangeForm(0, 10, 1)),
    PropSpec(P.Sharpness, U8, True, 5, RangeForm(0, 10, 1)),
    PropSpec(P.EffectMode, U16, True, int(EffectMode.Standard), _enum(*list(EffectMode)[1:])),
    PropSpec(P.BurstNumber, U16, True, 3, RangeForm(1, 5, 1)),
    # ms between a burst's photos, in 50 ms steps: a range whose step is not 1, as real bodies have
    PropSpec(P.BurstInterval, U16, True, 200, RangeForm(100, 1000, 50)),
    PropSpec(P.FocusMeteringMode, U16, True, int(FocusMetering.MultiSpot), _FOCUS_METERING),
    PropSpec(P.Artist, STR, True, "", NoForm()),
    PropSpec(P.CopyrightInfo, STR, True, "", NoForm()),
)
