"""The asyncio side of the simulated Fujifilm X-T1: three ports, the pairing delay, events, live view.

Ports (FUJI.md §1), in the order they are given and printed:

=====  ==========================================================================================
cmd    55740: listens from the start; :mod:`ptpipd.sim.fuji_responder` speaks on it
event  55741: camera → host event containers; the host sends nothing
jpeg   55742: the live-view stream of :mod:`ptpipd.sim.fuji_live`
=====  ==========================================================================================

"The camera only listens from then on" (after InitiateOpenCapture, FUJI.md §1) is simulated literally: the
event and live-view sockets are *bound* when the simulator starts (so the ports are reserved and known) but
not listening, so a connection attempt is refused (TCP RST, ECONNREFUSED) just as on a camera that has no
listener there. They start listening before the OK of InitiateOpenCapture goes out, and stop (their
connections closed, the sockets bound again without listening) as soon as the session leaves remote mode:
the client goes away, or closes the session. Port 0 for the command port picks three *consecutive* free
ports, because libgphoto2 derives event = command + 1 and jpeg = event + 1.

Timing: a pairing prompt (first client, unless ``accept_any_client``) holds the 0xDF01 answer for
``confirm_delay`` seconds, then the "user" presses OK. The capture events C004 and C001 go out
``capture_delay`` seconds after InitiateCapture's response; CaptureComplete right after 0x9022's.
Events produced while no event connection is up wait for one (at most :data:`MAX_QUEUED_EVENTS`; they are
dropped when the session ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import FujiCodec
from ptpipd.ip.packets import Event
from ptpipd.ptp import OperationCode
from ptpipd.sim.fuji_live import LiveStats, LiveViewConnection
from ptpipd.sim.fuji_model import AwaitConfirmation, ModelEvent, Phase, XT1Model
from ptpipd.sim.fuji_responder import FujiHub, FujiReply, FujiResponder
from ptpipd.sim.responder import Close, Send, Stats

log = logging.getLogger("ptpipd.sim")

#: The X-T1's ports: command/data, event, live view (FUJI.md §1).
DEFAULT_PORTS = (55740, 55741, 55742)
MAX_QUEUED_EVENTS = 64
_PORT_ATTEMPTS = 64


@dataclass(frozen=True, slots=True)
class FujiOptions:
    """How the simulated X-T1 behaves (the ``ptpipd-sim --vendor fuji`` flags)."""

    accept_any_client: bool = False
    confirm_delay: float = 0.0
    fps: float = 10.0
    capture_delay: float = 0.05
    response_delay: float = 0.0


def _tune(transport: asyncio.BaseTransport) -> socket.socket | None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one container, one segment, no wait
    return sock  # type: ignore[no-any-return]


def _quickack(sock: socket.socket | None) -> None:
    # Linux clears TCP_QUICKACK after use: re-arm it after each read (the generic server does the same).
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[object, ...]]:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return family, address


def _bound(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and not listening: connections to it are refused."""
    family, address = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_ports(host: str, ports: Sequence[int]) -> list[socket.socket]:
    """Three bound sockets for ``ports``: ``[P]`` means P, P+1, P+2 and ``[0]`` three consecutive free ports;
    two or three values are taken as given (a missing third is the second + 1; 0 = any free port)."""
    if not 1 <= len(ports) <= 3:
        raise ValueError(f"the Fuji simulator takes one to three ports, got {len(ports)}")
    if len(ports) == 1 and ports[0] == 0:
        for _ in range(_PORT_ATTEMPTS):
            first = _bound(host, 0)
            base = first.getsockname()[1]
            rest: list[socket.socket] = []
            try:
                if base + 2 > 65535:
                    raise OSError("no room above")
                rest = [_bound(host, base + 1), _bound(host, base + 2)]
            except OSError:
                for sock in (first, *rest):
                    sock.close()
                continue
            return [first, *rest]
        raise OSError("no three consecutive free ports found")
    wanted = list(ports)
    if len(wanted) == 1:
        wanted += [wanted[0] + 1, wanted[0] + 2]
    elif len(wanted) == 2:
        wanted.append(wanted[1] + 1 if wanted[1] else 0)
    socks: list[socket.socket] = []
    try:
        for port in wanted:
            if not 0 <= port <= 65535:
                raise ValueError(f"not a TCP port: {port}")
            socks.append(_bound(host, port))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


