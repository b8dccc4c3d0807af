"""The one asyncio skeleton of every simulated body: listeners, connections, timers, shutdown.

Everything protocol-related happens in the body's sans-I/O responders (:mod:`ptpipd.sim.responder`); this
module moves bytes and keeps time, the same way for every dialect:

* **listeners**: one per declared :class:`~ptpipd.sim.dialect.Port`, all bound at start-up; a gated port
  listens only while ``Body.remote`` is true (it is bound and refuses connections otherwise);
* **sockets**: TCP_NODELAY on every connection (each packet goes out in one write), TCP_QUICKACK re-armed
  after every read (ORACLES.md §1 quirk 5);
* **writes**: a reply's packets go out one write each, with flow control (pause above :data:`WRITE_HIGH`
  buffered bytes, resume below :data:`WRITE_LOW`), so a 1 GB object never sits in the write buffer;
* **time**: the response delay, a prompt's delay (:class:`~ptpipd.sim.responder.Hold`), the capture delay,
  the battery drain, the shutter pressed and the main dial turned on the body every ``shoot_every`` /
  ``dial_every`` seconds, and ``idle_timeout``: the clients are dropped once the host has sent nothing for
  that long while no transaction is being answered (a Nikon D5300 drops an idle client after about 30 s,
  gphoto/gphoto2#66);
* **sessions**: when the body says a session ended, its other connections close, the gated ports stop
  listening and the session's timers are cancelled;
* **tasks**: every task (a transaction being answered, the body's clock) belongs to the server's
  :class:`asyncio.TaskGroup`, entered by :meth:`SimServer.start` and left by :meth:`SimServer.close`, which
  cancels and awaits them all. A task that fails is logged and closes its connection (a camera's bug drops
  its client, it does not stop the camera).

Start one with :func:`start_simulator` (the daemon's ``--simulate`` and the tests use it in-process; the
``ptpipd-sim`` command wraps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ptpipd.ip.packets import Buffer, Event
from ptpipd.sim.dialect import Port, SimOptions, Simulator, load, split_options
from ptpipd.sim.responder import Action, Body, Close, Hold, Outcome, Reply, Responder, Send, Stats
from ptpipd.sim.stream import StreamConnection
from ptpipd.vendors import VENDORS

log = logging.getLogger("ptpipd.sim")

#: Flow control of a connection: pause producing above HIGH buffered bytes, resume below LOW.
WRITE_HIGH = 1 << 20
WRITE_LOW = 256 << 10
_PORT_ATTEMPTS = 64


def _tune(transport: asyncio.BaseTransport) -> socket.socket | None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Each packet goes out with one write; Nagle would hold the small ones back (ORACLES.md §1 quirk 5).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock  # type: ignore[no-any-return]


def _quickack(sock: socket.socket | None) -> None:
    # Linux clears TCP_QUICKACK after it is used; re-arming it after each read keeps ACKs immediate, which
    # removes the 40 ms stall of gphoto2's StartData/EndData small writes (ORACLES.md §1 quirk 5).
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


# ------------------------------------------------------------------------------------------------ ports


def _bound(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and not listening: connections to it are refused."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def wanted_ports(given: Sequence[int] | None, layout: Sequence[Port], title: str = "this body") -> list[int]:
    """The ports to bind: the layout's defaults, or ``given``, where missing ones follow the last given
    (+1 each; after a 0, any free port). ``[0]`` alone for several ports means consecutive free ones
    (marked by an empty list), since libgphoto2 derives the Fuji's event and live-view ports so."""
    if given is None:
        return [port.default for port in layout]
    names = ", ".join(port.name for port in layout)
    if not 1 <= len(given) <= len(layout):
        many = f"{len(layout)} ports ({names})" if len(layout) > 1 else f"one port ({names})"
        raise ValueError(f"{title} listens on {many}; got {len(given)}")
    for port in given:
        if not 0 <= port <= 65535:
            raise ValueError(f"not a TCP port: {port}")
    if list(given) == [0] and len(layout) > 1:
        return []
    wanted = list(given)
    while len(wanted) < len(layout):
        wanted.append(wanted[-1] + 1 if wanted[-1] else 0)
    return wanted


def bind_ports(host: str, wanted: Sequence[int], count: int) -> list[socket.socket]:
    """Bound sockets for ``wanted`` (see :func:`wanted_ports`; empty: ``count`` consecutive free ports)."""
    if wanted:
        socks: list[socket.socket] = []
        try:
            for port in wanted:
                socks.append(_bound(host, port))
        except BaseException:
            for sock in socks:
                sock.close()
            raise
        return socks
    for _ in range(_PORT_ATTEMPTS):
        first = _bound(host, 0)
        base = first.getsockname()[1]
        with contextlib.suppress(OSError, ValueError):
            if base + count - 1 > 65535:
                raise ValueError("no room above")
            return [first, *bind_ports(host, range(base + 1, base + count), count)]
        first.close()
    raise OSError(f"no {count} consecutive free ports found")


