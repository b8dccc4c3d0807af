"""The JPEG frames of a ``multipart/x-mixed-replace`` body (``GET /liveview.mjpeg``), read as they arrive.

Each part is ``--BOUNDARY`` CRLF, header lines (``Content-Type: image/jpeg``, ``Content-Length: N``) and an
empty line, then N bytes of JPEG and CRLF, as the daemon (and mjpg-streamer, µStreamer) send them. The
length is required: searching for the next boundary inside JPEG bytes is what it spares.
"""

from __future__ import annotations

from ptpipctl.client import CtlError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ptpipctl.httpclient import Response

#: The largest frame accepted (a live-view JPEG is tens to hundreds of KiB).
MAX_FRAME = 32 << 20
MAX_LINE = 8192


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a ``multipart/x-mixed-replace`` media type."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/x-mixed-replace":
        raise CtlError(f"the live view is {kind.strip() or 'untyped'}, not multipart/x-mixed-replace")
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"')
    raise CtlError("the live view's multipart/x-mixed-replace has no boundary")


class Parts:
    """Reads the parts of a multipart body from ``response``."""

    def __init__(self, response: Response, boundary: str) -> None:
        self.response = response
        self.delimiter = b"--" + boundary.encode("latin-1")
        self.buffer = bytearray()
        self.scratch = memoryview(bytearray(1 << 18))

    def _fill(self) -> bool:
        n = self.response.readinto(self.scratch)
        self.buffer += self.scratch[:n]
        return n > 0

    def _line(self) -> bytes | None:
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_LINE:
                raise CtlError(f"the live view sent a line over {MAX_LINE} bytes between frames")
            if not self._fill():
                return None
        line = bytes(self.buffer[:end]).rstrip(b"\r")
        del self.buffer[: end + 1]
        return line

    def _exactly(self, n: int) -> bytes | None:
        while len(self.buffer) < n:
            if not self._fill():
                return None
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def next(self) -> bytes | None:
        """The next part's body; None at the end of the stream (a part cut short is dropped)."""
        while (line := self._line()) != self.delimiter:  # the CRLF after a part, a preamble
            if line is None or line == self.delimiter + b"--":
                return None
        length = None
        while line := self._line():
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value)
        if line is None:
            return None
        if length is None or length > MAX_FRAME:
            raise CtlError("the live view sent a part without a Content-Length (or over 32 MiB)")
        return self._exactly(length)

    def __iter__(self) -> Iterator[bytes]:
        while (frame := self.next()) is not None:
            yield frame
