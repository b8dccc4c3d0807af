"""Human labels for property values, and the reverse: from what a person types back to the value.

A :class:`Labels` object knows one property's encoding: ``label(value)`` gives the text shown to people
(``f/5.6``, ``1/250``, ``+1/3``, ``daylight``), ``parse(text)`` the value a label stands for, or None when the
text is not one of its labels (the caller then tries a plain number). Matching ignores case, spaces and the
difference between ``_`` and ``-``, so ``"S 6400"``, ``"s6400"`` and ``"S6400"`` are the same label.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import ClassVar

from ptpipd.ptp import Value


def normalize(text: str) -> str:
    """The form labels are compared in: lowercase, no spaces, ``_`` read as ``-``."""
    return re.sub(r"\s+", "", text).lower().replace("_", "-")


def hex_label(value: Value) -> str:
    """The fallback label of a value no table names."""
    if isinstance(value, int):
        return f"0x{value:04X}" if value >= 0 else str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value


#: A decimal number as people write it: ``5``, ``5.6``, ``.5``.
NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_MIXED = re.compile(r"([+-]?)\s*(?:(\d+)\s+)?(\d+)\s*/\s*(\d+)")  # -2 1/3, +1/3
_DECIMAL = re.compile(rf"([+-]?)\s*({NUMBER})")


def fraction(text: str) -> Fraction | None:
    """``-2 1/3``, ``+1/3``, ``-0.3``, ``1.5`` as an exact number; None for anything else."""
    t = text.strip()
    if match := _MIXED.fullmatch(t):
        sign, whole, num, den = match.groups()
        if int(den) == 0:
            return None
        value = int(whole or 0) + Fraction(int(num), int(den))
        return -value if sign == "-" else value
    if match := _DECIMAL.fullmatch(t):
        value = Fraction(match.group(2))
        return -value if match.group(1) == "-" else value
    return None


class Labels(ABC):
    """Converts between a property's values and their labels (every kind of label derives from it)."""

    #: What a text must look like when :meth:`parse` makes nothing of it and no other reading may be tried
    #: (a date wants a date); None: the text is then tried as a plain number.
    expected: ClassVar[str | None] = None

    @abstractmethod
    def label(self, value: Value) -> str:
        """The label shown for ``value``."""

    @abstractmethod
    def parse(self, text: str) -> Value | None:
        """The value ``text`` labels, or None when it is not a label of this kind."""

    def hint(self, value: Value, allowed: list[str]) -> str | None:
        """What to write instead when ``value`` is not among the ``allowed`` labels now (None: no hint)."""
        return None


class Plain(Labels):
    """Numbers shown as decimal with an optional ``unit`` (BatteryLevel in percent: 87 → ``87%``), strings as
    themselves; parses only a number with its unit (plain numbers are tried anyway)."""

    def __init__(self, unit: str = "") -> None:
        self.unit = unit

    def label(self, value: Value) -> str:
        if isinstance(value, int):
            return f"{value}{self.unit}"
        return hex_label(value)

    def parse(self, text: str) -> Value | None:
        if self.unit and normalize(text).endswith(self.unit.lower()):
            digits = normalize(text)[: -len(self.unit)]
            if re.fullmatch(r"-?\d+", digits):
                return int(digits)
        return None


PLAIN = Plain()


class Enum(Labels):
    """A table of named values; unknown values show as hex. ``aliases`` are extra accepted spellings."""

    def __init__(self, names: Mapping[int, str], aliases: Mapping[str, int] | None = None) -> None:
        self.names = dict(names)
        self._by_label = {normalize(name): value for value, name in self.names.items()}
        for alias, value in (aliases or {}).items():
            self._by_label.setdefault(normalize(alias), value)

    def label(self, value: Value) -> str:
        if isinstance(value, int) and value in self.names:
            return self.names[value]
        return hex_label(value)

    def parse(self, text: str) -> Value | None:
        return self._by_label.get(normalize(text))


class Numeric(Labels):
    """A number with a format of its own, where ``special`` values have names (0xFFFF → ``auto``).

    Subclasses say how to write a number (:meth:`format`) and how to read one back (:meth:`read`, given the
    normalised text); names of special values are handled here.
    """

    def __init__(self, special: Mapping[int, str] | None = None) -> None:
        self.special = dict(special or {})
        self._special_by_label = {normalize(v): k for k, v in self.special.items()}

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        if value in self.special:
            return self.special[value]
        return self.format(value)

    def parse(self, text: str) -> Value | None:
        t = normalize(text)
        if t in self._special_by_label:
            return self._special_by_label[t]
        return self.read(t)

    def format(self, value: int) -> str:
        """The label of an ordinary value."""
        return str(value)

    def read(self, text: str) -> int | None:
        """The value of a normalised label, or None."""
        return None


class Scaled(Numeric):
    """A number stored times ``scale`` (FocalLength in 1/100 mm, …), shown with a unit."""

    def __init__(self, scale: int, unit: str, special: Mapping[int, str] | None = None) -> None:
        super().__init__(special)
        self.scale = scale
        self.unit = unit

    def format(self, value: int) -> str:
        return f"{decimal(Fraction(value, self.scale))}{self.unit}"

    def read(self, text: str) -> int | None:
        t = text
        if self.unit and t.endswith(self.unit.lower()):
            t = t[: -len(self.unit)]
        elif self.unit:
            return None
        try:
            return round(Fraction(t) * self.scale)
        except (ValueError, ZeroDivisionError):
            return None


