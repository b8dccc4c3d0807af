"""What the HTTP data plane needs from the rest of the daemon: one small interface, :class:`Backend`.

The web layer (routes, streaming, live-view fan-out, WebSocket JSON-RPC) talks only to this protocol; the
daemon hands it an implementation built on the camera service and the JSON-RPC dispatcher
(:mod:`ptpipd.web.bridge`), and the tests can hand it a fake. Failures are raised as
:class:`ptpipd.errors.CameraError` subclasses (their JSON-RPC code decides the HTTP status, see
:mod:`ptpipd.web.errors`) or as :class:`UnknownObject`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ptpipd.errors import CameraRefused
from ptpipd.ptp import OperationCode, ResponseCode

#: The piece of an object read from the camera in one transaction (GetPartialObject): 4 MiB, the most DESIGN.md
#: §8 allows. Each piece costs a round trip and the daemon's work of a transaction (a quarter of them per GiB
#: compared with libgphoto2's 1 MiB), its bytes go camera → client by splice (the daemon holds none of them, or
#: at most the piece for a client too slow to keep up), and other clients' requests wait at most one piece
#: (a few ms at loopback speed, a fraction of a second over Wi-Fi).
CHUNK = 4 << 20


class UnknownObject(CameraRefused):
    """No object with this handle on the camera: its refusal InvalidObjectHandle (-32002), naming the handle
    (HTTP 404)."""

    def __init__(self, handle: int, opcode: int = OperationCode.GetObjectInfo) -> None:
        response = ResponseCode.InvalidObjectHandle
        super().__init__(response, response.name, opcode, f"no object with handle {handle} on the camera")
        self.handle = handle

    def data(self) -> dict[str, Any]:
        return {**super().data(), "handle": self.handle}


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What a download needs to know before the first byte: the camera's description of the object."""

    handle: int
    filename: str
    format: str
    size: int
    captured: str | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One live-view JPEG: our sequence number (gaps: frames the camera sent that nobody needed) and when its
    last byte arrived (event-loop monotonic clock)."""

    sequence: int
    received_at: float
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class Shot:
    """A picture just taken: the camera's object (``handle``) and/or the file the daemon saved (``path``)."""

    format: str
    size: int
    handle: int | None
    filename: str | None
    path: str | None


class Sink(Protocol):
    """Receives an object's bytes as the camera sends them (synchronously, in order)."""

    def write(self, data: bytes | bytearray | memoryview) -> object:
        """Takes one chunk; it is only valid during the call."""


class RpcSession(Protocol):
    """One JSON-RPC client of the data plane (a WebSocket, or one ``POST /rpc``)."""

    async def respond(self, message: str) -> str | None:
        """The response text to one JSON-RPC message (request or batch); None when nothing is due."""

    def notifications(self) -> AsyncGenerator[str, None]:
        """Notification texts after ``subscribe``, in order. After an overflow it yields one final
        ``notify.connection {state: "dropped"}`` and ends: the client is then disconnected. An async generator:
        the caller closes it (``contextlib.aclosing``) when it stops early."""

    @property
    def closing(self) -> bool:
        """True when the connection must end after the last answer (e.g. too many wrong tokens)."""

    def close(self) -> None:
        """The client is gone: drop its subscription."""


class Backend(Protocol):
    """The daemon as the data plane sees it."""

    def rpc_session(self, transport: str, peer: str, authenticated: bool) -> RpcSession:
        """A JSON-RPC client context (``authenticated`` False: only ``auth`` and ``rpc.discover`` run)."""

    def status(self) -> dict[str, Any]:
        """The camera part of ``status`` (state, vendor, …)."""

    @property
    def partial_reads(self) -> bool:
        """True when the connected camera reads byte ranges (GetPartialObject)."""

    @property
    def liveview(self) -> bool:
        """True when the camera (its vendor) has a live view at all."""

    async def files(self) -> list[dict[str, Any]]:
        """The ``files`` result (JSON objects as the JSON-RPC method returns them)."""

    async def object_meta(self, handle: int) -> ObjectMeta:
        """The object's name, format and size; :class:`UnknownObject` for a handle the camera refuses."""

    async def read_part(self, handle: int, offset: int, length: int, sink: Sink) -> int:
        """Up to ``length`` bytes from ``offset`` into ``sink`` (one camera transaction); how many came."""

    async def read_all(self, handle: int, sink: Sink) -> int:
        """The whole object into ``sink`` (GetObject, for cameras without partial reads); its size."""

    async def thumb(self, handle: int) -> bytes:
        """The camera's thumbnail of the object (GetThumb)."""

    async def capture(self) -> Shot:
        """Takes a picture (the daemon keeps what the camera hands over in its capture directory)."""

    def frames(self) -> AsyncGenerator[Frame, None]:
        """The camera's live-view frames for as long as the caller iterates (started on the first
        ``__anext__``, stopped when the generator is closed: ``aclose``); :class:`ptpipd.errors.NotSupported` without one."""


#: ``status`` providers of the web layer (viewers, fps) registered into the JSON-RPC ``status`` result.
StatusHook = Callable[[], dict[str, Any]]
