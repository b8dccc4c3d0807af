"""JSON-RPC 2.0 over NDJSON to ptpipd, on its Unix socket or over TCP (DESIGN.md §4). Imports nothing from ptpipd.

Start-up time matters (``ptpipctl get iso`` should cost little more than starting Python), so this module
uses only modules Python has already loaded at start-up plus the C modules ``_socket`` and ``_json``
(through :mod:`ptpipctl.jsonio`): no :mod:`socket` (enum, selectors…), no :mod:`json` (re…), no
:mod:`typing` at run time.

Where the daemon is (:func:`resolve_target`):

* ``--socket PATH``, ``--tcp HOST:PORT`` or ``--instance NAME`` on the command line (at most one of them);
* else the environment: ``PTPIPCTL_SOCKET``, then ``PTPIPCTL_TCP``, then ``PTPIPCTL_INSTANCE``;
* else the daemon's default socket: ``/run/ptpipd/ptpipd.sock`` as root, else
  ``$XDG_RUNTIME_DIR/ptpipd/ptpipd.sock``, else ``/tmp/ptpipd-$UID/ptpipd.sock`` (the rule of
  ``ptpipd.config.default_runtime_dir``, duplicated here on purpose).

An instance ``NAME`` is the socket ``NAME.sock`` in that same directory (``/run/ptpipd/NAME.sock`` as root).
A token (``--token``/``PTPIPCTL_TOKEN``) is sent with an ``auth`` call first, over TCP only: Unix-socket
clients are trusted by the socket's mode, and the daemon refuses ``auth`` when it has no token.
"""

from __future__ import annotations

import _socket
import os

from ptpipctl.jsonio import JSONError, dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 105

DEFAULT_TCP_PORT = 15741
DEFAULT_TIMEOUT = 120.0
ENV_SOCKET = "PTPIPCTL_SOCKET"
ENV_TCP = "PTPIPCTL_TCP"
ENV_TOKEN = "PTPIPCTL_TOKEN"
ENV_INSTANCE = "PTPIPCTL_INSTANCE"
ENV_TIMEOUT = "PTPIPCTL_TIMEOUT"

_CHUNK = 1 << 18


class CtlError(Exception):
    """A failure that ends the command with ``exit_code`` and one line on stderr."""

    exit_code = EXIT_ERROR


class UsageError(CtlError):
    """The command line is wrong (exit 2)."""

    exit_code = EXIT_USAGE


class DaemonUnreachable(CtlError):
    """The daemon cannot be reached, or the connection broke (exit 105)."""

    exit_code = EXIT_UNREACHABLE


class RpcFailure(CtlError):
    """The daemon answered with a JSON-RPC error (exit 1): its code, message and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return describe_error(self.code, self.message, self.data)


def describe_error(code: int, message: str, data: Any) -> str:
    """One line for a JSON-RPC error: the daemon's message, completed from ``data`` where it says more."""
    text = " ".join(str(message).split())
    if code == -32602 and isinstance(data, list):  # pydantic's errors
        problems = []
        for item in data:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                problems.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
        if problems:
            text = f"{text}: {'; '.join(problems)}"
    elif code == -32004 and isinstance(data, dict) and data.get("known") and "known:" not in text:
        text = f"{text} (known: {', '.join(str(k) for k in data['known'])})"
    elif code == -32601 and isinstance(data, str) and data not in text:
        text = f"{text}: {data}"
    return text


# ------------------------------------------------------------------------------------------------ target


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def runtime_dir(env: Mapping[str, str]) -> str:
    """The daemon's socket directory: ``/run/ptpipd`` as root, ``$XDG_RUNTIME_DIR/ptpipd``, ``/tmp/ptpipd-UID``."""
    if _is_root():
        return SYSTEM_RUNTIME_DIR
    xdg = env.get("XDG_RUNTIME_DIR")
    if xdg:
        return f"{xdg.rstrip('/')}/ptpipd"
    return f"/tmp/ptpipd-{os.getuid()}"


SYSTEM_RUNTIME_DIR = "/run/ptpipd"


