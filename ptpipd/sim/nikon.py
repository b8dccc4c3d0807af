"""The simulated Nikon (``ptpipd-sim --vendor nikon --model d750|z6``): standard PTP/IP on one port.

A Nikon speaks the standard transport (NIKON.md §1): command and event connections both arrive on port
15740, each with a :class:`~ptpipd.sim.generic_responder.GenericResponder`, and :class:`NikonBody` pairs
them into the one session the body serves at a time, as the generic body does. What differs is the
camera (:class:`~ptpipd.sim.nikon_model.NikonCamera`) and two rules of the body:

* **events are polled**: they wait in the camera's queue for GetEvent 0x90C7, nothing goes out on the event
  channel (libgphoto2 polls 0x90C7 when it is listed and does not read the channel then);
* **the Z 6 admits registered computers only** in STA mode (N-link ``StaHostRegistrar``): an
  InitCommandRequest with an unknown GUID gets InitFail (reason 1, rejected initiator) and the connection
  closes, unless the body waits in its connect-to-computer wizard (``--wizard``), where any computer gets a
  restricted session in which it can register (PrepareHost, ConfirmHost).
"""

from __future__ import annotations

import argparse
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ptpipd.ip import packets as pk
from ptpipd.sim.dialect import SimOptions, Simulator, option
from ptpipd.sim.generic import GenericBody
from ptpipd.sim.generic_responder import GenericResponder
from ptpipd.sim.nikon_model import BODIES, NikonCamera
from ptpipd.sim.responder import Action, Close, Responder, Send
from ptpipd.vendors.nikon_codes import VENDOR_MTP, VENDOR_NIKON

log = logging.getLogger("ptpipd.sim")

_VENDOR_IDS = {"nikon": VENDOR_NIKON, "mtp": VENDOR_MTP}
_WIFI = ("ap", "sta")


def parse_guid(text: str) -> bytes:
    """A GUID as 32 hex digits, with or without ``:``/``-`` between them (gphoto2's and UUID spellings)."""
    digits = re.sub(r"[:\-\s]", "", text)
    if not re.fullmatch(r"[0-9a-fA-F]{32}", digits):
        raise ValueError(f"not a GUID (32 hex digits): {text!r}")
    return bytes.fromhex(digits)


def _guids(text: str) -> tuple[bytes, ...]:
    try:
        return tuple(parse_guid(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class NikonOptions:
    """The simulated Nikon's own options."""

    model: str = option("d750", "the body to simulate (nikon: d750, z6)", str, "NAME")
    vendor_id: str = option(
        "auto", "VendorExtensionID: nikon (0xA), mtp (0xFFFFFFFF, as a Z 8) or auto (z6: mtp)", str, "ID"
    )
    wifi: str = option("auto", "ap: any computer; sta: registered ones only (auto: z6 sta)", str, "MODE")
    registered: tuple[bytes, ...] | None = option(
        None, "GUIDs of the computers a Z in STA mode admits", _guids, "GUID[,GUID]"
    )
    wizard: bool = option(False, "the Z waits in its connect-to-computer wizard: any computer may register")
    file_lock: bool = option(
        False, "the Z refuses GetObjectInfo/GetObject/GetPartialObject on card files (libgphoto2#976)"
    )


class NikonBody(GenericBody):
    """The session table of the generic body, with Nikon's polled events and the Z's host gate."""

    model: NikonCamera

    def __init__(self, model: NikonCamera) -> None:
        super().__init__(model)
        self.ack_name = model.spec.name

    def open_command(self, conn: GenericResponder, request: pk.InitCommandRequest) -> list[Action]:
        """InitCommandRequest: InitFail for a computer the body does not admit, else as the generic body."""
        if not self.model.admits(request.guid):
            log.info(
                "refusing %r: GUID %s is not registered (InitFail, rejected initiator)",
                request.name, uuid.UUID(bytes=request.guid) if len(request.guid) == 16 else request.guid.hex(),
            )  # fmt: skip
            refusal = pk.InitFail(pk.InitFailReason.RejectedInitiator)
            return [Send(conn.codec.encode(refusal)), Close("computer not registered")]
        actions = super().open_command(conn, request)
        if self.command is conn:
            self.model.host_connected(request.guid)
        return actions

    def route(self, events: Sequence[pk.Event]) -> list[tuple[Responder, bytes]]:
        """Events wait for GetEvent 0x90C7: nothing goes out on the event connection."""
        self.model.queue_events(events)
        return []


def _build(common: SimOptions, own: NikonOptions) -> NikonBody:
    if own.model not in BODIES:
        raise ValueError(f"--model {own.model}: the Nikon bodies are {', '.join(BODIES)}")
    if own.vendor_id not in (*_VENDOR_IDS, "auto"):
        raise ValueError(f"--vendor-id {own.vendor_id}: use nikon, mtp or auto")
    if own.wifi not in (*_WIFI, "auto"):
        raise ValueError(f"--wifi {own.wifi}: use ap, sta or auto")
    sta = own.wifi == "sta" or (own.wifi == "auto" and BODIES[own.model].registers_hosts)
    camera = NikonCamera(
        own.model, seed=common.seed, vendor_id=_VENDOR_IDS.get(own.vendor_id), sta=sta,
        registered=own.registered or (), wizard=own.wizard, file_lock=own.file_lock,
    )  # fmt: skip
    return NikonBody(camera)


SIMULATOR = Simulator.standard("the Nikon (D750 or Z 6)", NikonOptions, _build)
