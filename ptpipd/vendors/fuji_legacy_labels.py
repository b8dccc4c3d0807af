"""The seed tool's words for Fujifilm cameras, for the legacy text view (pure data; see
:mod:`ptpipd.vendors.legacy_labels`).

Source: the seed tool's Fuji tables (malc0mn/ptp-ip ``fmt/string_fuji.go`` ``FujiDevicePropCodeAsString`` and
``FujiDevicePropValueAsString``, the values from ``ip/packets_fuji.go``), checked against its real output in
``SEED-OUTPUT.md``. Where the seed fell back to its standard tables (flash mode, white balance) the standard
labels are merged in; where it did not (focus mode), a value it did not name has no label.
"""

from __future__ import annotations

from ptpipd.vendors import fuji_codes as ours
from ptpipd.vendors.legacy_labels import FLASH_MODES, WHITE_BALANCE, LegacyLabels

#: Fuji property names; the standard codes keep their standard names.
NAMES: dict[int, str] = {
    0xD001: "film simulation",
    0xD018: "image quality",
    0xD019: "rec mode",
    0xD028: "command dial mode",
    0xD02A: "ISO",
    0xD02B: "movie ISO",
    0xD17C: "focus point",
    0xD209: "focus lock",
    0xD21B: "device error",
    0xD229: "captures remaining",
    0xD22A: "movie remaining time",
    0xD240: "shutter speed",
    0xD241: "image size",
    0xD242: "battery level",
    0xDF01: "init sequence",
    0xDF24: "app version",
}

# Where our tables follow the same numbering as the seed's (malc0mn's), the words are the same too.
BATTERY = ours.BATTERY_LEVELS
COMMAND_DIAL = ours.COMMAND_DIAL
DEVICE_ERRORS = ours.DEVICE_ERRORS
#: 0xD17C: ``XxY`` from byte 1 (x) and byte 0 (y).
FOCUS_POINT = ours.FocusPoint().label
FOCUS_LOCK = ours.FOCUS_LOCK
IMAGE_SIZES = ours.IMAGE_SIZES
FILM_SIMULATIONS: dict[int, str] = {**ours.FILM_SIMULATIONS, 13: "ACROS Ye", 14: "ACROS R", 15: "ACROS G"}
#: Fuji's own flash modes as ours name them, with the seed's spaces for our hyphens ("red eye").
FLASH: dict[int, str] = {
    **FLASH_MODES,
    **{code: name.replace("-", " ") for code, name in ours.FLASH_MODES.items() if code >= 0x8000},
}
FOCUS_MODES: dict[int, str] = {0x8001: "single auto", 0x8002: "continuous auto"}
IMAGE_QUALITY: dict[int, str] = {2: "fine", 3: "normal", 4: "fine + RAW", 5: "normal + RAW"}
#: Fuji's own white balances as ours name them, but "temprerature", the seed's spelling: scripts match it.
WHITE_BALANCE_FUJI: dict[int, str] = {
    **WHITE_BALANCE,
    **{code: name for code, name in ours.WHITE_BALANCE.items() if code >= 0x8000},
    0x800B: "temprerature",
}
SELF_TIMER: dict[int, str] = {0: "off", 1: "1 second", 2: "2 seconds", 3: "5 seconds", 4: "10 seconds"}


def iso(value: int) -> str:
    """0xD02A: ``auto`` (0xFFFFFFFF), ``S6400`` (auto, at most 6400), ``L100`` / ``H12800`` (extended), ``800``."""
    value &= 0xFFFF_FFFF
    if value == 0xFFFF_FFFF:
        return "auto"
    flags, sensitivity = value >> 16, value & 0xFFFF
    if flags == 0x4000:
        return f"{'L' if sensitivity < 200 else 'H'}{sensitivity}"
    if flags == 0x8000:
        return f"S{sensitivity}"
    return str(sensitivity)


LABELS = LegacyLabels(
    names=NAMES,
    labels={
        0x5001: BATTERY,
        0xD242: BATTERY,
        0xD028: COMMAND_DIAL,
        0xD21B: DEVICE_ERRORS,
        0xD02A: iso,
        0xD001: FILM_SIMULATIONS,
        0x500C: FLASH,
        0xD209: FOCUS_LOCK,
        0xD17C: FOCUS_POINT,
        0x500A: FOCUS_MODES,
        0xD241: IMAGE_SIZES,
        0xD018: IMAGE_QUALITY,
        0x5005: WHITE_BALANCE_FUJI,
        0x5012: SELF_TIMER,
    },
)
