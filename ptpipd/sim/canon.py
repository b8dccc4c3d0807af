"""The simulated Canon EOS 6D (``ptpipd-sim --vendor canon``): standard PTP/IP framing on one port, EOS inside.

gphoto2's "Canon EOS (WLAN)" driver speaks standard PTP/IP to an EOS body (CANON.md §1, §7): one port,
15740, a command and an event connection, the generic handshake. So the body is the standard PTP/IP
session table and responder of :mod:`ptpipd.sim.generic` around its own camera,
:class:`~ptpipd.sim.canon_model.EOS6D`; the EOS dialect is all in the operations (GetEvent polling,
SetDevicePropValueEx, remote release, GetViewFinderData). The event connection stays silent, as on a real
EOS body: its events wait in the GetEvent queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from ptpipd.sim.canon_model import EOS6D
from ptpipd.sim.dialect import SimOptions, Simulator, bounded, option
from ptpipd.sim.generic import GenericBody

_scale = bounded("a scale from 1 to 64", 1, 64, whole=True)


@dataclass(frozen=True, slots=True)
class CanonOptions:
    """The simulated EOS 6D's own options."""

    photo_scale: int = option(
        4, "draw photos at 1/N of the 6D's pixel size (1: the full 5472x3648)", _scale, "N"
    )


def _build(common: SimOptions, own: CanonOptions) -> GenericBody:
    return GenericBody(EOS6D(seed=common.seed, scale=own.photo_scale))


SIMULATOR = Simulator.standard("the Canon EOS 6D", CanonOptions, _build)