def instance_socket(name: str, env: Mapping[str, str]) -> str:
    """The socket of instance ``name`` (``ptpipd`` is the default instance).

    As a user: your own daemon's socket when it exists, else the system service's ``/run/ptpipd/NAME.sock``
    when that exists (members of the ptpipd group may use it), else your own (for the error message).
    """
    if not name or "/" in name or name in (".", "..") or "\x00" in name:
        raise UsageError(f"invalid instance name {name!r}: use a plain name such as 'studio'")
    own = f"{runtime_dir(env)}/{name}.sock"
    system = f"{SYSTEM_RUNTIME_DIR}/{name}.sock"
    if own != system and not os.path.exists(own) and os.path.exists(system):
        return system
    return own


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` (port 15741), ``:PORT`` (host 127.0.0.1) or ``[v6]:PORT``."""
    t = text.strip()
    if t.startswith("["):
        host, sep, rest = t[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"invalid --tcp address {text!r}: expected HOST:PORT")
        port = rest[1:]
    elif t.count(":") == 1:
        host, port = t.split(":")
    elif ":" in t:
        host, port = t, ""  # a bare IPv6 address
    else:
        host, port = t, ""
    if not port:
        number = DEFAULT_TCP_PORT
    elif port.isdigit() and 0 < int(port) <= 65535:
        number = int(port)
    else:
        raise UsageError(f"invalid --tcp address {text!r}: the port must be 1-65535")
    return host or "127.0.0.1", number


class Target:
    """Where and how to reach the daemon: a Unix socket path or a TCP address, a token, a timeout."""

    __slots__ = ("host", "path", "port", "timeout", "token")

    def __init__(
        self,
        *,
        path: str | None = None,
        host: str | None = None,
        port: int = DEFAULT_TCP_PORT,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.path = path
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout

    @property
    def is_tcp(self) -> bool:
        """True for a TCP address."""
        return self.host is not None

    def __str__(self) -> str:
        if self.host is not None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"{host}:{self.port}"
        return str(self.path)

    def connect(self) -> Connection:
        """A new connection (authenticated when there is a token and this is TCP)."""
        return Connection(self)


def resolve_target(
    *,
    socket: str | None,
    tcp: str | None,
    instance: str | None,
    token: str | None,
    timeout: float | None,
    env: Mapping[str, str],
) -> Target:
    """The target of the global options (given on the command line, not from the environment) and ``env``."""
    given = [
        name for name, value in (("--socket", socket), ("--tcp", tcp), ("--instance", instance)) if value
    ]
    if len(given) > 1:
        raise UsageError(f"give only one of {', '.join(given)}")
    if not given:
        socket = env.get(ENV_SOCKET) or None
        tcp = None if socket else env.get(ENV_TCP) or None
        instance = None if socket or tcp else env.get(ENV_INSTANCE) or None
    if token is None:
        token = env.get(ENV_TOKEN) or None
    if timeout is None:
        raw = env.get(ENV_TIMEOUT)
        if raw:
            try:
                timeout = float(raw)
            except ValueError:
                raise UsageError(f"{ENV_TIMEOUT}: not a number of seconds: {raw!r}") from None
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if not timeout > 0 or timeout == float("inf"):
        raise UsageError(f"the timeout must be a positive number of seconds, not {timeout}")
    if tcp:
        host, port = parse_host_port(tcp)
        return Target(host=host, port=port, token=token, timeout=timeout)
    if socket:
        return Target(path=socket, token=token, timeout=timeout)
    return Target(path=instance_socket(instance or "ptpipd", env), token=token, timeout=timeout)


# ------------------------------------------------------------------------------------------------ connection


class Connection:
    """One NDJSON connection: requests out, responses in order; notifications are kept aside."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._ids = 0
        self._buffer = bytearray()
        self.notifications: list[dict[str, Any]] = []
        self._sock = self._open(target)
        if target.token is not None and target.is_tcp:
            self.call("auth", {"token": target.token})

    @staticmethod
    def _open(target: Target) -> _socket.socket:
        sock: _socket.socket | None = None
        try:
            if target.host is None:
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                sock.settimeout(target.timeout)
                sock.connect(str(target.path))
            else:
                infos = _socket.getaddrinfo(target.host, target.port, 0, _socket.SOCK_STREAM)
                family, kind, proto, _, address = infos[0]
                sock = _socket.socket(family, kind, proto)
                sock.settimeout(target.timeout)
                sock.connect(address)
        except OSError as exc:
            if sock is not None:
                sock.close()
            where = f"socket {target}" if target.host is None else str(target)
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise DaemonUnreachable(f"cannot reach ptpipd at {where}: {reason}") from None
        return sock

    def close(self) -> None:
        """Closes the connection."""
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lost(self, why: str) -> DaemonUnreachable:
        return DaemonUnreachable(f"lost the connection to ptpipd at {self.target}: {why}")

    def send(self, method: str, params: Any = None) -> int:
        """Sends one request; returns its id."""
        self._ids += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self._ids}
        if params is not None:
            request["params"] = params
        try:
            self._sock.sendall(dumps(request).encode() + b"\n")
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None
        return self._ids

    def read_message(
        self, *, progress: Callable[[int], None] | None = None, timeout: float | None = -1.0
    ) -> Any:
        """The next message from the daemon. ``progress`` is told how many bytes of it have arrived so far;
        ``timeout`` None waits forever, the default is the target's."""
        line = self._line(progress, self.target.timeout if timeout == -1.0 else timeout)
        if line is None:
            raise self._lost(f"no answer within {self.target.timeout:g} s")
        return _decode(line)

    def _line(self, progress: Callable[[int], None] | None, timeout: float | None) -> bytes | None:
        """The next line without its newline; None when ``timeout`` passes first (what came is kept)."""
        self._sock.settimeout(timeout)
        buffer = self._buffer
        searched = 0
        while (end := buffer.find(b"\n", searched)) < 0:
            searched = len(buffer)
            if progress is not None and searched:
                progress(searched)
            try:
                chunk = self._sock.recv(_CHUNK)
            except TimeoutError:
                return None
            except OSError as exc:
                raise self._lost(exc.strerror or str(exc)) from None
            if not chunk:
                raise self._lost("the daemon closed the connection")
            buffer += chunk
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if progress is not None:
            progress(end + 1)
        return line

    def notification(self, timeout: float | None) -> dict[str, Any] | None:
        """The next notification (after :meth:`call` ``subscribe``); None when ``timeout`` seconds pass
        first (None: wait for ever)."""
        while not self.notifications:
            line = self._line(None, timeout)
            if line is None:
                return None
            message = _decode(line)
            if isinstance(message, dict) and "method" in message and "id" not in message:
                return message
        return self.notifications.pop(0)

    def response(self, request_id: int, *, progress: Callable[[int], None] | None = None) -> Any:
        """The result of request ``request_id``; :class:`RpcFailure` for an error response."""
        while True:
            message = self.read_message(progress=progress)
            if isinstance(message, dict) and "id" not in message and "method" in message:
                self.notifications.append(message)
                continue
            if not isinstance(message, dict) or message.get("id") != request_id:
                if isinstance(message, dict) and "error" in message and message.get("id") is None:
                    raise _failure(message["error"])
                raise CtlError(f"unexpected message from the daemon: {str(message)[:200]}")
            if "error" in message:
                raise _failure(message["error"])
            return message.get("result")

    def call(self, method: str, params: Any = None, *, progress: Callable[[int], None] | None = None) -> Any:
        """Sends a request and returns its result."""
        return self.response(self.send(method, params), progress=progress)


def _decode(line: bytes) -> Any:
    try:
        return loads(line.decode("utf-8"))
    except (UnicodeDecodeError, JSONError) as exc:
        raise CtlError(f"the daemon sent a line that is not JSON: {exc}") from None


def _failure(error: Any) -> RpcFailure:
    if not isinstance(error, dict):
        return RpcFailure(-32603, f"malformed error from the daemon: {error!r}")
    code = error.get("code")
    return RpcFailure(
        code if isinstance(code, int) else -32603, str(error.get("message", "error")), error.get("data")
    )


def call(target: Target, method: str, params: Any = None, **kwargs: Any) -> Any:
    """One request on a new connection: its result, or :class:`RpcFailure`/:class:`DaemonUnreachable`."""
    with Connection(target) as conn:
        return conn.call(method, params, **kwargs)