class _Listener:
    """One port: bound all the time, listening from the start or (gated) only while the body is remote."""

    def __init__(
        self, spec: Port, host: str, sock: socket.socket, factory: Callable[[], asyncio.Protocol]
    ) -> None:
        self.spec = spec
        self.host = host
        self.port: int = sock.getsockname()[1]
        self.factory = factory
        self.sock: socket.socket | None = sock
        self.server: asyncio.Server | None = None
        self.conns: set[_Connection | StreamConnection] = set()

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
        self.server = await asyncio.get_running_loop().create_server(self.factory, sock=sock)
        if self.spec.gated:
            log.info("%s port %d now listening", self.spec.name, self.port)

    def shut(self) -> None:
        """Stops listening, closes the port's connections and binds the port again, without listening."""
        server, self.server = self.server, None
        for conn in list(self.conns):
            conn.abort()
        if server is None:
            return
        server.close()
        try:
            self.sock = _bound(self.host, self.port)
        except OSError as exc:  # someone took the port in between: it is simply closed now
            log.warning("cannot bind the %s port %d again: %s", self.spec.name, self.port, exc)
            self.sock = None
        log.info("%s port %d no longer listening", self.spec.name, self.port)

    async def close(self) -> None:
        """Releases the port for good."""
        server, self.server = self.server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# ------------------------------------------------------------------------------------------------ connections


class _Refused(asyncio.Protocol):
    """A connection accepted just as a gated port stopped listening: closed at once (RST), as if refused."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.abort()


class _Connection(asyncio.Protocol):
    """One accepted TCP connection and its responder."""

    def __init__(self, server: SimServer, listener: _Listener, responder: Responder) -> None:
        self.server = server
        self.listener = listener
        self.responder = responder
        self.transport: asyncio.Transport | None = None
        self.sock: socket.socket | None = None
        self.peer = "?"
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.listener.spec.gated and not self.server.body.remote:  # the session ended since accept()
            transport.abort()
            return
        self.sock = _tune(transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.listener.conns.add(self)
        self.server._connections[self.responder] = self
        log.debug("%s connection from %s", self.listener.spec.name, self.peer)
        self.server.heard()
        self._act(self.responder.connected())

    def data_received(self, data: bytes) -> None:
        _quickack(self.sock)
        self.server.heard()
        self._act(self.responder.receive_data(data))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._can_write.set()
        if self._task is not None:
            self._task.cancel()
        self.listener.conns.discard(self)
        if self.server._connections.pop(self.responder, None) is not None:
            self.server._lost(self.responder)
        log.debug("%s connection from %s closed", self.listener.spec.name, self.peer)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    @property
    def gone(self) -> bool:
        """True once the connection is closing or closed: nothing more is written."""
        return self._closed or self.transport is None or self.transport.is_closing()

    def write(self, *buffers: Buffer) -> None:
        """Writes one packet (given in one or more pieces) unless the connection is going away."""
        if self.gone:
            return
        assert self.transport is not None
        # One packet, one write (tshark decodes one PDU per segment): a header and its payload go out with
        # one writev, never joined into a copy (asyncio's writelines would join them); only what the socket
        # does not take at once is copied into the transport's buffer, bounded by the flow control.
        sent = self._writev(buffers) if len(buffers) > 1 else 0
        for piece in buffers:
            size = len(memoryview(piece))
            if sent < size:
                self.transport.write(memoryview(piece)[sent:] if sent else piece)
            sent = max(0, sent - size)

    def _writev(self, buffers: tuple[Buffer, ...]) -> int:
        """Writes what the socket takes at once, straight (the transport holds nothing, so the order stays);
        the bytes written. Errors are left for the transport's own write to meet and report."""
        assert self.transport is not None
        if self.sock is None or self.transport.get_write_buffer_size():
            return 0
        try:
            return os.writev(self.sock.fileno(), buffers)
        except OSError:
            return 0

    def close(self) -> None:
        """Closes after flushing what is written (an InitFail must reach the initiator)."""
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Closes at once, whatever is still buffered."""
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None:
            self.transport.abort()

    def _act(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.write(action.data)
            elif isinstance(action, Close):
                log.debug("closing %s: %s", self.peer, action.reason)
                self.close()
            else:
                if self.responder.serial and self.transport is not None:
                    self.transport.pause_reading()  # one transaction at a time, as the camera
                self._task = self.server.spawn(self._answer_or_drop(action), f"answer {self.peer}")

    async def _answer_or_drop(self, reply: Reply) -> None:
        try:
            await self._answer(reply)
        except Exception:
            log.exception("answering %s failed; closing the connection", self.peer)
            self.abort()

    async def _answer(self, reply: Reply) -> None:
        """Writes one transaction's data phase and response, then hands its outcome to the server."""
        if isinstance(reply.outcome, Hold):
            if reply.outcome.delay > 0:
                await asyncio.sleep(reply.outcome.delay)
            reply.outcome = reply.outcome.resolve()
        if self.server.options.response_delay > 0:
            await asyncio.sleep(self.server.options.response_delay)
        await self.server.sync_gates()  # e.g. listening before the OK of InitiateOpenCapture goes out
        for packet in self.responder.reply_packets(reply):
            if self.gone:
                return
            self.write(*packet)
            if not self._can_write.is_set():
                await self._can_write.wait()  # flow control: the initiator reads slower than we write
        if self.gone:
            return
        self.responder.finished(reply)
        assert isinstance(reply.outcome, Outcome)
        self.server.deliver(reply.outcome)
        if self.responder.serial and self.transport is not None:
            self.transport.resume_reading()
        self._act(self.responder.resume())


