"""JSON-RPC 2.0 over NDJSON to ptpipd, on its Unix socket or over TCP (DESIGN.md §4). Imports nothing from
ptpipd, and for start-up time only modules Python has loaded already, plus ``_socket`` (:mod:`socket`
pulls in enum and selectors) and :mod:`ptpipctl.jsonio` (:mod:`json` pulls in re).

Where the daemon is (:meth:`Globals.target`): ``--socket PATH``, ``--tcp HOST:PORT`` or ``--instance NAME``
on the command line (at most one); else ``PTPIPCTL_SOCKET``, ``PTPIPCTL_TCP``, ``PTPIPCTL_INSTANCE``; else the
daemon's default socket, ``/run/ptpipd/ptpipd.sock`` as root, else ``$XDG_RUNTIME_DIR/ptpipd/ptpipd.sock``,
else ``/tmp/ptpipd-$UID/ptpipd.sock`` (``ptpipd.config.default_runtime_dir``'s rule, duplicated on purpose).
Instance ``NAME`` is ``NAME.sock`` in that directory. A token is sent with an ``auth`` call first, over TCP
only: Unix-socket clients are trusted by the socket's mode. Pictures and the live view come over the
daemon's HTTP data plane instead: :mod:`ptpipctl.httpclient`.
"""

from __future__ import annotations

import _socket
import os

from ptpipctl.jsonio import JSONError, dumps, loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

DEFAULT_TCP_PORT = 15741
DEFAULT_TIMEOUT = 120.0
SYSTEM_RUNTIME_DIR = "/run/ptpipd"
ENV_SOCKET = "PTPIPCTL_SOCKET"
ENV_TCP = "PTPIPCTL_TCP"
ENV_TOKEN = "PTPIPCTL_TOKEN"
ENV_INSTANCE = "PTPIPCTL_INSTANCE"
ENV_TIMEOUT = "PTPIPCTL_TIMEOUT"
ENV_HTTP = "PTPIPCTL_HTTP"
_CHUNK = 1 << 18


class CtlError(Exception):
    """A failure that ends the command with ``exit_code`` and one line on stderr."""

    exit_code = 1


class UsageError(CtlError):
    """The command line is wrong (exit 2)."""

    exit_code = 2


class DaemonUnreachable(CtlError):
    """The daemon cannot be reached, or the connection broke (exit 105)."""

    exit_code = 105


class RpcFailure(CtlError):
    """The daemon answered with a JSON-RPC error (exit 1): its code, message and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def __str__(self) -> str:
        return describe_error(self.code, self.message, self.data)

    @classmethod
    def of(cls, error: Any) -> RpcFailure:
        """The failure an ``error`` object of the daemon's answer (JSON-RPC, or the data plane's) says."""
        if not isinstance(error, dict):
            return cls(-32603, f"malformed error from the daemon: {error!r}")
        code = error.get("code")
        return cls(
            code if isinstance(code, int) else -32603, str(error.get("message", "error")), error.get("data")
        )


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
    return f"{xdg.rstrip('/')}/ptpipd" if xdg else f"/tmp/ptpipd-{os.getuid()}"


def instance_socket(name: str, env: Mapping[str, str]) -> str:
    """The socket of instance ``name`` (``ptpipd`` is the default instance): your own daemon's when it
    exists, else the system service's when that exists (the ptpipd group may use it), else your own."""
    if not name or "/" in name or name in (".", "..") or "\x00" in name:
        raise UsageError(f"invalid instance name {name!r}: use a plain name such as 'studio'")
    own = f"{runtime_dir(env)}/{name}.sock"
    system = f"{SYSTEM_RUNTIME_DIR}/{name}.sock"
    return system if own != system and not os.path.exists(own) and os.path.exists(system) else own


