"""The Nikon property table: unified names, Nikon titles, aliases and labels, for the body that is connected.

A unified name may be carried by more than one code (``nikon_codes.UNIFIED_NAMES``): ``exposure`` is
0xD100 where the body lists it (the Z reports and accepts its speed there, N-link) and 0x500D elsewhere;
``iso`` is 0x500F, or 0xD0B4 on a body without it. The code that wins gets the unified name; the other
keeps a name of its own (``exposure-time``, ``iso-ex``), so every property stays reachable. Labels depend
on the body (``nikon_codes.property_labels``): the Z 6 names its Hi ISO settings and numbers its image
qualities differently from the D750. Aliases include libgphoto2's widget names (``shutterspeed2``,
``f-number``, ``recordingmedia``), so a gphoto2 user's words work too.
"""

from __future__ import annotations

from collections.abc import Iterable

from ptpipd.ptp import Value
from ptpipd.vendors.base import PropertySpec, PropertyTable
from ptpipd.vendors.labels import PLAIN, Labels, hex_label
from ptpipd.vendors.nikon_codes import UNIFIED_NAMES, NikonProperty, prohibit_reasons, property_labels

N = NikonProperty


class ProhibitLabels(Labels):
    """0xD1A4 LiveViewProhibitCondition: ``none``, or the reasons its bits give (NIKON.md §4.9)."""

    def label(self, value: Value) -> str:
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF_FFFF:
            return hex_label(value)
        return "; ".join(prohibit_reasons(value)) or "none"

    def parse(self, text: str) -> Value | None:
        return None


#: code → (title, aliases): ptp.h's names, and libgphoto2's widget names as aliases.
TITLES: dict[int, tuple[str, tuple[str, ...]]] = {
    0x5001: ("BatteryLevel", ("batterylevel", "battery-level")),
    0x5004: ("CompressionSetting", ("quality", "image-quality", "compression")),
    0x5005: ("WhiteBalance", ("wb", "white-balance")),
    0x5007: ("FNumber", ("aperture", "f-number")),
    0x500A: ("FocusMode", ("focus-mode",)),
    0x500D: ("ExposureTime", ("shutterspeed", "exposure-time")),
    0x500E: ("ExposureProgramMode", ("expprogram", "exposure-program", "mode")),
    0x500F: ("ExposureIndex", ("exposure-index",)),
    0x5010: ("ExposureBiasCompensation", ("exposurecompensation", "exposure-bias", "ev")),
    N.ShutterSpeed: ("NikonExposureTime", ("shutterspeed2", "shutter", "shutter-speed")),
    N.ExposureIndexEx: ("ExposureIndexEx", ("iso-ex", "exposure-index-ex")),
    N.RecordingMedia: ("RecordingMedia", ("recordingmedia", "recording-media")),
    N.AutofocusMode: ("AutofocusMode", ("focusmode2", "af-mode", "afmode")),
    N.ISOAuto: ("ISOAuto", ("iso-auto",)),
    N.LiveViewStatus: ("LiveViewStatus", ("live-view",)),
    N.LiveViewProhibitCondition: ("LiveViewProhibitCondition", ("liveviewprohibit",)),
    N.ExposureRemaining: ("ExposureRemaining", ("availableshots", "shots")),
}
#: The name of a code that carries no unified name on this body (another code has it, or it has none).
SECOND_NAMES = {
    N.LiveViewProhibitCondition: "liveview-prohibit",
    N.ExposureRemaining: "shots-left",
    0x500D: "exposure-time",
    N.ShutterSpeed: "shutterspeed2",
    0x500F: "iso-16",
    N.ExposureIndexEx: "iso-ex",
    0x500A: "focusmode-ptp",
    N.AutofocusMode: "afmode",
}
_EXTRA_LABELS: dict[int, Labels] = {N.LiveViewProhibitCondition: ProhibitLabels()}


def _spec(code: int, name: str, labels: dict[int, Labels]) -> PropertySpec:
    title, aliases = TITLES.get(code, (f"0x{code:04X}", ()))
    aliases = tuple(a for a in dict.fromkeys((*aliases, SECOND_NAMES.get(code, name))) if a != name)
    return PropertySpec(int(code), name, title, labels.get(code) or _EXTRA_LABELS.get(code, PLAIN), aliases)


def nikon_table(model: str = "d750", supported: Iterable[int] | None = None) -> PropertyTable:
    """The table of a ``d750``- or ``z6``-like body that lists ``supported`` (None: every code's first)."""
    have = None if supported is None else set(supported)
    labels = property_labels(model)
    specs: list[PropertySpec] = []
    named: set[int] = set()
    for name, codes in UNIFIED_NAMES.items():
        listed = [c for c in codes if have is None or c in have]
        if listed:
            specs.append(_spec(listed[0], name, labels))
            named.add(listed[0])
    for code in TITLES:
        if code not in named and code in SECOND_NAMES:
            specs.append(_spec(code, SECOND_NAMES[code], labels))
    return PropertyTable(specs)
