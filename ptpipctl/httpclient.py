"""HTTP/1.1 to ptpipd's data plane (DESIGN.md §8): downloads, captures, the live view, their URLs.

A minimal client on ``_socket``, as :mod:`ptpipctl.client` (no :mod:`http.client`, :mod:`socket` or
:mod:`re`: start-up time). One request per connection (``Connection: close``); a body is framed by
``Content-Length``, the chunked transfer coding (the live view) or the end of the connection, and read
straight into the caller's buffer (:meth:`Response.readinto`) or, on Linux, spliced into a pipe without
entering this process (:meth:`Response.splice_to`), so nothing is held whole. A status of 400 or
more carries the daemon's JSON error, raised as :class:`~ptpipctl.client.RpcFailure` (exit 1).

Where the data plane is (:func:`locate`):

1. ``--http ADDRESS`` or ``PTPIPCTL_HTTP``: ``HOST:PORT`` (port 15780 when left out), ``http://HOST:PORT``,
   or a Unix socket path (starting with ``/`` or ``.``);
2. else, when the daemon is reached on a Unix socket (``--socket``, ``--instance`` or the default), the
   HTTP socket beside it: ``ptpipd.sock`` → ``ptpipd-http.sock``, ``NAME.sock`` → ``NAME-http.sock`` (the
   daemon's rule, duplicated on purpose: no round trip);
3. else (``--tcp HOST:PORT``) the HTTP listener the daemon reports in ``status`` (``http.addresses``): its
   port on HOST, the address the user reaches the daemon by — or the daemon's own host when it listens on one
   specific non-loopback address.

The token goes as ``Authorization: Bearer TOKEN`` over TCP only; the Unix socket is trusted by its mode.
"""

from __future__ import annotations

import _socket
import os
import select

from ptpipctl import __version__
from ptpipctl.client import (
    ENV_HTTP,
    Address,
    CtlError,
    DaemonUnreachable,
    RpcFailure,
    UsageError,
    parse_host_port,
)
from ptpipctl.jsonio import JSONError, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

