"""How a simulated body declares itself, and the options every simulated body takes.

The simulated body of vendor ``N`` (a name of :data:`ptpipd.vendors.VENDORS`) is the module or package
``ptpipd.sim.N``; its ``SIMULATOR`` is a :class:`Simulator`: its ports, its options (a dataclass whose
fields :func:`option` describes) and how to build its :class:`~ptpipd.sim.responder.Body`. The server
skeleton, ``ptpipd-sim`` and ``start_simulator`` take everything from there, so adding Canon is
``ptpipd/sim/canon.py`` and ``"canon"`` in ``VENDORS``.

Options are dataclass fields with metadata: ``ptpipd-sim`` turns field ``confirm_delay`` into
``--confirm-delay`` with the field's help, and ``start_simulator(..., confirm_delay=2)`` passes it as is.
Two bodies may declare an option of the same name (``model``, later): it must then mean the same kind of
value; each body checks the values it accepts.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ptpipd.vendors import VENDORS

if TYPE_CHECKING:
    from ptpipd.sim.responder import Body


def bounded(
    what: str, low: float, high: float = math.inf, *, above: bool = False, whole: bool = False
) -> Callable[[str], float]:
    """A flag parser for a number (``whole``: an integer) from ``low`` (or, ``above``, over it) to ``high``;
    NaN is refused."""

    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not ((value > low) if above else (value >= low)) or not value <= high:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
        return value

    return parse


#: A duration in seconds, >= 0.
seconds = bounded("a duration in seconds", 0)
_count = bounded("a count", 0, whole=True)


def option(
    default: Any, help: str, parse: Callable[[str], Any] | None = None, metavar: str | None = None
) -> Any:
    """A dataclass field that is also a ``ptpipd-sim`` flag (``parse`` converts the flag's text; a bool
    field is a switch)."""
    return field(default=default, metadata={"help": help, "parse": parse, "metavar": metavar})


@dataclass(frozen=True, slots=True)
class SimOptions:
    """The options every simulated body takes (a body ignores those it has no use for)."""

    capture_delay: float = option(0.05, "seconds from InitiateCapture's answer to the picture", seconds, "S")
    response_delay: float = option(0.0, "delay every response by S seconds", seconds, "S")
    battery_interval: float = option(
        60.0, "lose 1%% of battery every S s, down to 0%% (0: never)", seconds, "S"
    )
    shoot_every: float = option(0.0, "press the shutter on the body every S seconds (0: never)", seconds, "S")
    shots: int = option(0, "with --shoot-every: stop after N presses (0: never stop)", _count, "N")
    dial_every: float = option(
        0.0, "turn the body's main dial one step every S seconds (0: never)", seconds, "S"
    )
    idle_timeout: float = option(
        0.0, "drop clients silent for S seconds, as some cameras do (0: never)", seconds, "S"
    )
    seed: int = option(0, "seed of the pictures the camera makes", int, "N")


@dataclass(frozen=True, slots=True)
class Port:
    """One TCP port of a simulated body. A ``gated`` port is bound from the start but listens only while
    ``Body.remote`` is true (connections to it are refused otherwise), as the Fuji's event and live-view
    ports open only after InitiateOpenCapture.

    A port carries PTP/IP connections, each with a :class:`~ptpipd.sim.responder.Responder` of the body,
    or (``stream``) a stream the camera pushes (live view): frames from ``Body.live_frame``, the host
    sends nothing."""

    name: str
    default: int
    gated: bool = False
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Simulator:
    """What ``ptpipd.sim.<vendor>`` exposes as ``SIMULATOR``.

    ``build(common, own)`` makes the body from the common :class:`SimOptions` and an instance of
    ``options`` (the body's own option dataclass); it raises ValueError for values it cannot use.
    """

    title: str
    ports: tuple[Port, ...]
    options: type[Any]
    build: Callable[[SimOptions, Any], Body]

    @classmethod
    def standard(cls, title: str, options: type[Any], build: Callable[[SimOptions, Any], Body]) -> Simulator:
        """A body that speaks standard PTP/IP framing on one port, 15740 (PTPIP.md §3)."""
        return cls(title, (Port("PTP/IP", 15740),), options, build)

    def option_names(self) -> tuple[str, ...]:
        """The names of the body's own options."""
        return tuple(f.name for f in dataclasses.fields(self.options))


def load(vendor: str) -> Simulator:
    """The ``SIMULATOR`` of ``ptpipd.sim.<vendor>``; KeyError for a name not in VENDORS."""
    if vendor not in VENDORS:
        raise KeyError(f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}")
    simulator = importlib.import_module(f"ptpipd.sim.{vendor}").SIMULATOR
    assert isinstance(simulator, Simulator)
    return simulator


def split_options(simulator: Simulator, given: dict[str, Any]) -> tuple[SimOptions, Any]:
    """The common and the body's own options from keyword arguments; TypeError names an unknown one."""
    common = {f.name for f in dataclasses.fields(SimOptions)}
    own = set(simulator.option_names())
    unknown = sorted(set(given) - common - own)
    if unknown:
        raise TypeError(f"{simulator.title} has no option {', '.join(unknown)}")
    return (
        SimOptions(**{k: v for k, v in given.items() if k in common}),
        simulator.options(**{k: v for k, v in given.items() if k in own}),
    )