class _GatedPort:
    """A port that is bound all the time but listens only while the camera is in remote mode."""

    def __init__(
        self, name: str, host: str, sock: socket.socket, factory: Callable[[], asyncio.Protocol]
    ) -> None:
        self.name = name
        self.host = host
        self.port: int = sock.getsockname()[1]
        self.factory = factory
        self.sock: socket.socket | None = sock
        self.server: asyncio.Server | None = None

    @property
    def listening(self) -> bool:
        """True while connections are accepted."""
        return self.server is not None

    async def open(self) -> None:
        """Starts listening (asyncio calls listen() on the bound socket)."""
        if self.server is not None:
            return
        if self.sock is None:  # a rebind failed earlier: try once more
            self.sock = _bound(self.host, self.port)
        sock, self.sock = self.sock, None
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self.factory, sock=sock)
        log.info("fuji: %s port %d now listening", self.name, self.port)

    def shut(self) -> None:
        """Stops listening: closes the listening socket and binds the port again, without listening."""
        server, self.server = self.server, None
        if server is None:
            return
        server.close()
        try:
            self.sock = _bound(self.host, self.port)
        except OSError as exc:  # someone took the port in between: it is simply closed now
            log.warning("fuji: cannot bind %s port %d again: %s", self.name, self.port, exc)
            self.sock = None
        log.info("fuji: %s port %d no longer listening", self.name, self.port)

    async def close(self) -> None:
        """Releases the port for good."""
        server, self.server = self.server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class _CommandConnection(asyncio.Protocol):
    """One connection to the command port and its :class:`FujiResponder`."""

    def __init__(self, server: FujiSimServer) -> None:
        self.server = server
        self.responder: FujiResponder = server.hub.responder()
        self.transport: asyncio.Transport | None = None
        self.sock: socket.socket | None = None
        self.peer = "?"
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = _tune(transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server._commands.add(self)
        log.debug("fuji: command connection from %s", self.peer)

    def data_received(self, data: bytes) -> None:
        _quickack(self.sock)
        self._act(self.responder.receive_data(data))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._task is not None:
            self._task.cancel()
        self.server._commands.discard(self)
        if self.server.hub.connection_lost(self.responder):
            self.server._session_over()
        log.debug("fuji: command connection from %s closed", self.peer)

    @property
    def gone(self) -> bool:
        """True once the connection is closing."""
        return self.transport is None or self.transport.is_closing()

    def _act(self, actions: Iterable[Send | Close | FujiReply]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.write(action.data)
            elif isinstance(action, Close):
                log.debug("fuji: closing %s: %s", self.peer, action.reason)
                self.close()
            else:
                assert self.transport is not None
                self.transport.pause_reading()  # one transaction at a time, as the camera
                self._task = asyncio.get_running_loop().create_task(self._answer(action))

    def write(self, data: bytes) -> None:
        """Writes one packet unless the connection is going away."""
        if not self.gone:
            assert self.transport is not None
            self.transport.write(data)

    def close(self) -> None:
        """Closes once what is written is flushed (an InitFail must reach the host)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def _answer(self, reply: FujiReply) -> None:
        server, model = self.server, self.server.model
        result = reply.result
        if isinstance(result, AwaitConfirmation):
            delay = server.options.confirm_delay
            if delay > 0:
                log.info("fuji: waiting %g s for the user to confirm %r on the camera", delay, result.client)
                await asyncio.sleep(delay)
            answer = model.confirm_pairing()
            log.info("fuji: pairing with %r confirmed", result.client)
        else:
            answer = result
        if server.options.response_delay > 0:
            await asyncio.sleep(server.options.response_delay)
        await server._sync_ports()  # listening before the OK of InitiateOpenCapture goes out
        if self.gone:
            return
        for packet in self.responder.reply_packets(reply.request, answer):
            self.write(packet)
        self.responder.finished(reply, answer)
        delay = server.options.capture_delay if reply.request.code == OperationCode.InitiateCapture else 0.0
        server._send_events(answer.events, delay)
        assert self.transport is not None
        self.transport.resume_reading()
        self._act(self.responder.resume())


class _EventConnection(asyncio.Protocol):
    """A connection to the event port: the camera writes, the host is silent."""

    def __init__(self, server: FujiSimServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self._told = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.server._remote():  # the session ended between accept() and now
            transport.abort()
            return
        _tune(transport)
        self.server._event_connected(self)

    def data_received(self, data: bytes) -> None:
        if not self._told:
            self._told = True
            log.info(
                "fuji: the host sent %d bytes on the event port (ignored; it should send nothing)", len(data)
            )

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._events.discard(self)

    def write(self, data: bytes) -> None:
        """Writes one event container."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        """Closes at once (the session ended)."""
        if self.transport is not None:
            self.transport.abort()


class _Refused(asyncio.Protocol):
    """A connection accepted just as the port stopped listening: closed at once (RST), as if refused."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.abort()


class FujiSimServer:
    """A running simulated X-T1: ``host``, ``ports`` (command, event, live view), ``stats``, ``live``,
    ``model`` and :meth:`close`."""

    def __init__(self, model: XT1Model, host: str, options: FujiOptions) -> None:
        self.model = model
        self.host = host
        self.options = options
        self.hub = FujiHub(model)
        self.live = LiveStats()
        self.ports: list[int] = []
        self._command_server: asyncio.Server | None = None
        self._event_port: _GatedPort | None = None
        self._stream_port: _GatedPort | None = None
        self._commands: set[_CommandConnection] = set()
        self._events: set[_EventConnection] = set()
        self._streams: set[LiveViewConnection] = set()
        self._queued: deque[bytes] = deque(maxlen=MAX_QUEUED_EVENTS)
        self._event_codec = FujiCodec(Role.RESPONDER, containers=True)
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def stats(self) -> Stats:
        """Sessions opened, transactions answered, protocol violations seen."""
        return self.hub.stats

    @property
    def remote_ports_listening(self) -> bool:
        """True while the event and live-view ports accept connections (remote mode)."""
        return self._event_port is not None and self._event_port.listening

    async def _start(self, ports: Sequence[int]) -> None:
        socks = bind_ports(self.host, ports)
        try:
            loop = asyncio.get_running_loop()
            self._command_server = await loop.create_server(lambda: _CommandConnection(self), sock=socks[0])
        except BaseException:
            for sock in socks:
                sock.close()
            raise
        self._event_port = _GatedPort("event", self.host, socks[1], self._new_event_connection)
        self._stream_port = _GatedPort("live-view", self.host, socks[2], self._new_stream)
        self.ports = [sock.getsockname()[1] for sock in socks]

    # ------------------------------------------------------------------ session state

    async def _sync_ports(self) -> None:
        """Event and live-view ports listen exactly while the model is in remote mode."""
        remote = self.model.phase is Phase.REMOTE
        for gate in (self._event_port, self._stream_port):
            if gate is None:
                continue
            if remote and not gate.listening:
                try:
                    await gate.open()
                except OSError as exc:
                    log.error("fuji: cannot listen on the %s port %d: %s", gate.name, gate.port, exc)
            elif not remote and gate.listening:
                self._close_remote()
                gate.shut()

    def _session_over(self) -> None:
        self._close_remote()
        for gate in (self._event_port, self._stream_port):
            if gate is not None:
                gate.shut()

    def _close_remote(self) -> None:
        self._queued.clear()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for conn in list(self._events):
            conn.close()
        for stream in list(self._streams):
            stream.close()

    # ------------------------------------------------------------------ events and live view

    def _event_connected(self, conn: _EventConnection) -> None:
        log.debug("fuji: event connection, %d queued events", len(self._queued))
        self._events.add(conn)
        while self._queued:
            conn.write(self._queued.popleft())

    def _send_events(self, events: Sequence[ModelEvent], delay: float) -> None:
        if not events:
            return
        raw = [self._event_codec.encode(Event(e.code, e.transaction_id, e.params)) for e in events]
        if delay <= 0:
            self._write_events(raw)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            assert handle is not None
            self._timers.discard(handle)
            self._write_events(raw)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _write_events(self, raw: list[bytes]) -> None:
        if not self._events:
            self._queued.extend(raw)
            return
        for conn in self._events:
            for packet in raw:
                conn.write(packet)

    def _remote(self) -> bool:
        return self.model.phase is Phase.REMOTE and self.remote_ports_listening

    def _new_event_connection(self) -> asyncio.Protocol:
        # asyncio creates the protocol a loop turn after accept(): the session may have ended since
        return _EventConnection(self) if self._remote() else _Refused()

    def _new_stream(self) -> asyncio.Protocol:
        if not self._remote():
            return _Refused()
        conn = LiveViewConnection(self.options.fps, self.live, self._streams.discard)
        self._streams.add(conn)
        return conn

    # ------------------------------------------------------------------ stopping

    async def close(self) -> None:
        """Stops listening, closes every connection and cancels the timers."""
        self._close_remote()
        for conn in list(self._commands):
            if conn.transport is not None:
                conn.transport.abort()
        if self._command_server is not None:
            self._command_server.close()
            await self._command_server.wait_closed()
        for gate in (self._event_port, self._stream_port):
            if gate is not None:
                await gate.close()
        # aborted transports report their loss on the next loop turns
        for _ in range(3):
            await asyncio.sleep(0)


async def start_fuji(host: str, ports: Sequence[int], options: FujiOptions) -> FujiSimServer:
    """Starts a simulated X-T1 on ``host`` (see :func:`bind_ports` for ``ports``)."""
    model = XT1Model(accept_any_client=options.accept_any_client)
    server = FujiSimServer(model, host, options)
    await server._start(ports)
    log.info("fuji: simulated X-T1 on %s:%s", host, ",".join(map(str, server.ports)))
    return server
