"""A hostile fake PTP/IP camera for the fault tests (issue 14): a standard camera until told to misbehave.

It speaks enough of the standard dialect (CIPA DC-X005, PTPIP.md) for ``ptpipd`` to connect and work: the
init handshake on the command and the event connection, OpenSession/CloseSession, GetDeviceInfo,
GetDevicePropDesc/Value/SetDevicePropValue of ExposureIndex (``iso``, 0x500F), GetStorageIDs,
GetObjectHandles, GetObjectInfo, GetObject, InitiateCapture (ObjectAdded + CaptureComplete) and probes.
Everything on the wire is built with the stable library API (DESIGN.md §3): ``ptpipd.ip.packets.encode`` and
its dataclasses, ``ptpipd.ptp`` datasets and value encoders; the daemon's packets are read with
``ptpipd.ip.packets.decode_generic``. Nothing of the daemon's initiator or of ``ptpipd.sim`` is used.

Misbehaviour is scripted per operation with :meth:`HostileCamera.on` (the next request with that operation
code runs an *action* instead of the normal answer) or ordered at any moment: :meth:`~HostileCamera.vanish`
(close, or RST, every connection), :meth:`~HostileCamera.freeze` (stop reading and writing, as if the
process were SIGSTOPped; :meth:`~HostileCamera.thaw` resumes), :meth:`~HostileCamera.flood_events`.
Actions: :func:`hold`, :func:`ok_then_hold`, :func:`vanish_now`, :func:`freeze_now`, :func:`stream_data`
(StartData and endless or slow Data), :func:`trickle` (one byte at a time), :func:`huge_data` (a Data
packet claiming 4 GiB). When an action starts, :attr:`HostileCamera.fired` is set and ``fired_at`` holds its
``time.monotonic()``: tests wait on that event, never on a sleep.

It runs in a background thread of the test process (``with HostileCamera() as cam``: the port is bound and
listening when the constructor returns), or as a subprocess (``python -m tests.hostile --on OP=ACTION``),
which prints ``listening on HOST:PORT`` once it accepts connections, ``session N`` when OpenSession is
answered and ``fired OP`` when an action starts: a test may then SIGSTOP or SIGKILL it for real.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ptpipd.ip.packets import (
    HEADER,
    HEADER_SIZE,
    UNKNOWN_LENGTH,
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    OperationRequest,
    OperationResponse,
    Packet,
    PacketType,
    ProbeRequest,
    ProbeResponse,
    StartData,
    decode_generic,
    encode,
)
from ptpipd.ptp import (
    DataType,
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    EventCode,
    ObjectFormat,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    StorageInfo,
    decode_value,
    encode_uint32_array,
    encode_value,
)

OC = OperationCode
RC = ResponseCode
ISO = 0x500F
ISO_VALUES = (100, 200, 400, 800, 1600, 3200)
STORAGE_ID = 0x0001_0001
GUID = b"hostile-camera-1"
NAME = "hostile"
MANUFACTURER = "ptpipd tests"
MODEL = "Hostile camera"
#: Event TransactionID of an event that belongs to no transaction.
NO_TRANSACTION = 0xFFFF_FFFF
#: The largest packet accepted from the daemon (it only sends requests and small property values).
MAX_PACKET = 1 << 20
#: The first bytes of a JPEG file, for the objects on the fake card.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"

STORAGE_INFO = StorageInfo(4, 2, 0, 32 << 30, 16 << 30, 1000, "card", "HOSTILE")
SUPPORTED = (
    OC.GetDeviceInfo,
    OC.OpenSession,
    OC.CloseSession,
    OC.GetStorageIDs,
    OC.GetStorageInfo,
    OC.GetObjectHandles,
    OC.GetObjectInfo,
    OC.GetObject,
    OC.InitiateCapture,
    OC.GetDevicePropDesc,
    OC.GetDevicePropValue,
    OC.SetDevicePropValue,
)


class Gone(Exception):
    """The connection was closed (by the peer, or by :meth:`HostileCamera.vanish`)."""


def object_info(filename: str, size: int, fmt: int = ObjectFormat.EXIF_JPEG) -> ObjectInfo:
    """An ObjectInfo of a picture on the fake card."""
    return ObjectInfo(
        storage_id=STORAGE_ID,
        object_format=fmt,
        protection_status=0,
        compressed_size=size,
        thumb_format=ObjectFormat.JFIF,
        thumb_compressed_size=0,
        thumb_width=0,
        thumb_height=0,
        image_width=640,
        image_height=480,
        image_bit_depth=24,
        parent_object=0,
        association_type=0,
        association_desc=0,
        sequence_number=0,
        filename=filename,
        capture_date="20240601T101500",
        modification_date="20240601T101500",
        keywords="",
    )


def picture(size: int = 4096, seed: int = 0) -> bytes:
    """``size`` bytes that start like a JPEG (deterministic)."""
    body = bytes((seed + i) & 0xFF for i in range(max(0, size - len(JPEG_HEAD) - 2)))
    return JPEG_HEAD + body + b"\xff\xd9"


@dataclass
class FakeObject:
    """One object on the fake card: its ObjectInfo and its bytes."""

    info: ObjectInfo
    data: bytes


class Conn:
    """One accepted TCP connection: exact reads with a size cap, whole-packet writes under a lock."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.kind = "?"
        self.closed = False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def read_exact(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            try:
                chunk = self.sock.recv(size - len(out))
            except OSError as exc:
                raise Gone(str(exc)) from None
            if not chunk:
                raise Gone("closed")
            out += chunk
        return bytes(out)

    def read_packet(self) -> Packet:
        head = self.read_exact(HEADER_SIZE)
        length, _ = HEADER.unpack(head)
        if not HEADER_SIZE <= length <= MAX_PACKET:
            raise Gone(f"packet length {length} from the initiator is out of bounds")
        return decode_generic(head + self.read_exact(length - HEADER_SIZE))

    def send(self, data: bytes) -> None:
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError as exc:
                raise Gone(str(exc)) from None

    def abort(self, rst: bool) -> None:
        """Closes the socket now: RST (SO_LINGER 0) or an orderly FIN. Wakes a thread blocked in recv."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.sock.shutdown(socket.SHUT_RD)
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


#: What runs instead of the normal answer to a request: (camera, command connection, request).
Action = Callable[["HostileCamera", Conn, OperationRequest], None]


@dataclass
class Session:
    """One initiator's connections."""

    number: int
    command: Conn
    events: Conn | None = None


@dataclass
class Answer:
    """The normal answer to an operation: response code and params, data-in phase, events to send after."""

    code: int
    params: tuple[int, ...] = ()
    data: bytes | None = None
    events: tuple[Event, ...] = ()


class StandardCamera:
    """The well-behaved camera, as pure state: an operation in, its :class:`Answer` out (no I/O).

    One card (StorageID 0x00010001) with ``objects`` by handle, ExposureIndex ``iso`` (UINT16, enum of
    :data:`ISO_VALUES`); a capture adds ``IMG_<handle>.JPG`` and answers ObjectAdded + CaptureComplete.
    """

    def __init__(self) -> None:
        self.iso = 400
        self.objects: dict[int, FakeObject] = {1: FakeObject(object_info("IMG_0001.JPG", 4096), picture())}
        self.next_handle = 100
        self._handlers: dict[int, Callable[[OperationRequest, bytes | None], Answer]] = {
            OC.GetDeviceInfo: lambda r, d: Answer(RC.OK, data=self.device_info().encode()),
            OC.OpenSession: lambda r, d: Answer(RC.OK),
            OC.CloseSession: lambda r, d: Answer(RC.OK),
            OC.GetStorageIDs: lambda r, d: Answer(RC.OK, data=encode_uint32_array((STORAGE_ID,))),
            OC.GetStorageInfo: lambda r, d: Answer(RC.OK, data=STORAGE_INFO.encode()),
            OC.GetObjectHandles: lambda r, d: Answer(RC.OK, data=encode_uint32_array(sorted(self.objects))),
            OC.GetObjectInfo: self._object,
            OC.GetObject: self._object,
            OC.InitiateCapture: self._capture,
            OC.GetDevicePropDesc: self._property,
            OC.GetDevicePropValue: self._property,
            OC.SetDevicePropValue: self._property,
        }

    def answer(self, request: OperationRequest, data_out: bytes | None = None) -> Answer:
        """What a standard camera answers to ``request`` (``data_out``: its data-out phase)."""
        handler = self._handlers.get(request.code)
        return handler(request, data_out) if handler else Answer(RC.OperationNotSupported)

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo this camera reports."""
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=0,
            vendor_extension_version=0,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=tuple(int(c) for c in SUPPORTED),
            events_supported=(EventCode.ObjectAdded, EventCode.DevicePropChanged, EventCode.CaptureComplete),
            device_properties_supported=(ISO,),
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.EXIF_JPEG,),
            manufacturer=MANUFACTURER,
            model=MODEL,
            device_version="1.0",
            serial_number="HOSTILE-1",
        )

    def iso_desc(self) -> DevicePropDesc:
        """ExposureIndex: UINT16, read-write, an enum of :data:`ISO_VALUES`."""
        return DevicePropDesc(ISO, DataType.UINT16, 1, 100, self.iso, EnumForm(ISO_VALUES))

    def _object(self, request: OperationRequest, data_out: bytes | None) -> Answer:
        obj = self.objects.get(request.params[0] if request.params else 0)
        if obj is None:
            return Answer(RC.InvalidObjectHandle)
        return Answer(RC.OK, data=obj.info.encode() if request.code == OC.GetObjectInfo else obj.data)

    def _capture(self, request: OperationRequest, data_out: bytes | None) -> Answer:
        handle, tid = self.next_handle, request.transaction_id
        self.next_handle += 1
        data = picture(8192, seed=handle)
        self.objects[handle] = FakeObject(object_info(f"IMG_{handle:04d}.JPG", len(data)), data)
        events = (Event(EventCode.ObjectAdded, tid, (handle,)), Event(EventCode.CaptureComplete, tid))
        return Answer(RC.OK, events=events)

    def _property(self, request: OperationRequest, data_out: bytes | None) -> Answer:
        if (request.params[0] if request.params else 0) != ISO:
            return Answer(RC.DevicePropNotSupported)
        if request.code == OC.GetDevicePropDesc:
            return Answer(RC.OK, data=self.iso_desc().encode())
        if request.code == OC.GetDevicePropValue:
            return Answer(RC.OK, data=encode_value(DataType.UINT16, self.iso))
        value, _ = decode_value(DataType.UINT16, data_out or b"")
        if value not in ISO_VALUES:
            return Answer(RC.InvalidDevicePropValue)
        self.iso = int(value)
        return Answer(RC.OK, events=(Event(EventCode.DevicePropChanged, request.transaction_id, (ISO,)),))


class HostileCamera(StandardCamera):
    """A scriptable PTP/IP responder on ``host:port`` (0: a free port), serving in background threads."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, announce: bool = False) -> None:
        super().__init__()
        self.announce = announce
        self.listener = self._listen(host, port)
        self.host, self.port = self.listener.getsockname()[:2]
        self.rules: dict[int, deque[Action]] = {}
        self.sessions = 0
        self.session: Session | None = None
        self.connected = threading.Event()  #: set while a session is open (OpenSession answered)
        self.fired = threading.Event()  #: set when a scripted action starts
        self.fired_at = 0.0
        self.vanished_at = 0.0
        self.requests: list[int] = []  #: operation codes received, in order
        self._numbers = itertools.count(1)
        self._thawed = threading.Event()
        self._thawed.set()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[Conn] = set()
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop, "hostile-accept")

    # ------------------------------------------------------------------ scripting

    def on(self, opcode: int, action: Action, times: int = 1) -> None:
        """The next ``times`` requests with ``opcode`` run ``action`` instead of the normal answer."""
        with self._lock:
            self.rules.setdefault(opcode, deque()).extend([action] * times)

    def fire(self, request: OperationRequest) -> None:
        """Marks the moment a scripted action starts misbehaving (actions call it)."""
        self.fired_at = time.monotonic()
        self.fired.set()
        name = OC(request.code).name if request.code in OC._value2member_map_ else f"0x{request.code:04x}"
        self._say(f"fired {name}")

    def vanish(self, rst: bool = True, *, stay_away: bool = False) -> float:
        """Closes every connection at once (RST by default, else FIN); returns the ``time.monotonic()``.

        The listener stays open (the daemon may reconnect and gets a fresh session) unless ``stay_away``:
        then it closes too and connecting is refused until :meth:`come_back`.
        """
        if stay_away:
            self._close_listener()
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
            self.session = None
            self.connected.clear()
        for conn in conns:
            conn.abort(rst)
        self.vanished_at = time.monotonic()
        self._say("vanished")
        return self.vanished_at

    def come_back(self) -> None:
        """Listens again on the same port after ``vanish(stay_away=True)``."""
        self.listener = self._listen(self.host, self.port)
        self._spawn(self._accept_loop, "hostile-accept")

    def _close_listener(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.listener.close()

    @staticmethod
    def _listen(host: str, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(16)
        return listener

    def freeze(self) -> None:
        """Stops reading and writing on every connection, probes included (a SIGSTOPped camera)."""
        self._thawed.clear()

    def thaw(self) -> None:
        """Resumes after :meth:`freeze`."""
        self._thawed.set()

    def send_event(self, code: int, params: tuple[int, ...] = (), tid: int = NO_TRANSACTION) -> None:
        """One event on the current session's event connection."""
        self._event_conn().send(encode(Event(code, tid, params)))

    def flood_events(
        self, count: int, code: int = EventCode.DevicePropChanged, params: tuple[int, ...] = (ISO,)
    ) -> None:
        """``count`` events back to back on the event connection (written in large blocks)."""
        conn = self._event_conn()
        packet = encode(Event(code, NO_TRANSACTION, params))
        block = packet * 4096
        sent = 0
        while sent + 4096 <= count:
            conn.send(block)
            sent += 4096
        if count > sent:
            conn.send(packet * (count - sent))

    def wait_session(self, timeout: float = 30.0) -> None:
        """Waits until a session is open (the daemon connected and OpenSession was answered)."""
        if not self.connected.wait(timeout):
            raise TimeoutError(f"no session with the hostile camera within {timeout} s")

    def close(self) -> None:
        """Stops serving and closes everything."""
        self.stopped.set()
        self._thawed.set()
        self.vanish(rst=False, stay_away=True)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> HostileCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _say(self, line: str) -> None:
        if self.announce:
            print(line, flush=True)

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _event_conn(self) -> Conn:
        session = self.session
        if session is None or session.events is None:
            raise Gone("no event connection")
        return session.events

    def wait_thawed(self) -> None:
        """Blocks while frozen; raises :class:`Gone` when the camera is closed."""
        while not self._thawed.wait(0.5):
            if self.stopped.is_set():
                raise Gone("stopped")
        if self.stopped.is_set():
            raise Gone("stopped")

    def _accept_loop(self) -> None:
        listener = self.listener
        while not self.stopped.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            conn = Conn(sock)
            with self._lock:
                self._conns.add(conn)
            self._spawn(self._serve, "hostile-conn", conn)

    def _serve(self, conn: Conn) -> None:
        try:
            self.wait_thawed()
            first = conn.read_packet()
            if isinstance(first, InitCommandRequest):
                self._serve_command(conn, first)
            elif isinstance(first, InitEventRequest):
                self._serve_events(conn, first)
        except Gone:
            pass
        finally:
            conn.abort(rst=False)
            with self._lock:
                self._conns.discard(conn)
                if self.session is not None and conn is self.session.command:
                    self.session = None
                    self.connected.clear()

    def _serve_command(self, conn: Conn, request: InitCommandRequest) -> None:
        conn.kind = "command"
        session = Session(next(self._numbers), conn)
        with self._lock:
            self.session = session
        conn.send(encode(InitCommandAck(session.number, GUID, NAME, request.version)))
        while True:
            self.wait_thawed()
            packet = conn.read_packet()
            self.wait_thawed()
            if isinstance(packet, OperationRequest):
                self._transaction(conn, packet)
            elif isinstance(packet, ProbeRequest):
                conn.send(encode(ProbeResponse()))

    def _serve_events(self, conn: Conn, request: InitEventRequest) -> None:
        conn.kind = "event"
        session = self.session
        if session is None or session.number != request.connection_number:
            return
        session.events = conn
        conn.send(encode(InitEventAck()))
        while True:
            self.wait_thawed()
            packet = conn.read_packet()
            self.wait_thawed()
            if isinstance(packet, ProbeRequest):
                conn.send(encode(ProbeResponse()))

    # ------------------------------------------------------------------ transactions

    def _transaction(self, conn: Conn, request: OperationRequest) -> None:
        self.requests.append(request.code)
        data_out = self._read_data_out(conn, request) if request.code == OC.SetDevicePropValue else None
        with self._lock:
            rules = self.rules.get(request.code)
            action = rules.popleft() if rules else None
        if action is not None:
            action(self, conn, request)
            return
        answer = self.answer(request, data_out)
        tid = request.transaction_id
        if answer.data is not None:
            conn.send(encode(StartData(tid, len(answer.data))) + encode(EndData(tid, answer.data)))
        conn.send(encode(OperationResponse(answer.code, tid, answer.params)))
        if request.code == OC.OpenSession and answer.code == RC.OK:
            self.sessions += 1
            self.connected.set()
            self._say(f"session {self.sessions}")
        for event in answer.events:
            self._event_conn().send(encode(event))

    def _read_data_out(self, conn: Conn, request: OperationRequest) -> bytes:
        """The data-out phase that follows a request: StartData, Data*, EndData."""
        out = bytearray()
        while True:
            packet = conn.read_packet()
            if isinstance(packet, Data | EndData) and packet.transaction_id == request.transaction_id:
                out += packet.payload
                if isinstance(packet, EndData):
                    return bytes(out)


# ---------------------------------------------------------------------------------------------- actions


def hold(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
    """No answer to this request, ever; the camera stays alive otherwise (probes are answered)."""
    cam.fire(request)


def ok_then_hold(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
    """Answers OK and then nothing more (InitiateCapture: no ObjectAdded, no CaptureComplete)."""
    conn.send(encode(OperationResponse(RC.OK, request.transaction_id)))
    cam.fire(request)


def vanish_now(rst: bool = True) -> Action:
    """Vanishes (every connection RST or closed) instead of answering."""

    def action(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
        cam.fire(request)
        cam.vanish(rst)
        raise Gone("vanished")

    return action


def freeze_now(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
    """Freezes the whole camera instead of answering (as if SIGSTOPped mid-transaction)."""
    cam.freeze()
    cam.fire(request)


def stream_data(
    total: int = UNKNOWN_LENGTH,
    chunk: int = 1024,
    interval: float = 0.05,
    limit: int | None = None,
    *,
    finish: bool = False,
) -> Action:
    """StartData announcing ``total``, then Data packets of ``chunk`` bytes every ``interval`` s, forever
    or until ``limit`` bytes; then silence, or with ``finish`` EndData and an OK response (a slow but
    steady transfer). Ends when the connection goes."""

    def action(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
        tid = request.transaction_id
        conn.send(encode(StartData(tid, total)))
        cam.fire(request)
        packet = encode(Data(tid, bytes(chunk)))
        sent = 0
        while limit is None or sent < limit:
            cam.wait_thawed()
            conn.send(packet)
            sent += chunk
            if cam.stopped.wait(interval):
                raise Gone("stopped")
        if finish:
            conn.send(encode(EndData(tid)) + encode(OperationResponse(RC.OK, tid)))

    return action


def trickle(interval: float = 1.0) -> Action:
    """StartData (unknown length) and Data packets, sent one byte every ``interval`` s, forever."""

    def action(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
        tid = request.transaction_id
        stream = encode(StartData(tid, UNKNOWN_LENGTH)) + encode(Data(tid, bytes(1 << 16)))
        cam.fire(request)
        for byte in itertools.cycle(stream):
            cam.wait_thawed()
            conn.send(bytes((byte,)))
            if cam.stopped.wait(interval):
                raise Gone("stopped")

    return action


def huge_data(claimed: int = 0xFFFF_FFFF, send: int = 80 << 20, rst: bool = True) -> Action:
    """StartData and one Data packet whose length field claims ``claimed`` bytes (4 GiB − 1 by default),
    of which ``send`` bytes are really sent as fast as possible; then the camera vanishes."""

    def action(cam: HostileCamera, conn: Conn, request: OperationRequest) -> None:
        tid = request.transaction_id
        conn.send(
            encode(StartData(tid, claimed - 12))
            + HEADER.pack(claimed, PacketType.Data)
            + struct.pack("<I", tid)
        )
        cam.fire(request)
        block = bytes(1 << 20)
        for _ in range(send >> 20):
            conn.send(block)
        cam.vanish(rst)
        raise Gone("vanished")

    return action


# ---------------------------------------------------------------------------------------------- subprocess

ACTIONS: dict[str, Callable[[], Action]] = {
    "hold": lambda: hold,
    "ok-then-hold": lambda: ok_then_hold,
    "vanish": lambda: vanish_now(True),
    "close": lambda: vanish_now(False),
    "freeze": lambda: freeze_now,
    "endless-data": lambda: stream_data(),
    "trickle": lambda: trickle(),
    "huge-data": lambda: huge_data(),
}


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.hostile [--port P] [--on OPERATION=ACTION]…``: serves until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.hostile", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--on",
        action="append",
        default=[],
        metavar="OPERATION=ACTION",
        help=f"e.g. InitiateCapture=ok-then-hold; actions: {', '.join(ACTIONS)}",
    )
    args = parser.parse_args(argv)
    cam = HostileCamera(args.host, args.port, announce=True)
    for rule in args.on:
        op, _, name = rule.partition("=")
        cam.on(OperationCode[op], ACTIONS[name]())
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"listening on {cam.host}:{cam.port}", flush=True)
    while not done.wait(1.0):
        pass
    cam.close()


if __name__ == "__main__":
    main(sys.argv[1:])
