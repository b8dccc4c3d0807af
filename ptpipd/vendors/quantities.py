"""Exposure quantities read from the words photographers and cameras write, for snapping to a camera's list.

A camera lists its exposure bias, f-numbers and shutter speeds; a photographer types ``-0.3``, ``5.6`` or
``250``. Each :class:`Quantity` reads such text — a user's, or the *label* of one of the camera's values —
as a position on a scale of stops (EV for the bias, 2·log2 N for an f-number, log2 seconds for a time), so
the coercion (:mod:`ptpipd.vendors.values`) can find the listed value a spelling means. Working from labels
rather than wire values makes it the same for every vendor: a Canon or Nikon table whose labels read
``f/5.6`` or ``1/250`` is understood without knowing its encoding.

The quantities are found by the unified property name (:data:`QUANTITIES`): the names mean the same thing
on every camera (README, "Unified property names").
"""

from __future__ import annotations

import math
import re

from ptpipd.vendors.labels import NUMBER, fraction

#: How far (in stops) a spelling may be from a listed value and still mean it: half of a third stop, the
#: finest step cameras list. ``-0.3`` is 1/30 EV from −1/3 and means it; ``f/6.3`` is 1/3 stop from f/5.6
#: and does not.
TOLERANCE = 1 / 6


class Quantity:
    """A quantity measured in stops. Subclasses read one spelling (:meth:`read`); a user's text may have
    several readings (:meth:`readings`), a camera's label one."""

    def read(self, text: str) -> float | None:
        """The position of one spelling, or None when it is not a spelling of this quantity."""
        raise NotImplementedError

    def readings(self, text: str) -> list[float]:
        """The positions a user's text may mean (none when it is not this quantity at all)."""
        position = self.read(text)
        return [] if position is None else [position]


class ExposureValue(Quantity):
    """Exposure bias in EV: ``+1/3``, ``-2 2/3``, ``-0.3``, ``+1.5 EV``, ``0``, ``±0``."""

    def read(self, text: str) -> float | None:
        t = text.strip().lower().removesuffix("ev").strip().replace("±", "")
        value = fraction(t)
        return None if value is None else float(value)


class Aperture(Quantity):
    """An f-number, as stops from f/1 (2·log2 N): ``f/5.6``, ``F5.6``, ``f 8``, ``5.6``."""

    def read(self, text: str) -> float | None:
        t = re.sub(r"\s+", "", text.lower()).removeprefix("f").removeprefix("/")
        match = re.fullmatch(NUMBER, t)
        if not match or float(t) <= 0:
            return None
        return 2 * math.log2(float(t))


class ShutterSpeed(Quantity):
    """An exposure time, as log2 seconds: ``1/250``, ``1/2.5``, ``30s``, ``30"``, ``0.5``, ``1"3`` (1.3 s).

    A bare whole number the user types (``250``) reads both as 1/250 and as 250 s: shutter dials print
    1/250 as 250, and only the camera's list can tell which is meant (when both fit, the value is refused
    as ambiguous). A label of the camera's is read as written.
    """

    def read(self, text: str) -> float | None:
        t = re.sub(r"\s+", "", text.lower()).removesuffix("sec").removesuffix("s")
        if match := re.fullmatch(rf"1/({NUMBER})", t):
            seconds = 1 / float(match.group(1)) if float(match.group(1)) > 0 else 0.0
        elif match := re.fullmatch(r"(\d+)\"(\d+)", t):  # 1"3: 1.3 s, as Canon and Fuji bodies write it
            seconds = float(f"{match.group(1)}.{match.group(2)}")
        elif re.fullmatch(rf"({NUMBER})\"?", t):
            seconds = float(t.removesuffix('"'))
        else:
            return None
        return math.log2(seconds) if seconds > 0 else None

    def readings(self, text: str) -> list[float]:
        t = text.strip()
        position = self.read(t)
        if position is None:
            return []
        if t.isdigit() and int(t) > 1:
            return [position, -position]  # N seconds, and 1/N
        return [position]


#: The quantity of each unified property name that has one.
QUANTITIES: dict[str, Quantity] = {
    "exp-bias": ExposureValue(),
    "fnumber": Aperture(),
    "exposure": ShutterSpeed(),
}
