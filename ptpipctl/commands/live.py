"""``ptpipctl liveview`` and ``url``: the live view for players, and the addresses for browsers.

``liveview`` writes the frames of ``GET /liveview.mjpeg`` one after the other, as bare JPEGs: what
ffmpeg's own ``mjpeg`` muxer writes and what its ``mjpeg`` demuxer (``ffplay -f mjpeg -``) and VLC's
(``vlc --demux=mjpeg``, or a ``.mjpg`` file) read, from a pipe or a file, with no framing to agree on. The
multipart headers between parts would need ``-f mpjpeg`` in ffmpeg and are noise to ``-f mjpeg``.
"""

from __future__ import annotations

import os
import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.declare import JSON, Param, command
from ptpipctl.httpclient import is_loopback, locate, sibling_socket
from ptpipctl.mjpeg import Parts, boundary_of
from ptpipctl.output import json_text, pairs, size_text
from ptpipctl.transfer import WriteFailed, amended, write_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

#: What ``url`` prints: (name, path on the data plane, takes the token in its URL).
ADDRESSES = (
    ("page", "/", False),
    ("liveview", "/liveview.mjpeg", True),
    ("snapshot", "/liveview.jpg", True),
    ("files", "/files", True),
)
PLAYER_HINT = "ptpipctl liveview | ffplay -f mjpeg -"


class Stream:
    """Where frames go: stdout, a file written as a temporary file renamed at the end, or (an existing FIFO
    or device) straight there."""

    def __init__(self, output: str | None) -> None:
        self.path, self.tmp, self.fd = output, "", 1
        self.count = self.size = 0  # frames and bytes written
        if output is None or output == "-":
            if sys.stdout.isatty():
                raise UsageError(f"stdout is a terminal: give -o FILE, or pipe the stream: {PLAYER_HINT}")
            return
        direct = os.path.exists(output) and not os.path.isfile(output)
        self.tmp = (
            "" if direct else os.path.join(os.path.dirname(output) or ".", f".ptpipctl-{os.getpid()}.tmp")
        )
        try:
            flags = os.O_WRONLY | (0 if direct else os.O_CREAT | os.O_EXCL)
            self.fd = os.open(output if direct else self.tmp, flags, 0o666)
        except OSError as exc:
            raise CtlError(f"cannot write to {output}: {exc.strerror or exc}") from None

    def write(self, frame: bytes) -> None:
        try:
            write_all(self.fd, memoryview(frame))
        except WriteFailed as exc:
            raise CtlError(f"cannot write {self.path or 'stdout'}: {exc.reason}") from None
        self.count += 1
        self.size += len(frame)

    def close(self, keep: bool) -> None:
        """Closes the file; renames it into place when ``keep``, else removes it."""
        if self.fd == 1:
            return
        os.close(self.fd)
        if self.tmp and keep:
            os.replace(self.tmp, str(self.path))
        elif self.tmp:
            os.unlink(self.tmp)


@command(
    Param(
        "--output",
        "output",
        "Where the frames go: FILE, or - for stdout (the default; not a terminal).",
        metavar="FILE",
        short="-o",
    ),
    Param("--frames", "frames", "Stop after N frames.", metavar="N", kind=int),
    Param("--seconds", "seconds", "Stop after SECONDS.", metavar="SECONDS", kind=float),
)
def liveview(g: Globals, *, output: str | None, frames: int | None, seconds: float | None) -> None:
    """Writes the camera's live view as JPEG frames one after the other, for ffplay -f mjpeg - or VLC; Ctrl-C
    stops."""
    if frames is not None and frames < 1:
        raise UsageError(f"--frames must be 1 or more, not {frames}")
    if seconds is not None and not 0 < seconds < float("inf"):
        raise UsageError(f"--seconds must be a positive number, not {seconds}")
    stream = Stream(output)
    started = time.monotonic()
    try:
        _watch(g, stream, frames, None if seconds is None else started + seconds)
    except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or the player went away: the end
        pass
    except CtlError as exc:  # whole frames only: what came is kept, also when the stream broke
        kept = f"; its {stream.count} frames are in {output}" if stream.tmp and stream.count else ""
        raise amended(exc, kept) from None
    finally:
        stream.close(keep=stream.count > 0)
    if stream.tmp and stream.count:
        sys.stdout.write(f"saved {output} ({stream.count} frames, {size_text(stream.size)})\n")


def _watch(g: Globals, stream: Stream, frames: int | None, deadline: float | None) -> None:
    """Copies frames until ``frames`` or ``deadline``; an error when the stream ends first."""
    with locate(g).request("GET", "/liveview.mjpeg") as response:
        response.check()
        for frame in Parts(response, boundary_of(response.headers.get("content-type", ""))):
            stream.write(frame)
            if (frames is not None and stream.count >= frames) or (deadline and time.monotonic() >= deadline):
                return
    raise CtlError(f"the live view ended after {stream.count} frames")


def _complete_what(_g: Globals, incomplete: str, _given: dict[str, Any]) -> list[str]:
    return [name for name, _, _ in ADDRESSES if name.startswith(incomplete)]


@command(
    Param(
        "WHAT",
        "what",
        "Only this URL: page, liveview, snapshot or files.",
        required=False,
        complete=_complete_what,
    ),
    JSON,
)
def url(g: Globals, what: str | None, *, as_json: bool) -> None:
    """The web page's and the streams' URLs, for a browser, ffplay or VLC (the token added off loopback)."""
    names = [name for name, _, _ in ADDRESSES]
    if what is not None and what not in names:
        raise UsageError(f"unknown URL {what!r}; choose one of {', '.join(names)}")
    http = locate(g, need_tcp=True)
    token = http.token if http.token and http.host and not is_loopback(http.host) else None
    found = {
        name: http.url(path) + (f"?token={_escaped(token)}" if token and secret else "")
        for name, path, secret in ADDRESSES
    }
    target = g.target()
    if target.host is None and not (g.http or g.env.get("PTPIPCTL_HTTP")):
        found["socket"] = sibling_socket(str(target.path))
    if what is not None:
        sys.stdout.write(found[what] + "\n")
    else:
        sys.stdout.write(json_text(found) if as_json else pairs(found.items()))


def _escaped(text: str) -> str:
    """Percent-encoding of everything but RFC 3986's unreserved characters."""
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
