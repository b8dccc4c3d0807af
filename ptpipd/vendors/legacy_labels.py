"""The seed tool's words for the legacy text view: property names, value labels, response texts (pure data).

Old scripts parse what the Go seed tool ``ptpip`` printed (``../shared/protocol/SEED-OUTPUT.md``), and its
words are not ours: ``automatic`` where we say ``auto``, ``capture delay`` where we say ``delay``, an empty
label where it had none. Only the legacy text view uses these tables; JSON-RPC and ``ptpipctl`` keep ours.

This module holds the seed's tables for standard PTP (its ``fmt`` package: ``GenericDevicePropCodeAsString``,
``DevicePropValueAsString`` and the response texts of ``OperationResponseCodeAsString``, malc0mn/ptp-ip) and
the lookup :func:`legacy_labels`. A vendor whose seed words differ has a data module
``ptpipd.vendors.<vendor>_legacy_labels`` with a ``LABELS`` object, found by the vendor's name; without one
the standard tables apply. A code the seed did not know gets an empty name or label, as the seed printed.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: A label: a table of values, or a function of the value (an int64, as the seed read it).
Label = Mapping[int, str] | Callable[[int], str]

#: Standard property names (PTP 0x5001-0x501F), the seed's spelling.
PROPERTY_NAMES: dict[int, str] = {
    0x5001: "battery level",
    0x5002: "functional mode",
    0x5003: "image size",
    0x5004: "compression setting",
    0x5005: "white balance",
    0x5006: "RGB gain",
    0x5007: "F-number",
    0x5008: "focal length",
    0x5009: "focus distance",
    0x500A: "focus mode",
    0x500B: "exposure metering mode",
    0x500C: "flash mode",
    0x500D: "exposure time",
    0x500E: "exposure program mode",
    0x500F: "ISO",
    0x5010: "exposure bias compensation",
    0x5011: "date time",
    0x5012: "capture delay",
    0x5013: "still capture mode",
    0x5014: "contrast",
    0x5015: "sharpness",
    0x5016: "digital zoom",
    0x5017: "effect mode",
    0x5018: "burst number",
    0x5019: "burst interval",
    0x501A: "timelapse number",
    0x501B: "timelapse interval",
    0x501C: "focus metering mode",
    0x501D: "upload URL",
    0x501E: "artist",
    0x501F: "copyright info",
}

WHITE_BALANCE: dict[int, str] = {
    0: "undefined",
    1: "manual",
    2: "automatic",
    3: "one push automatic",
    4: "daylight",
    5: "fluorescent",
    6: "tungsten",
    7: "flash",
}
FLASH_MODES: dict[int, str] = {
    0: "undefined",
    1: "auto flash",
    2: "off",
    3: "fill",
    4: "red eye auto",
    5: "red eye fill",
    6: "external sync",
}
FOCUS_MODES: dict[int, str] = {0: "undefined", 1: "manual", 2: "automatic", 3: "automatic macro"}
EXPOSURE_PROGRAMS: dict[int, str] = {
    0: "undefined",
    1: "manual",
    2: "automatic",
    3: "aperture priority",
    4: "shutter priority",
    5: "program creative",
    6: "program action",
    7: "portrait",
}
EXPOSURE_METERING: dict[int, str] = {
    0: "undefined",
    1: "average",
    2: "center weighted average",
    3: "multi spot",
    4: "center spot",
}
EFFECT_MODES: dict[int, str] = {0: "undefined", 1: "standard", 2: "black and white", 3: "sepia"}
FOCUS_METERING: dict[int, str] = {0: "undefined", 1: "center spot", 2: "multi spot"}
FUNCTIONAL_MODES: dict[int, str] = {0: "standard", 1: "sleep"}
STILL_CAPTURE_MODES: dict[int, str] = {0: "undefined", 1: "normal", 2: "burst", 3: "timelapse"}


def f_number(value: int) -> str:
    """0x5007: ``f/5.6`` (hundredths, one decimal), 0xFFFF ``automatic``."""
    value &= 0xFFFF
    if value == 0xFFFF:
        return "automatic"
    (as_float32,) = struct.unpack("<f", struct.pack("<f", value / 100))  # the seed computed in float32
    return f"f/{as_float32:.1f}"


def exposure_bias(value: int) -> str:
    """0x5010 in thousandths of a stop (an int16): ``0``, ``-1/3``, ``1 2/3``; thirds only, as the seed."""
    stops = ((value + 0x8000) & 0xFFFF) - 0x8000
    fraction, whole = math.modf(stops / 1000)
    if fraction == 0:
        return str(int(whole))
    third = "2/3" if abs(fraction) > 0.4 else "1/3"
    if whole == 0:
        return ("-" if fraction < 0 else "") + third
    return f"{int(whole)} {third}"


#: Standard value labels (the seed labelled these codes and no others).
VALUE_LABELS: dict[int, Label] = {
    0x5002: FUNCTIONAL_MODES,
    0x5005: WHITE_BALANCE,
    0x5007: f_number,
    0x500A: FOCUS_MODES,
    0x500B: EXPOSURE_METERING,
    0x500C: FLASH_MODES,
    0x500E: EXPOSURE_PROGRAMS,
    0x5010: exposure_bias,
    0x5013: STILL_CAPTURE_MODES,
    0x5017: EFFECT_MODES,
    0x501C: FOCUS_METERING,
}

#: What the seed printed for a PTP response code (``set error: invalid device property value``), spelling
#: and all ("paramter", "occured").
RESPONSE_TEXTS: dict[int, str] = {
    0x2000: "undefined response code",
    0x2001: "ok",
    0x2002: "general error occured",
    0x2003: "session not open: open a session first",
    0x2004: "invalid transaction id",
    0x2005: "operation not supported",
    0x2006: "paramter not supported",
    0x2007: "incomplete transfer",
    0x2008: "invalid storage id",
    0x2009: "invalid object handle",
    0x200A: "device property not supported",
    0x200B: "invalid object format code",
    0x200C: "store full",
    0x200D: "object write protected",
    0x200E: "store read only",
    0x200F: "access denied",
    0x2010: "no thumbnail present",
    0x2011: "self test failed",
    0x2012: "partial deletion",
    0x2013: "store not available",
    0x2014: "specification by format unsupported",
    0x2015: "no valid object info",
    0x2016: "invalid code format",
    0x2017: "unknown vendor code",
    0x2018: "capture already terminated",
    0x2019: "device busy",
    0x201A: "invalid parent object",
    0x201B: "invalid device property format",
    0x201C: "invalid device property value",
    0x201D: "invalid parameter",
    0x201E: "session already open",
    0x201F: "transaction cancelled",
    0x2020: "specification of destination unsupported",
}

#: The response code the seed's camera gave for a value it does not allow, and for a read-only property.
INVALID_VALUE = 0x201C
ACCESS_DENIED = 0x200F


@dataclass(frozen=True)
class LegacyLabels:
    """One vendor's seed words: ``names`` and ``labels`` by property code, over the standard ones."""

    names: Mapping[int, str] = field(default_factory=dict)
    labels: Mapping[int, Label] = field(default_factory=dict)

    def name(self, code: int) -> str:
        """The seed's name of a property; empty when it had none."""
        return self.names.get(code) or PROPERTY_NAMES.get(code, "")

    def label(self, code: int, value: object) -> str:
        """The seed's label of a value; empty when it had none (or for a value that is not a number)."""
        if not isinstance(value, int) or isinstance(value, bool):
            return ""
        label = self.labels.get(code, VALUE_LABELS.get(code))
        if label is None:
            return ""
        return label(value) if callable(label) else label.get(value, "")


def response_text(code: int) -> str:
    """The seed's text of a PTP response code."""
    return RESPONSE_TEXTS.get(code, f"unknown operation response code: {code:#x}")


STANDARD = LegacyLabels()


def legacy_labels(vendor: str) -> LegacyLabels:
    """The seed words of ``vendor``: its driver's :attr:`~ptpipd.vendors.base.VendorDriver.legacy_labels`
    (the standard ones unless the vendor has its own), the standard ones for a name that is no vendor."""
    from ptpipd.vendors import VENDORS, vendor_driver

    return vendor_driver(vendor).legacy_labels if vendor in VENDORS else STANDARD
