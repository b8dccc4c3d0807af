"""The asyncio side of the simulator: listening sockets, connections, timers (capture, battery, delays).

Everything protocol-related happens in :mod:`ptpipd.sim.responder`; this module moves bytes and keeps time.
Start one with :func:`start_simulator` (the daemon's ``--simulate`` and the tests use it in-process; the
``ptpipd-sim`` command wraps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ptpipd.ip.packets import Buffer, Event
from ptpipd.sim.generic_model import GenericCamera
from ptpipd.sim.responder import Close, Hub, Reply, Responder, Send, Stats

log = logging.getLogger("ptpipd.sim")

#: Flow control of the command connection: pause producing above HIGH buffered bytes, resume below LOW.
#: Far below a data phase, so a 1 GB object never sits in the write buffer.
WRITE_HIGH = 1 << 20
WRITE_LOW = 256 << 10
#: The PTP/IP port (PTPIP.md §3).
GENERIC_PORT = 15740


@dataclass(frozen=True, slots=True)
class SimOptions:
    """Timing and content options of a simulated camera (the ``ptpipd-sim`` flags).

    A vendor ignores the options it has no use for (the generic camera the Fuji ones; the X-T1 the card
    and battery ones).
    """

    object_size: int | None = None
    capture_delay: float = 0.05
    battery_interval: float = 1.0
    response_delay: float = 0.0
    seed: int = 0
    #: Fuji only: every client name connects, with no pairing prompt.
    accept_any_client: bool = False
    #: Fuji only: seconds the first pairing holds the 0xDF01 answer (the user pressing OK on the camera).
    confirm_delay: float = 0.0
    #: Fuji only: live-view frames per second.
    fps: float = 10.0


def _tune_socket(transport: asyncio.BaseTransport) -> socket.socket | None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    # Each packet goes out with one write; Nagle would hold the small ones back (ORACLES.md §1 quirk 5).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock  # type: ignore[no-any-return]


def _quickack(sock: socket.socket | None) -> None:
    # Linux clears TCP_QUICKACK after it is used; re-arming it after each read keeps ACKs immediate, which
    # removes the 40 ms stall of gphoto2's StartData/EndData small writes (ORACLES.md §1 quirk 5).
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class _Connection(asyncio.Protocol):
    """One accepted TCP connection and its responder."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.responder: Responder = server.hub.responder()
        self.transport: asyncio.Transport | None = None
        self.sock: socket.socket | None = None
        self.peer = "?"
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = _tune_socket(transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server._connections.add(self)
        self.server._no_connections.clear()
        log.debug("connection from %s", self.peer)

    def data_received(self, data: bytes) -> None:
        _quickack(self.sock)
        for action in self.responder.receive_data(data):
            if isinstance(action, Send):
                self.write(action.data)
            elif isinstance(action, Reply):
                self._task = asyncio.get_running_loop().create_task(self._answer(action))
            elif isinstance(action, Close):
                log.debug("closing %s: %s", self.peer, action.reason)
                self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._can_write.set()
        if self._task is not None:
            self._task.cancel()
        self.server._connections.discard(self)
        if not self.server._connections:
            self.server._no_connections.set()
        for other in self.server.hub.connection_lost(self.responder):
            conn = self.server._by_responder(other)
            if conn is not None:
                conn.close()
        log.debug("connection from %s closed", self.peer)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # ------------------------------------------------------------------ writing

    @property
    def gone(self) -> bool:
        """True once the connection is closing or closed: nothing more is written."""
        return self._closed or self.transport is None or self.transport.is_closing()

    def write(self, *buffers: Buffer) -> None:
        """Writes one packet (given in one or more pieces) unless the connection is going away."""
        if self.gone:
            return
        assert self.transport is not None
        if len(buffers) == 1:
            self.transport.write(buffers[0])
        else:
            # One packet, one write (tshark decodes one PDU per segment); joining a 1 MiB payload to its
            # header is the only copy of the data on its way out, bounded by the flow control below.
            self.transport.writelines(buffers)

    def close(self) -> None:
        """Closes after flushing what is written (an InitFail must reach the initiator)."""
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Closes at once, whatever is still buffered (the simulator is stopping)."""
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None:
            self.transport.abort()

    async def _answer(self, reply: Reply) -> None:
        """Writes one transaction's data phase and response, then its events; starts its capture."""
        server = self.server
        try:
            if server.options.response_delay > 0:
                await asyncio.sleep(server.options.response_delay)
            for packet in self.responder.reply_packets(reply):
                if self.gone:
                    return
                self.write(*packet)
                if not self._can_write.is_set():
                    await self._can_write.wait()  # flow control: the initiator reads slower than we write
            if self.gone:
                return
            self.responder.finished(reply)
            server._send_events(reply.outcome.events)
        finally:
            # The camera started capturing when the request arrived; it finishes even if the initiator left,
            # or it would answer DeviceBusy forever.
            if reply.outcome.capture_delay is not None:
                server._schedule_capture(server.options.capture_delay + reply.outcome.capture_delay)


class SimServer:
    """A running simulated camera: ``host``, ``ports`` (where it listens), ``stats``, and :meth:`close`."""

    def __init__(self, camera: GenericCamera, host: str, options: SimOptions) -> None:
        self.camera = camera
        self.host = host
        self.options = options
        self.hub = Hub(camera)
        self.ports: list[int] = []
        self._servers: list[asyncio.Server] = []
        self._connections: set[_Connection] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._battery: asyncio.Task[None] | None = None
        self._closing = False
        self._no_connections = asyncio.Event()
        self._no_connections.set()

    @property
    def stats(self) -> Stats:
        """Sessions opened, transactions answered, protocol violations seen."""
        return self.hub.stats

    @property
    def sessions(self) -> int:
        """PTP sessions opened (OpenSession answered OK)."""
        return self.stats.sessions

    @property
    def transactions(self) -> int:
        """Transactions whose response was written."""
        return self.stats.transactions

    @property
    def violations(self) -> int:
        """Protocol violations by initiators (each closed its connection)."""
        return self.stats.violations

    async def _listen(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), self.host, port, reuse_address=True)
        self._servers.append(server)
        self.ports.append(server.sockets[0].getsockname()[1])

    def _start_battery(self) -> None:
        if self.options.battery_interval > 0:
            loop = asyncio.get_running_loop()
            self._battery = loop.create_task(self._drain_battery(self.options.battery_interval))

    def _by_responder(self, responder: Responder) -> _Connection | None:
        for conn in self._connections:
            if conn.responder is responder:
                return conn
        return None

    def _send_events(self, events: list[Event] | tuple[Event, ...]) -> None:
        target = self.hub.event_packets(events)
        if target is None:
            return
        conn = self._by_responder(target[0])
        if conn is not None:
            for packet in target[1]:
                conn.write(packet)

    def _schedule_capture(self, delay: float) -> None:
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def done() -> None:
            assert handle is not None
            self._timers.discard(handle)
            self._send_events(self.camera.finish_capture())

        handle = loop.call_later(delay, done)
        self._timers.add(handle)

    async def _drain_battery(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._send_events(self.camera.drain_battery())

    async def close(self) -> None:
        """Stops listening, closes every connection and cancels the timers."""
        self._closing = True
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.abort()
        with contextlib.suppress(TimeoutError):  # aborted transports report their loss on the next turns
            await asyncio.wait_for(self._no_connections.wait(), 1.0)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._battery is not None:
            self._battery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._battery
        for server in self._servers:
            await server.wait_closed()


class Simulator(Protocol):
    """What every simulated camera offers: where it listens, its counters, and a way to stop it."""

    host: str
    ports: list[int]

    @property
    def stats(self) -> Stats:
        """Sessions opened, transactions answered, protocol violations seen."""

    async def close(self) -> None:
        """Stops listening and closes every connection."""


async def _start_generic(host: str, ports: Sequence[int] | None, options: SimOptions) -> SimServer:
    if ports is not None and len(ports) != 1:
        raise ValueError(f"the generic simulator listens on one port, got {len(ports)}")
    port = GENERIC_PORT if ports is None else ports[0]
    server = SimServer(GenericCamera(seed=options.seed, object_size=options.object_size), host, options)
    await server._listen(port)
    server._start_battery()
    return server


async def _start_fuji(host: str, ports: Sequence[int] | None, options: SimOptions) -> Simulator:
    from ptpipd.sim.fuji_server import DEFAULT_PORTS, FujiOptions, start_fuji

    fuji = FujiOptions(
        accept_any_client=options.accept_any_client,
        confirm_delay=options.confirm_delay,
        fps=options.fps,
        capture_delay=options.capture_delay,
        response_delay=options.response_delay,
    )
    return await start_fuji(host, DEFAULT_PORTS if ports is None else ports, fuji)


#: Vendor name → how to start a simulator of that vendor (``ports``: None = the vendor's default ports).
VENDORS: dict[str, Callable[[str, Sequence[int] | None, SimOptions], Awaitable[Simulator]]] = {
    "generic": _start_generic,
    "fuji": _start_fuji,
}


async def start_simulator(
    vendor: str = "generic",
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    ports: Sequence[int] | None = None,
    **options: Any,
) -> Simulator:
    """Starts a simulated camera on ``host`` and returns it once it accepts connections.

    Ports: ``port`` (0 = free ones) or ``ports`` (a list), or neither for the vendor's defaults (generic
    15740; Fuji 55740, 55741, 55742). The generic camera listens on one port. The Fuji camera uses three:
    ``port=P`` means P, P+1, P+2 (libgphoto2 derives them so), ``port=0`` three consecutive free ones, and
    ``ports`` may give two or three of them (see :func:`ptpipd.sim.fuji_server.bind_ports`).

    ``options`` are the fields of :class:`SimOptions`: ``object_size`` (bytes, or None), ``capture_delay``,
    ``battery_interval`` (0 disables the drain), ``response_delay`` (seconds), ``seed``, and for Fuji
    ``accept_any_client``, ``confirm_delay`` (seconds) and ``fps``. Raises KeyError for an unknown vendor,
    ValueError for ports the vendor cannot use, OSError when a port cannot be bound.
    """
    try:
        start = VENDORS[vendor]
    except KeyError:
        raise KeyError(f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}") from None
    if port is not None and ports is not None:
        raise ValueError("give port or ports, not both")
    return await start(host, [port] if port is not None else ports, SimOptions(**options))
