"""Canon EOS words for the legacy text view (pure data; see :mod:`ptpipd.vendors.legacy_labels`).

The seed tool had no Canon tables, so there are no seed words to honour: the names are libgphoto2's
``ptp.h`` property names (as :class:`~ptpipd.vendors.canon_codes.CanonProperty` has them) and the labels
are the ones the JSON-RPC API shows (``1/250``, ``f/5.6``, ``+1/3``, ``RAW+L``), so ``get iso`` over ``nc``
prints ``800 (0x60)`` rather than a bare number.
"""

from __future__ import annotations

from collections.abc import Callable

from ptpipd.vendors import canon_codes as cc
from ptpipd.vendors.canon_codes import CanonProperty as P
from ptpipd.vendors.labels import Labels
from ptpipd.vendors.legacy_labels import LegacyLabels


def _label(table: Labels) -> Callable[[int], str]:
    return table.label


_TABLES: dict[int, Labels] = {
    P.Aperture: cc.APERTURE,
    P.ShutterSpeed: cc.SHUTTER,
    P.ISOSpeed: cc.ISO,
    P.ExpCompensation: cc.EXPOSURE_COMP,
    P.AutoExposureMode: cc.SHOOTING_MODE,
    P.DriveMode: cc.DRIVE_MODE,
    P.MeteringMode: cc.METERING_MODE,
    P.FocusMode: cc.FOCUS_MODE,
    P.WhiteBalance: cc.WHITE_BALANCE,
    P.ColorSpace: cc.COLOR_SPACE,
    P.PictureStyle: cc.PICTURE_STYLE,
    P.BatteryPower: cc.BATTERY,
    P.ImageFormat: cc.IMAGE_FORMAT,
    P.CaptureDestination: cc.CAPTURE_DESTINATION,
    P.EVFOutputDevice: cc.EVF_OUTPUT,
}

LABELS = LegacyLabels(
    names={int(code): code.name for code in P},
    labels={code: _label(table) for code, table in _TABLES.items()},
)