# ------------------------------------------------------------------------------------------------ server


class SimServer:
    """A running simulated camera: ``host``, ``ports`` (where it listens), ``stats``, ``body`` (built with
    the body's own options), and :meth:`close`. ``options`` are the common options."""

    def __init__(self, simulator: Simulator, body: Body, host: str, options: SimOptions) -> None:
        self.simulator = simulator
        self.body = body
        self.host = host
        self.options = options
        self.ports: list[int] = []
        self._listeners: list[_Listener] = []
        self._connections: dict[Responder, _Connection] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._group = asyncio.TaskGroup()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._entered = False
        self._idle: asyncio.TimerHandle | None = None

    @property
    def stats(self) -> Stats:
        """Sessions opened, transactions answered, protocol violations seen."""
        return self.body.stats

    @property
    def connections(self) -> list[_Connection]:
        """The open PTP/IP connections."""
        return list(self._connections.values())

    async def start(self, ports: Sequence[int] | None) -> None:
        """Binds every port and starts listening on the ungated ones."""
        layout = self.simulator.ports
        socks = bind_ports(self.host, wanted_ports(ports, layout, self.simulator.title), len(layout))
        self._listeners = [
            _Listener(spec, self.host, sock, self._factory(i, spec))
            for i, (spec, sock) in enumerate(zip(layout, socks, strict=True))
        ]
        self.ports = [listener.port for listener in self._listeners]
        await self._group.__aenter__()  # left in close(), which awaits every task the server started
        self._entered = True
        try:
            for listener in self._listeners:
                if not listener.spec.gated:
                    await listener.open()
        except BaseException:
            await self.close()
            raise
        self._start_clock()

    def _factory(self, index: int, spec: Port) -> Callable[[], asyncio.Protocol]:
        def protocol() -> asyncio.Protocol:
            listener = self._listeners[index]
            # asyncio creates the protocol a loop turn after accept(): the session may have ended since
            if spec.gated and not (self.body.remote and listener.listening):
                return _Refused()
            if spec.stream:
                return StreamConnection(self.body.fps, self.body.live_frame, listener.conns)
            return _Connection(self, listener, self.body.responder(index))

        return protocol

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None:
        """Starts a task the server owns (None once closing: nothing new starts then)."""
        if self._closing:
            coro.close()
            return None
        task = self._group.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start_clock(self) -> None:
        clock = (
            (self.options.battery_interval, self._drain, 0, "battery"),
            (self.options.shoot_every, self.press_shutter, self.options.shots, "shutter"),
            (self.options.dial_every, self.turn_dial, 0, "dial"),
        )
        for interval, tick, times, name in clock:
            if interval > 0:
                self.spawn(self._every(interval, tick, times), name)

    @staticmethod
    async def _every(interval: float, tick: Callable[[], None], times: int = 0) -> None:
        """``tick`` every ``interval`` seconds, ``times`` times (0: for ever)."""
        done = 0
        while not times or done < times:
            await asyncio.sleep(interval)
            try:
                tick()
            except Exception:
                log.exception("the body's clock failed; it goes on")
            done += 1

    # ------------------------------------------------------------------ sessions, events, timers

    async def sync_gates(self) -> None:
        """The gated ports listen exactly while the body is remote."""
        if not self.body.remote:
            self._shut_gates()
            return
        for listener in self._listeners:
            if listener.spec.gated and not listener.listening:
                try:
                    await listener.open()
                except OSError as exc:
                    log.error("cannot listen on the %s port %d: %s", listener.spec.name, listener.port, exc)

    def _shut_gates(self) -> None:
        if any(lo.listening for lo in self._listeners if lo.spec.gated):
            self._cancel_timers()  # the session's pending events die with its gated ports
        for listener in self._listeners:
            if listener.spec.gated:
                listener.shut()

    def _lost(self, responder: Responder) -> None:
        others = self.body.connection_lost(responder)
        if others is None:
            return
        self._cancel_timers()  # a session's pending events die with it
        for other in others:
            conn = self._connections.get(other)
            if conn is not None:
                conn.close()
        self._shut_gates()

    def route(self, events: Sequence[Event]) -> None:
        """Sends events where the body says they go."""
        for responder, data in self.body.route(events) if events else ():
            conn = self._connections.get(responder)
            if conn is not None:
                conn.write(data)

    def deliver(self, outcome: Outcome) -> None:
        """A transaction's events: now, or with its capture once the capture delay has passed."""
        if outcome.capture is None:
            self.route(outcome.events)
            return
        events = outcome.events
        delay = self.options.capture_delay + outcome.capture
        self._later(delay, lambda: self.route((*events, *self.body.clock.finish_capture())))

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            assert handle is not None
            self._timers.discard(handle)
            action()

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _drain(self) -> None:
        self.route(self.body.clock.drain_battery())

    def heard(self) -> None:
        """The host sent something: the ``idle_timeout`` clock starts again."""
        if self.options.idle_timeout <= 0:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(self.options.idle_timeout, self._drop_idle)

    def _drop_idle(self) -> None:
        self._idle = None
        conns = self.connections
        if any(conn.responder.busy is not None for conn in conns):
            self.heard()  # answering takes as long as it takes: the host is not idle, it is waiting
            return
        if conns:
            log.info("no traffic for %g s: the camera drops its clients", self.options.idle_timeout)
        for conn in conns:
            conn.close()

    def press_shutter(self) -> None:
        """Presses the shutter button on the body (``--shoot-every``, SIGUSR1). The log line gives the wall
        clock when the events went out (``at T``), for latency measurements (``bench/ingest.py``)."""
        events = self.body.clock.press_shutter()
        sent = time.time()
        self.route(events)
        log.info(
            "shutter pressed on the body: %s (at %.6f)",
            ", ".join(f"0x{e.code:04X}" for e in events) or "nothing happens",
            sent,
        )

    def turn_dial(self) -> None:
        """Turns the main dial on the body one step (``--dial-every``, SIGUSR2)."""
        events = self.body.clock.turn_dial()
        log.info(
            "main dial turned on the body: %s", ", ".join(f"0x{e.code:04X}" for e in events) or "no event"
        )
        self.route(events)

    # ------------------------------------------------------------------ stopping

    async def close(self) -> None:
        """Stops listening, closes every connection, cancels the timers and ends every task it started."""
        if self._closing:
            return
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        self._cancel_timers()
        if self._idle is not None:
            self._idle.cancel()
        conns = [conn for listener in self._listeners for conn in listener.conns]
        for listener in self._listeners:
            if listener.server is not None:
                listener.server.close()
        for conn in conns:
            conn.abort()
        for _ in range(3):  # aborted transports report their loss on the next loop turns
            await asyncio.sleep(0)
        for listener in self._listeners:
            await listener.close()
        if self._entered:
            await self._group.__aexit__(None, None, None)  # every task has ended


