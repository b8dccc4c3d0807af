"""A small multipart/x-mixed-replace reader for the live-view tests (our own reading of the format, over a
plain socket: independent of the daemon's code and of any HTTP client library)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Part:
    """One part: when its last byte arrived (monotonic), its X-Frame number, its JPEG."""

    arrived: float
    sequence: int
    jpeg: bytes


@dataclass
class MjpegReader:
    """Reads an MJPEG response from a connected socket."""

    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    body: bytearray = field(default_factory=bytearray)
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("the daemon closed the stream")
        self.buffer += chunk

    def _chunk(self) -> None:
        """One chunk of the chunked body (Transfer-Encoding: chunked) into ``body``."""
        size = int(_until(self.buffer, b"\r\n", self._fill).split(b";")[0], 16)
        if size == 0:
            raise EOFError("the stream ended")
        self.body += _exactly(self.buffer, size + 2, self._fill)[:size]

    def read_head(self) -> None:
        lines = _until(self.buffer, b"\r\n\r\n", self._fill).decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def next_part(self) -> Part:
        """The next part of the multipart body."""
        boundary = self.headers["content-type"].split("boundary=")[1]
        lines = _until(self.body, b"\r\n\r\n", self._chunk).decode("latin-1").split("\r\n")
        assert lines[0] == f"--{boundary}", lines
        fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        assert fields["content-type"] == "image/jpeg", fields
        data = _exactly(self.body, int(fields["content-length"]) + 2, self._chunk)
        assert data.endswith(b"\r\n")
        return Part(time.monotonic(), int(fields["x-frame"]), data[:-2])


def _until(buffer: bytearray, marker: bytes, more: Callable[[], None]) -> bytes:
    """What ``buffer`` holds before ``marker`` (removed with it), calling ``more`` until it is there."""
    while (at := buffer.find(marker)) < 0:
        more()
    out = bytes(buffer[:at])
    del buffer[: at + len(marker)]
    return out


def _exactly(buffer: bytearray, n: int, more: Callable[[], None]) -> bytes:
    """The first ``n`` bytes of ``buffer`` (removed), calling ``more`` until there are enough."""
    while len(buffer) < n:
        more()
    out = bytes(buffer[:n])
    del buffer[:n]
    return out


def open_stream(host: str, port: int, path: str = "/liveview.mjpeg", timeout: float = 30.0) -> MjpegReader:
    """A viewer: connects, sends the request, reads the response head."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    reader = MjpegReader(sock)
    reader.read_head()
    return reader
