"""Camera makers, one module each. The table below is the only place that lists them."""

from __future__ import annotations

from ptpipd.vendors.base import VendorDriver
from ptpipd.vendors.fuji import FujiDriver
from ptpipd.vendors.generic import GenericDriver

VENDORS: dict[str, type[VendorDriver]] = {
    GenericDriver.name: GenericDriver,
    FujiDriver.name: FujiDriver,
}


def vendor_driver(name: str) -> type[VendorDriver]:
    """The driver class of a vendor name; ValueError naming the known ones otherwise."""
    try:
        return VENDORS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown vendor {name!r}; known: {', '.join(sorted(VENDORS))}") from None