DEFAULT_HTTP_PORT = 15780
#: The largest response head read (status line and headers).
HEAD_LIMIT = 64 << 10
#: The largest error or JSON body read into memory.
SMALL_BODY_LIMIT = 1 << 20
_LOOPBACK = ("127.", "::1", "localhost")
_WILDCARD = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, localhost)."""
    return host.startswith(_LOOPBACK) or host == "[::1]"


class HttpTarget(Address):
    """The data plane: a Unix socket ``path`` or TCP ``host``:``port``, the token, the timeout."""

    @property
    def netloc(self) -> str:
        """``HOST:PORT`` as a URL writes it (``[v6]:PORT``); ``ptpipd`` for the Unix socket."""
        return "ptpipd" if self.host is None else super().netloc

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (for the Unix socket: curl's ``http://ptpipd/…`` form)."""
        return f"http://{self.netloc}{path}"

    def __str__(self) -> str:
        return f"socket {self.path}" if self.host is None else f"http://{self.netloc}"

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        """Sends a request without a body; returns the response once its head has arrived."""
        sock = self.open(f"ptpipd's HTTP data plane at {self}")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.netloc}", f"User-Agent: ptpipctl/{__version__}"]
        lines.append("Connection: close")
        if method in ("POST", "PUT"):
            lines.append("Content-Length: 0")
        if self.token is not None and self.host is not None:
            lines.append(f"Authorization: Bearer {self.token}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        try:
            try:
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            except OSError as exc:
                raise DaemonUnreachable(
                    f"lost the connection to ptpipd's HTTP data plane at {self}: {exc}"
                ) from None
            return Response(sock, self, method)
        except BaseException:
            sock.close()
            raise


class Response:
    """A response: ``status``, ``reason``, ``headers`` (lower-case names), and its body to read."""

    def __init__(self, sock: _socket.socket, target: HttpTarget, method: str) -> None:
        self.sock, self.target = sock, target
        self._pending = bytearray()  # bytes received after the head, not yet handed out
        self.status, self.reason, self.headers = self._head()
        length = self.headers.get("content-length")
        self.length: int | None = None  # the body's announced length (Content-Length)
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        bodiless = method == "HEAD" or self.status in (204, 304)
        # body bytes left (Content-Length), or chunk bytes; None: up to the end of the connection
        self._left: int | None = 0 if bodiless or self.chunked else None
        self._done = bodiless
        self._first_chunk = True
        if length is not None and not bodiless and not self.chunked:
            if not length.strip().isdigit():
                raise self._broken(f"a malformed Content-Length {length[:40]!r}")
            self._left = self.length = int(length)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection (whatever is left of the body is dropped)."""
        self.sock.close()

    def _broken(self, why: str) -> CtlError:
        return CtlError(f"ptpipd's HTTP data plane at {self.target} sent {why}")

    def _lost(self, why: str) -> DaemonUnreachable:
        return DaemonUnreachable(f"lost the connection to ptpipd's HTTP data plane at {self.target}: {why}")

    def _recv_into(self, view: memoryview) -> int:
        try:
            return self.sock.recv_into(view)
        except TimeoutError:
            raise self._lost(f"nothing received for {self.target.timeout:g} s") from None
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None

    def _fill(self) -> bool:
        """Receives more into the pending bytes; False at the end of the connection."""
        chunk = bytearray(1 << 16)
        n = self._recv_into(memoryview(chunk))
        self._pending += memoryview(chunk)[:n]
        return n > 0

    def _head(self) -> tuple[int, str, dict[str, str]]:
        pending = self._pending
        while (end := pending.find(b"\r\n\r\n")) < 0:
            if pending[:5] != b"HTTP/"[: len(pending)]:  # e.g. the JSON-RPC socket given as --http
                raise self._broken(f"an answer that is not HTTP: {bytes(pending[:60])!r}")
            if len(pending) > HEAD_LIMIT:
                raise self._broken(f"a response head over {HEAD_LIMIT} bytes")
            if not self._fill():
                raise self._lost("the daemon closed the connection before answering")
        head = pending[:end].decode("latin-1").split("\r\n")
        del pending[: end + 4]
        version, _, rest = head[0].partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
            raise self._broken(f"a malformed status line {head[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise self._broken(f"a malformed header line {line[:80]!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        return int(code), reason, headers

    def _line(self) -> bytes:
        """One CRLF-terminated line of the chunked coding (without the CRLF)."""
        while (end := self._pending.find(b"\r\n")) < 0:
            if len(self._pending) > 8192:
                raise self._broken("a chunk-size line over 8 KiB")
            if not self._fill():
                raise self._lost("the daemon closed the connection in the middle of a chunked body")
        line = bytes(self._pending[:end])
        del self._pending[: end + 2]
        return line

    def _next_chunk(self) -> None:
        if not self._first_chunk and self._line():
            raise self._broken("a chunk not followed by CRLF")
        self._first_chunk = False
        size = self._line().split(b";", 1)[0].strip()
        try:
            self._left = int(size, 16)
        except ValueError:
            raise self._broken(f"a malformed chunk size {size[:20]!r}") from None
        if self._left == 0:
            while self._line():  # trailer fields, up to the empty line
                pass
            self._done = True

    def readinto(self, view: memoryview) -> int:
        """Fills the start of ``view`` with the next body bytes; how many (0: the body is complete).
        :class:`~ptpipctl.client.DaemonUnreachable` when the connection ends before the body does."""
        if self.chunked and not self._left and not self._done:
            self._next_chunk()
        if self._done or self._left == 0:
            return 0
        want = len(view) if self._left is None else min(len(view), self._left)
        if self._pending:
            n = min(want, len(self._pending))
            view[:n] = self._pending[:n]
            del self._pending[:n]
        else:
            n = self._recv_into(view[:want])
            if not n:
                if self._left is None:  # framed by the end of the connection
                    self._done = True
                    return 0
                raise self._lost(f"the daemon closed the connection {self._left} bytes before the body's end")
        if self._left is not None:
            self._left -= n
        return n

    @property
    def raw_left(self) -> int:
        """Body bytes still to come straight off the connection (a ``Content-Length`` body once nothing
        received is pending): what :meth:`splice_to` may move. 0 otherwise."""
        if self.chunked or self._pending or self._left is None:
            return 0
        return self._left

    def splice_to(self, pipe: int, most: int) -> int:
        """Moves up to ``most`` body bytes (at most :attr:`raw_left`) from the connection into the empty pipe
        ``pipe`` with splice(2), never through this process; how many. :class:`~ptpipctl.client.DaemonUnreachable`
        when the connection ends first or stays silent for the timeout."""
        want = min(most, self.raw_left)
        flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
        while True:
            try:
                n = os.splice(self.sock.fileno(), pipe, want, flags=flags)
                break
            except BlockingIOError:  # the socket is non-blocking (it has a timeout)
                poller = select.poll()
                poller.register(self.sock.fileno(), select.POLLIN)
                timeout = self.target.timeout
                if not poller.poll(None if timeout is None else timeout * 1000):
                    raise self._lost(f"nothing received for {timeout:g} s") from None
            except OSError as exc:
                raise self._lost(exc.strerror or str(exc)) from None
        if not n:
            raise self._lost(f"the daemon closed the connection {self._left} bytes before the body's end")
        self._left = self.raw_left - n
        return n

    def read(self, limit: int = SMALL_BODY_LIMIT) -> bytes:
        """The whole (small) body; :class:`~ptpipctl.client.CtlError` beyond ``limit`` bytes."""
        body = bytearray()
        buffer = memoryview(bytearray(1 << 16))
        while n := self.readinto(buffer):
            body += buffer[:n]
            if len(body) > limit:
                raise self._broken(f"a body over {limit} bytes where a short answer was expected")
        return bytes(body)

    def json(self) -> Any:
        """The body as JSON."""
        try:
            return loads(self.read().decode("utf-8"))
        except (UnicodeDecodeError, JSONError) as exc:
            raise self._broken(f"a body that is not JSON: {exc}") from None

    def check(self) -> Response:
        """Itself when the status is below 400; else the daemon's error, raised."""
        if self.status < 400:
            return self
        try:
            error = self.json().get("error")
        except (CtlError, AttributeError):
            error = None
        if not isinstance(error, dict):
            raise CtlError(f"ptpipd's HTTP data plane answered {self.status} {self.reason}".strip())
        raise RpcFailure.of(error)


# ------------------------------------------------------------------------------------------------ where


def parse_http_address(text: str) -> tuple[str | None, str, int]:
    """``--http``'s value: (socket path, or None; host; port)."""
    t = text.strip()
    if t.startswith(("/", ".")):
        return t, "", 0
    rest = t.removeprefix("http://").rstrip("/")
    if "/" in rest or rest.startswith("https:"):
        raise UsageError(
            f"invalid --http address {text!r}: expected HOST:PORT, http://HOST:PORT or a socket path"
        )
    host, port = parse_host_port(rest, DEFAULT_HTTP_PORT, "--http")
    return None, host, port


def sibling_socket(path: str) -> str:
    """The data plane's socket beside a JSON-RPC socket: ``DIR/NAME.sock`` → ``DIR/NAME-http.sock``."""
    directory, slash, name = path.rpartition("/")
    dot = name.rfind(".")
    stem = name[:dot] if 0 < dot < len(name) - 1 else name  # pathlib's stem, as the daemon computes it
    return f"{directory}{slash}{stem}-http.sock"


def reported(status: Any) -> tuple[list[tuple[str, int]], list[str]]:
    """The TCP listeners (host, port) and socket paths a ``status`` result lists under ``http.addresses``."""
    http = status.get("http") if isinstance(status, dict) else None
    addresses = http.get("addresses") if isinstance(http, dict) else None
    listed = [str(address) for address in addresses] if isinstance(addresses, list) else []
    urls = [text.removeprefix("http://") for text in listed if text.startswith("http://")]
    tcp = [parse_host_port(url.rstrip("/"), DEFAULT_HTTP_PORT) for url in urls]
    return tcp, [text for text in listed if not text.startswith("http://")]


def reachable_host(listening: str, used: str | None) -> str:
    """The host to reach a TCP listener on ``listening`` by: ``used`` (the host the user reaches the daemon
    by, None on its Unix socket) unless the daemon listens on one specific address off loopback; a wildcard
    address is loopback on the daemon's own machine."""
    if listening in _WILDCARD:
        return used or ("::1" if listening == "::" else "127.0.0.1")
    return used if used is not None and is_loopback(listening) else listening


def from_status(g: Globals, need_tcp: bool) -> HttpTarget:
    """The data plane's address from the daemon's ``status`` (``need_tcp``: a TCP one, for browsers)."""
    target = g.target()
    with target.connect() as conn:
        status = conn.call("status")
    tcp, unix = reported(status)
    if tcp:
        host, port = tcp[0]
        return HttpTarget(
            host=reachable_host(host, target.host), port=port, token=target.token, timeout=target.timeout
        )
    if unix and not need_tcp and target.host is None:
        return HttpTarget(path=unix[0], timeout=target.timeout)
    where = f" (only its Unix socket {unix[0]})" if unix else ""
    raise CtlError(
        f"ptpipd at {target} serves HTTP on no TCP address{where}: set [daemon] http, or give --http"
    )


def locate(g: Globals, *, need_tcp: bool = False) -> HttpTarget:
    """Where the data plane is (see the module's docstring); ``need_tcp``: a TCP address (browsers and
    players cannot use a Unix socket), which with a Unix-socket daemon comes from its ``status``."""
    target = g.target()
    text = g.http if g.http is not None else g.env.get(ENV_HTTP) or None
    if text:
        path, host, port = parse_http_address(text)
        if path is not None and need_tcp:
            raise UsageError(f"--http {text}: a browser or player needs a TCP address, not a socket")
        return HttpTarget(
            path=path,
            host=host if path is None else None,
            port=port,
            token=target.token,
            timeout=target.timeout,
        )
    if target.host is None and not need_tcp:
        return HttpTarget(path=sibling_socket(str(target.path)), timeout=target.timeout)
    return from_status(g, need_tcp)
