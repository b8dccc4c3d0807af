"""The simulated standard PTP/IP camera (``ptpipd-sim --vendor generic``): one port, PTP/IP framing.

Command and event connections both arrive on port 15740 (PTPIP.md §3); each gets a
:class:`~ptpipd.sim.generic_responder.GenericResponder`, and :class:`GenericBody` pairs them into the one
session the camera serves at a time. The camera itself is :class:`~ptpipd.sim.generic_model.GenericCamera`.
Events go to the session's event connection, or nowhere when there is none.

Any body that speaks standard PTP/IP framing on one port (the Canon EOS too) reuses :class:`GenericBody`
and the responder with its own camera: anything that is a :class:`StandardCamera`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ptpipd.ip import packets as pk
from ptpipd.ptp.types import Buffer
from ptpipd.sim.bigobject import parse_size
from ptpipd.sim.card_dir import CardDir
from ptpipd.sim.dialect import SimOptions, Simulator, option
from ptpipd.sim.generic_model import GenericCamera
from ptpipd.sim.generic_props import IMAGE_SIZES
from ptpipd.sim.generic_responder import GenericResponder, Kind
from ptpipd.sim.responder import Action, Clock, Close, Outcome, Responder, Send, Stats

log = logging.getLogger("ptpipd.sim")

#: The simulator's GUID (fixed, so initiators that remember cameras recognise it).
SIM_GUID = bytes.fromhex("7074706970642d73696d2d3030303031")  # b"ptpipd-sim-00001"
SIM_NAME = "ptpipd-sim"


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class GenericOptions:
    """The generic camera's own options."""

    object_size: int | None = option(
        None, "add BIG00001.BIN of this size (100M, 512K, 1G, bytes) to the card", _size, "SIZE"
    )
    card: str | None = option(
        None, "keep new photos and deletions in DIR: a restarted camera has them again", str, "DIR"
    )
    image_size: str | None = option(
        None, f"ImageSize at start, of {', '.join(IMAGE_SIZES)} (default 1600x1200)", str, "WxH"
    )
    photo_size: int | None = option(
        None, "every picture taken is a JPEG of exactly this size (12M, bytes; padded)", _size, "SIZE"
    )


class StandardCamera(Clock, Protocol):
    """The camera behind a standard PTP/IP body (pure state, see :class:`GenericCamera`)."""

    #: the open PTP session's ID, None outside a session
    session_id: int | None

    def operation(self, code: int, tid: int, params: tuple[int, ...], data: Buffer | None = None) -> Outcome:
        """Runs one operation; ``data`` is the data-out phase, if the initiator sent one."""

    def end_session(self) -> None:
        """The PTP/IP connection is gone, and the session with it."""


class GenericBody:
    """A standard PTP/IP body's session table: at most one initiator (command + event connection) at a time."""

    fps = 0.0
    #: a standard PTP/IP body has no gated ports
    remote = False
    #: the responder's FriendlyName in InitCommandAck
    ack_name: str = SIM_NAME

    def __init__(self, model: StandardCamera) -> None:
        self.model = model
        self.clock: Clock = model
        self.stats = Stats()
        self.command: GenericResponder | None = None
        self.events: GenericResponder | None = None
        self._connection_number = 0

    def responder(self, port: int) -> Responder:
        """A responder for a newly accepted connection."""
        return GenericResponder(self)

    def open_command(self, conn: GenericResponder, request: pk.InitCommandRequest) -> list[Action]:
        """InitCommandRequest: the ack of a new session, or InitFail Busy while one is active."""
        if self.command is not None:
            log.info("refusing %r: a session is already active (InitFail Busy)", request.name)
            return [Send(conn.codec.encode(pk.InitFail(pk.InitFailReason.Busy))), Close("busy")]
        self._connection_number += 1
        self.command, conn.kind = conn, Kind.COMMAND
        log.info("session %d: initiator %r connected", self._connection_number, request.name)
        return [
            Send(
                conn.codec.encode(
                    pk.InitCommandAck(self._connection_number, SIM_GUID, self.ack_name, request.version)
                )
            )
        ]

    def open_events(self, conn: GenericResponder, request: pk.InitEventRequest) -> list[Action]:
        """InitEventRequest: the ack when it names the session's connection number and none is open yet."""
        number = request.connection_number
        if self.command is None or number != self._connection_number:
            log.info("refusing an event connection for unknown connection number %d", number)
            return [
                Send(conn.codec.encode(pk.InitFail(pk.InitFailReason.Unspecified))),
                Close("unknown session"),
            ]
        if self.events is not None:
            log.info("refusing a second event connection for session %d", number)
            return [Send(conn.codec.encode(pk.InitFail(pk.InitFailReason.Busy))), Close("busy")]
        self.events, conn.kind = conn, Kind.EVENT
        return [Send(conn.codec.encode(pk.InitEventAck()))]

    def connection_lost(self, conn: Responder) -> list[Responder] | None:
        """A connection ended; when it was one of the session's, the session ends and the other must go."""
        conn.closed = True
        if conn is not self.command and conn is not self.events:
            return None
        others: list[Responder] = [c for c in (self.command, self.events) if c is not None and c is not conn]
        self.command = self.events = None
        self.model.end_session()
        log.info("session %d ended", self._connection_number)
        return others

    def route(self, events: Sequence[pk.Event]) -> list[tuple[Responder, bytes]]:
        """Events go to the session's event connection, or nowhere."""
        conn = self.events
        return [] if conn is None else [(conn, conn.codec.encode(event)) for event in events]

    def live_frame(self, counter: int) -> bytes:
        """A standard PTP/IP body has no live-view stream port."""
        raise NotImplementedError


def _build(common: SimOptions, own: GenericOptions) -> GenericBody:
    if own.image_size is not None and own.image_size not in IMAGE_SIZES:
        raise ValueError(
            f"--image-size {own.image_size}: not one of the ImageSize values {', '.join(IMAGE_SIZES)}"
        )
    card = CardDir(own.card) if own.card is not None else None
    model = GenericCamera(seed=common.seed, object_size=own.object_size, card=card, image_size=own.image_size)
    model.photo_size = own.photo_size
    return GenericBody(model)


SIMULATOR = Simulator.standard("the generic camera", GenericOptions, _build)
