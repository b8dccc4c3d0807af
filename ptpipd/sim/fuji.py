"""The simulated Fujifilm bodies (``ptpipd-sim --vendor fuji [--model x-t1|x-t2|x-t4|x-t5|x-s10]``).

One dialect, three ports, one model per body (:class:`~ptpipd.sim.fuji_model.FujiModel` with the body's
:class:`~ptpipd.vendors.fuji_body_codes.BodyProfile`); the X-T1 is the default and answers byte for byte
as before the later bodies came. What each body reports and does is in tests/data/fuji/BODIES.md; the
switches ``--refuse-desc``, ``--empty-value``, ``--ignore-device-info``, ``--no-remote`` and
``--wifi-mode`` make any body answer like the cameras of issue 13 (:class:`~ptpipd.sim.fuji_props.Quirks`).

Ports (FUJI.md §1), in the order they are given and printed:

=====  ==========================================================================================
cmd    55740: listens from the start; :class:`~ptpipd.sim.fuji_responder.FujiResponder` speaks on it
event  55741: camera → host event containers; the host sends nothing
jpeg   55742: the live-view stream (FUJI.md §13); the host sends nothing
=====  ==========================================================================================

"The camera only listens from then on" (after InitiateOpenCapture, FUJI.md §1) is simulated literally: the
event and live-view ports are gated (:class:`~ptpipd.sim.dialect.Port`): bound from the start but
listening only in remote mode, so a connection attempt is refused (TCP RST, ECONNREFUSED) as on a camera
that has no listener there. They start listening before the OK of InitiateOpenCapture goes out, and stop
(their connections closed) as soon as the session leaves remote mode: the client goes away, or closes the
session. libgphoto2 derives event = command + 1 and jpeg = event + 1, hence consecutive default ports.

Timing: a pairing prompt, the Yes/No dialog (first client, unless ``accept_any_client``) holds the 0xDF01
answer for ``confirm_delay`` seconds, then the "user" presses OK (keep it under 2.5 s for gphoto2, which
waits no longer). The capture events C004 and C001 go out
``capture_delay`` seconds after InitiateCapture's response; CaptureComplete right after 0x9022's.
Events produced while no event connection is up wait for one (at most :data:`MAX_QUEUED_EVENTS`; they are
dropped when the session ends).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import FujiCodec
from ptpipd.ip.fuji_liveview import encode_frame
from ptpipd.ip.packets import Buffer, Event
from ptpipd.sim.dialect import Port, SimOptions, Simulator, bounded, option, seconds
from ptpipd.sim.fuji_model import FujiModel, Phase
from ptpipd.sim.fuji_props import Quirks
from ptpipd.sim.fuji_responder import FujiResponder
from ptpipd.sim.pictures import live_jpeg
from ptpipd.sim.responder import Action, Clock, Responder, Send, Stats
from ptpipd.vendors.fuji_body_codes import BODIES, DEFAULT_BODY, CameraState, body

log = logging.getLogger("ptpipd.sim")

MAX_QUEUED_EVENTS = 64
COMMAND, EVENT, STREAM = range(3)


_rate = bounded("a frame rate (0 < F <= 1000)", 0, 1000, above=True)
#: ``--wifi-mode``: the camera's Wi-Fi function, as 0xDF00 CameraState reports it (BODIES.md §6).
WIFI_MODES = {
    "remote": CameraState.REMOTE_ACCESS,
    "browse": CameraState.FULL_ACCESS,
    "transfer": CameraState.MULTIPLE_TRANSFER,
    "autosave": CameraState.PC_AUTO_SAVE,
}


@dataclass(frozen=True, slots=True)
class FujiOptions:
    """The simulated Fuji bodies' own options."""

    model: str = option(DEFAULT_BODY, f"the body ({', '.join(BODIES)} for fuji)", str, "MODEL")
    wifi_mode: str = option(
        "remote", f"the camera's Wi-Fi function, later bodies ({', '.join(WIFI_MODES)})", str, "MODE"
    )
    refuse_desc: bool = option(False, "refuse GetDevicePropDesc 0x1014 (0x2005)")
    empty_value: bool = option(False, "answer GetDevicePropValue 0x1015 with no data (not 0xD212, versions)")
    ignore_device_info: bool = option(False, "never answer GetDeviceInfo 0x1001 (the next command is served)")
    no_remote: bool = option(False, "no Wi-Fi remote mode: 0xDF24 answers with no data")

    accept_any_client: bool = option(
        False, "any client name connects, unprompted (else the first paired only)"
    )
    confirm_delay: float = option(
        0.0, "hold the first pairing's 0xDF01 answer S seconds (OK on the camera)", seconds, "S"
    )
    fps: float = option(10.0, "live-view frames per second", _rate, "F")