def decimal(value: Fraction, places: int = 2) -> str:
    """A decimal with at most ``places`` places and no trailing zeros: 5.6, 11, 0.25 (0.333 with three)."""
    text = f"{float(value):.{places}f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


class FNumber(Numeric):
    """F-number stored ×100 (PTP 0x5007): 560 → ``f/5.6``; ``special`` names values such as 0xFFFF.

    Reads ``f/5.6``, ``F5.6`` and a bare ``5.6`` (as gphoto2 does).
    """

    def format(self, value: int) -> str:
        return f"f/{decimal(Fraction(value, 100))}"

    def read(self, text: str) -> int | None:
        match = re.fullmatch(r"(?:f/?)?(\d+(?:\.\d+)?)", text)
        if not match:
            return None
        return round(Fraction(match.group(1)) * 100)


class ExposureTime(Numeric):
    """Exposure time in 1/10000 s (PTP 0x500D): 40 → ``1/250``, 300000 → ``30s``, 5000 → ``1/2``."""

    def format(self, value: int) -> str:
        if value <= 0:
            return str(value)
        if value < 10000:
            denominator = Fraction(10000, value)
            if abs(denominator - round(denominator)) < Fraction(1, 20) or denominator >= 3:
                return f"1/{round(denominator)}"
        return f"{decimal(Fraction(value, 10000))}s"

    def read(self, text: str) -> int | None:
        t = text.removesuffix("s").removesuffix('"')
        try:
            seconds = Fraction(t)
        except (ValueError, ZeroDivisionError):
            return None
        if seconds < 0:
            return None
        return round(seconds * 10000)


class ExposureBias(Labels):
    """Exposure bias in 1/1000 EV (PTP 0x5010, INT16): 333 → ``+1/3``, −2667 → ``-2 2/3``, 0 → ``0``.

    A remainder under 0.4 stop counts as ⅓, otherwise ⅔ (the rule of the seed tool), so the thirds the
    cameras use (333, 667, 1333 …) label as expected; halves print as decimals.
    """

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        if value == 0:
            return "0"
        sign = "+" if value > 0 else "-"
        whole, rest = divmod(abs(value), 1000)
        if rest == 0:
            return f"{sign}{whole}"
        if rest == 500:
            return f"{sign}{whole}.5"
        third = "1/3" if rest < 400 else "2/3"
        return f"{sign}{whole} {third}" if whole else f"{sign}{third}"

    def parse(self, text: str) -> Value | None:
        t = text.strip().lower().removesuffix("ev").strip()
        if t in ("off", "±0"):
            return 0
        stops = fraction(t)
        if stops is None or stops.denominator not in (1, 2, 3):
            return None
        if stops.denominator == 3:  # the thirds cameras use: 333, 667, 1333 …
            whole, rest = divmod(int(abs(stops) * 3), 3)
            return (-1 if stops < 0 else 1) * (whole * 1000 + (0, 333, 667)[rest])
        return round(stops * 1000)


class Iso(Numeric):
    """ISO sensitivity as a plain number; ``special`` covers markers such as 0xFFFF = ``auto``."""

    def parse(self, text: str) -> Value | None:
        return super().parse(normalize(text).removeprefix("iso"))

    def read(self, text: str) -> int | None:
        return int(text) if text.isdigit() else None


class Milliseconds(Labels):
    """A duration in ms (CaptureDelay 0x5012): 0 → ``off``, 2000 → ``2s``, 500 → ``0.5s``."""

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        if value == 0:
            return "off"
        return f"{decimal(Fraction(value, 1000))}s"

    def parse(self, text: str) -> Value | None:
        t = normalize(text)
        if t in ("off", "none"):
            return 0
        if t.endswith("ms") and t[:-2].isdigit():
            return int(t[:-2])
        if t.endswith("s"):
            try:
                return round(Fraction(t[:-1]) * 1000)
            except (ValueError, ZeroDivisionError):
                return None
        return None


class DateTime(Labels):
    """A PTP DateTime string (0x5011; PTP.md: ``YYYYMMDDThhmmss[.s][Z|±hhmm]``), checked before it is sent.

    ``now`` is the computer's local time (as gphoto2's ``datetime=now``); ISO 8601 spellings
    (``2024-06-01 12:00``, ``2024-06-01T12:00:30``) are written in the PTP form. A text that is no date
    and time is refused (:attr:`expected` says what is wanted) rather than sent to a camera that refuses it.
    """

    expected = "a date and time: YYYYMMDDThhmmss, YYYY-MM-DD hh:mm[:ss], or now"
    _PTP = re.compile(r"(\d{8}T\d{6})(\.\d)?(Z|[+-]\d{4})?")
    _ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?")

    def label(self, value: Value) -> str:
        return hex_label(value)

    def parse(self, text: str) -> Value | None:
        t = text.strip()
        if t.lower() == "now":
            return datetime.now().strftime("%Y%m%dT%H%M%S")
        if match := self._ISO.fullmatch(t):
            t = "".join(match.group(1, 2, 3)) + "T" + "".join(match.group(4, 5)) + (match.group(6) or "00")
        match = self._PTP.fullmatch(t)
        if not match:
            return None
        try:
            datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")  # a real date: no 31 February, no 25:00
        except ValueError:
            return None
        return t
