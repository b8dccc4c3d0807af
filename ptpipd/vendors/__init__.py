"""Camera makers, one module each.

:data:`VENDORS` is the one list of dialects: flags, config validation, ``ptpipd-sim --vendor``, the docs and
``rpc.discover`` derive from it. Each name ``N`` is a module ``ptpipd.vendors.N`` whose ``DRIVER`` is its
:class:`~ptpipd.vendors.base.VendorDriver` subclass, and a simulated body ``ptpipd.sim.N``. Importing this
package loads no driver (the simulator reads the list without pulling in the initiator side).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ptpipd.vendors.base import VendorDriver

#: The camera dialects, default first. Adding one = a module here, its simulator, and its name in this tuple.
VENDORS: tuple[str, ...] = ("generic", "fuji", "canon", "nikon")


def vendor_driver(name: str) -> type[VendorDriver]:
    """The driver class of a vendor name; ValueError naming the known ones otherwise."""
    key = name.lower()
    if key not in VENDORS:
        raise ValueError(f"unknown vendor {name!r}; known: {', '.join(VENDORS)}")
    module = importlib.import_module(f"ptpipd.vendors.{key}")
    return cast("type[VendorDriver]", module.DRIVER)