def parse_host_port(
    text: str, default_port: int = DEFAULT_TCP_PORT, option: str = "--tcp"
) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` (port ``default_port``), ``:PORT`` (host 127.0.0.1) or ``[v6]:PORT``."""
    t = text.strip()
    host, port = (t, "") if t.count(":") != 1 else t.split(":")  # a bare IPv6 address has several
    if t.startswith("["):
        host, sep, rest = t[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"invalid {option} address {text!r}: expected HOST:PORT")
        port = rest[1:]
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        raise UsageError(f"invalid {option} address {text!r}: the port must be 1-65535")
    return host or "127.0.0.1", int(port) if port else default_port


class Address:
    """A listener of the daemon: a Unix socket ``path`` or TCP ``host``:``port``, the token, the timeout."""

    def __init__(
        self,
        *,
        path: str | None = None,
        host: str | None = None,
        port: int = DEFAULT_TCP_PORT,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.path, self.host, self.port, self.token, self.timeout = path, host, port, token, timeout

    @property
    def netloc(self) -> str:
        """``HOST:PORT`` as a URL writes it (``[v6]:PORT``)."""
        return f"[{self.host}]:{self.port}" if ":" in str(self.host) else f"{self.host}:{self.port}"

    def open(self, what: str) -> _socket.socket:
        """A stream socket connected to it; when that fails, :class:`DaemonUnreachable` saying it cannot reach
        ``what`` and why."""
        sock: _socket.socket | None = None
        try:
            if self.host is None:
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                address: Any = str(self.path)
            else:
                family, kind, proto, _, address = _socket.getaddrinfo(
                    self.host, self.port, 0, _socket.SOCK_STREAM
                )[0]
                sock = _socket.socket(family, kind, proto)
            sock.settimeout(self.timeout)
            sock.connect(address)
        except OSError as exc:
            if sock is not None:
                sock.close()
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise DaemonUnreachable(f"cannot reach {what}: {reason}") from None
        return sock


class Target(Address):
    """Where and how to reach the daemon's JSON-RPC."""

    def __str__(self) -> str:
        return str(self.path) if self.host is None else self.netloc

    def connect(self) -> Connection:
        """A new connection (authenticated when there is a token and this is TCP)."""
        return Connection(self)


class Globals:
    """The global options as given on the command line (None: not given; then the environment decides)."""

    def __init__(
        self,
        *,
        socket: str | None = None,
        tcp: str | None = None,
        token: str | None = None,
        instance: str | None = None,
        timeout: str | float | None = None,
        http: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.socket, self.tcp, self.token, self.instance, self.timeout = socket, tcp, token, instance, timeout
        self.http = http  # the data plane's address (ptpipctl.httpclient.locate reads it)
        self.env = os.environ if env is None else env

    def target(self) -> Target:
        """Where the daemon is: the command line's address options as a group, else the environment's."""
        env, socket, tcp, instance = self.env, self.socket, self.tcp, self.instance
        given = [
            name for name, value in (("--socket", socket), ("--tcp", tcp), ("--instance", instance)) if value
        ]
        if len(given) > 1:
            raise UsageError(f"give only one of {', '.join(given)}")
        if not given:
            socket = env.get(ENV_SOCKET) or None
            tcp = None if socket else env.get(ENV_TCP) or None
            instance = None if socket or tcp else env.get(ENV_INSTANCE) or None
        token = self.token if self.token is not None else env.get(ENV_TOKEN) or None
        timeout = _seconds(self.timeout, "--timeout") if self.timeout is not None else None
        if timeout is None:
            timeout = _seconds(env.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT, ENV_TIMEOUT)
        if tcp:
            host, port = parse_host_port(tcp)
            return Target(host=host, port=port, token=token, timeout=timeout)
        return Target(path=socket or instance_socket(instance or "ptpipd", env), token=token, timeout=timeout)


def _seconds(value: str | float, where: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"{where}: not a number of seconds: {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise UsageError(f"the timeout must be a positive number of seconds, not {seconds}")
    return seconds


# ------------------------------------------------------------------------------------------------ connection


class Connection:
    """One NDJSON connection: requests out, responses in order; notifications are kept aside."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._ids = 0
        self._buffer = bytearray()
        self.notifications: list[dict[str, Any]] = []
        self._sock = target.open(f"ptpipd at {'socket ' if target.host is None else ''}{target}")
        if target.token is not None and target.host is not None:
            self.call("auth", {"token": target.token})

    def close(self) -> None:
        """Closes the connection."""
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lost(self, why: str) -> DaemonUnreachable:
        return DaemonUnreachable(f"lost the connection to ptpipd at {self.target}: {why}")

    def call(self, method: str, params: Any = None, *, progress: Callable[[int], None] | None = None) -> Any:
        """Sends a request and returns its result (:class:`RpcFailure` for an error response).
        ``progress`` is told how many bytes of the answer have arrived so far."""
        self._ids += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self._ids}
        if params is not None:
            request["params"] = params
        try:
            self._sock.sendall(dumps(request).encode() + b"\n")
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None
        while True:
            message = self._message(progress, self.target.timeout)
            if not isinstance(message, dict):
                raise CtlError(f"unexpected message from the daemon: {str(message)[:200]}")
            if "id" not in message and "method" in message:
                self.notifications.append(message)
            elif "error" in message and message.get("id") in (self._ids, None):
                raise RpcFailure.of(message["error"])
            elif message.get("id") != self._ids:
                raise CtlError(f"unexpected message from the daemon: {str(message)[:200]}")
            else:
                return message.get("result")

    def notification(self, timeout: float | None) -> dict[str, Any] | None:
        """The next notification (after ``subscribe``); None when ``timeout`` seconds pass first (None:
        wait for ever). Responses are ignored."""
        while not self.notifications:
            message = self._message(None, timeout, idle_ok=True)
            if message is None:
                return None
            if isinstance(message, dict) and "method" in message and "id" not in message:
                return message
        return self.notifications.pop(0)

    def _message(
        self, progress: Callable[[int], None] | None, timeout: float | None, idle_ok: bool = False
    ) -> Any:
        """The next message; on a timeout None when ``idle_ok`` (what came of it is kept), else an error."""
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
                if idle_ok:
                    return None
                raise self._lost(f"no answer within {timeout:g} s") from None
            except OSError as exc:
                raise self._lost(exc.strerror or str(exc)) from None
            if not chunk:
                raise self._lost("the daemon closed the connection")
            buffer += chunk
        try:
            with memoryview(buffer) as view:  # no copy of a large line before it is decoded
                text = str(view[:end], "utf-8")
            del buffer[: end + 1]
            if progress is not None:
                progress(end + 1)
            return loads(text)
        except (UnicodeDecodeError, JSONError) as exc:
            raise CtlError(f"the daemon sent a line that is not JSON: {exc}") from None
