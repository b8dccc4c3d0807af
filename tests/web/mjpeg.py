"""A small multipart/x-mixed-replace reader for the live-view tests (our own reading of the format, over a
plain socket: independent of the daemon's code and of any HTTP client library)."""

from __future__ import annotations

import socket
import time
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
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("the daemon closed the stream")
        self.buffer += chunk

    def _until(self, marker: bytes) -> bytes:
        while (at := self.buffer.find(marker)) < 0:
            self._fill()
        out = bytes(self.buffer[:at])
        del self.buffer[: at + len(marker)]
        return out

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def read_head(self) -> None:
        lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def next_part(self) -> Part:
        """The next part of the chunked multipart body (chunked framing read along the way)."""
        boundary = self.headers["content-type"].split("boundary=")[1].encode()
        head = self._part_bytes(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0] == b"--".decode() + boundary.decode(), lines
        fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        assert fields["content-type"] == "image/jpeg", fields
        jpeg = self._part_exact(int(fields["content-length"]))
        assert self._part_exact(2) == b"\r\n"
        return Part(time.monotonic(), int(fields["x-frame"]), jpeg)

    # the body is chunked (Transfer-Encoding: chunked): unwrap the chunks into a second buffer
    _body: bytearray = field(default_factory=bytearray)

    def _chunk(self) -> None:
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            raise EOFError("the stream ended")
        self._body += self._exactly(size)
        assert self._exactly(2) == b"\r\n"

    def _part_bytes(self, marker: bytes) -> bytes:
        while (at := self._body.find(marker)) < 0:
            self._chunk()
        out = bytes(self._body[:at])
        del self._body[: at + len(marker)]
        return out

    def _part_exact(self, n: int) -> bytes:
        while len(self._body) < n:
            self._chunk()
        out = bytes(self._body[:n])
        del self._body[:n]
        return out


def open_stream(host: str, port: int, path: str = "/liveview.mjpeg", timeout: float = 30.0) -> MjpegReader:
    """A viewer: connects, sends the request, reads the response head."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    reader = MjpegReader(sock)
    reader.read_head()
    return reader