class EventResponder(Responder):
    """A connection to the event port: the camera writes, the host should be silent (its bytes are
    logged once and ignored)."""

    def __init__(self, body: FujiBody) -> None:
        super().__init__(body.stats, FujiCodec(Role.RESPONDER, containers=True))
        self.body = body
        self._told = False

    def connected(self) -> list[Action]:
        """Joins the body's event connections and sends what waited for one."""
        return self.body.events_connected(self)

    def receive_data(self, data: Buffer) -> list[Action]:
        """Ignores what the host sends."""
        if not self._told:
            self._told = True
            log.info(
                "fuji: the host sent %d bytes on the event port (ignored; it should send nothing)", len(data)
            )
        return []


class FujiBody:
    """A simulated body shared by its connections: the model, the session owner, the event port."""

    def __init__(self, model: FujiModel, options: FujiOptions) -> None:
        self.model = model
        self.clock: Clock = model
        self.stats = Stats()
        self.fps = options.fps
        self.confirm_delay = options.confirm_delay
        self.owner: FujiResponder | None = None
        self._connection_number = 0
        self._events: list[EventResponder] = []
        #: events waiting for an event connection, with the session (count) they belong to
        self._queued: deque[tuple[int, Event]] = deque(maxlen=MAX_QUEUED_EVENTS)
        self._codec = FujiCodec(Role.RESPONDER, containers=True)

    def responder(self, port: int) -> Responder:
        """A :class:`FujiResponder` for the command port, an :class:`EventResponder` for the event port."""
        return FujiResponder(self) if port == COMMAND else EventResponder(self)

    def next_connection_number(self) -> int:
        """The number of a newly accepted client (in its InitCommandAck)."""
        self._connection_number += 1
        return self._connection_number

    @property
    def remote(self) -> bool:
        """The event and live-view ports listen in remote mode only."""
        return self.model.phase is Phase.REMOTE

    def connection_lost(self, conn: Responder) -> list[Responder] | None:
        """The owner's command connection ending ends the session (the gated ports close with it)."""
        conn.closed = True
        if isinstance(conn, EventResponder):
            self._events = [e for e in self._events if e is not conn]
        if conn is not self.owner:
            return None
        self.owner = None
        self.model.end_session()
        self._queued.clear()
        log.info("fuji: client %r went away, session ended", self.model.client)
        return []

    def events_connected(self, conn: EventResponder) -> list[Action]:
        """An event connection joined: the events that waited for one."""
        log.debug("fuji: event connection, %d queued events", len(self._queued))
        self._events.append(conn)
        session = self.stats.sessions
        queued: list[Action] = [Send(self._codec.encode(ev)) for n, ev in self._queued if n == session]
        self._queued.clear()
        return queued

    def route(self, events: Sequence[Event]) -> list[tuple[Responder, bytes]]:
        """Events go to every event connection; without one, they wait (and go with the session)."""
        if not self._events:
            if self.remote:
                self._queued.extend((self.stats.sessions, event) for event in events)
            return []
        raw = [self._codec.encode(event) for event in events]
        return [(conn, data) for conn in self._events for data in raw]

    def live_frame(self, counter: int) -> bytes:
        """A live-view frame as it goes on port 55742 (FUJI.md §13)."""
        return encode_frame(counter, live_jpeg(counter))


def quirks(own: FujiOptions, later: bool) -> Quirks:
    """The issue-13 switches and the Wi-Fi function; ValueError for a mode the body cannot report."""
    state = WIFI_MODES.get(own.wifi_mode.lower())
    if state is None:
        raise ValueError(f"unknown --wifi-mode {own.wifi_mode!r}; known: {', '.join(WIFI_MODES)}")
    if state != CameraState.REMOTE_ACCESS and not later:
        raise ValueError("the X-T1 reports no camera state (0xDF00): --wifi-mode needs a later body")
    return Quirks(own.refuse_desc, own.empty_value, own.ignore_device_info, own.no_remote, state)


def _build(common: SimOptions, own: FujiOptions) -> FujiBody:
    try:
        profile = body(own.model)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    model = FujiModel(
        profile=profile,
        quirks=quirks(own, profile.full_size),
        accept_any_client=own.accept_any_client,
        seed=common.seed,
    )
    return FujiBody(model, own)


SIMULATOR = Simulator(
    title="the Fujifilm camera",
    ports=(
        Port("command", 55740),
        Port("event", 55741, gated=True),
        Port("live view", 55742, gated=True, stream=True),
    ),
    options=FujiOptions,
    build=_build,
)