async def start_simulator(
    vendor: str = VENDORS[0],
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    ports: Sequence[int] | None = None,
    **options: Any,
) -> SimServer:
    """Starts a simulated camera on ``host`` and returns it once it accepts connections.

    Ports: ``port`` (0 = free ones) or ``ports`` (a list), or neither for the body's defaults (generic
    15740; Fuji 55740, 55741, 55742). For a body with several ports, ``port=P`` means P, P+1, …,
    ``port=0`` consecutive free ones, and ``ports`` may give the first ones (see :func:`wanted_ports`).

    ``options`` are the fields of :class:`~ptpipd.sim.dialect.SimOptions` (``capture_delay``,
    ``response_delay``, ``battery_interval`` (0 disables the drain), ``shoot_every``, ``idle_timeout``,
    ``seed``) and of the body's own options (generic: ``object_size``; Fuji: ``accept_any_client``,
    ``confirm_delay``, ``fps``; Nikon: ``model``, ``vendor_id``, ``wifi``, ``registered``, ``wizard``,
    ``file_lock``).
    Raises KeyError for an unknown vendor, TypeError for an option the body does not take, ValueError for
    ports or values it cannot use, OSError when a port cannot be bound.
    """
    simulator = load(vendor)
    if port is not None and ports is not None:
        raise ValueError("give port or ports, not both")
    common, own = split_options(simulator, options)
    server = SimServer(simulator, simulator.build(common, own), host, common)
    await server.start([port] if port is not None else ports)
    log.info("simulated %s on %s:%s", simulator.title, host, ",".join(map(str, server.ports)))
    return server
