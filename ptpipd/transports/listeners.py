"""The listening sockets: a Unix socket (mode 0660, stale file handled) and TCP, or sockets handed over by
systemd; each a :class:`Listener` that counts and closes its own connections."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import logging
import os
import socket
import stat
from pathlib import Path
from typing import Any, Protocol, Self

from ptpipd.net import CLOSED_HERE, format_host_port, linger
from ptpipd.rpc.dispatcher import MAX_MESSAGE

log = logging.getLogger(__name__)


class SocketInUse(Exception):
    """Another process already serves the Unix socket path."""


def clear_stale_socket(path: Path) -> None:
    """Removes a socket file left by a dead daemon; refuses when a live one answers on it."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SocketInUse(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            log.info("removing stale socket %s", path)
            path.unlink(missing_ok=True)
            return
        raise
    else:
        raise SocketInUse(f"another ptpipd already listens on {path}")
    finally:
        probe.close()


#: How long closing connections may take at shutdown before their handlers are cancelled.
CLOSE_WAIT = 0.5
#: Connections each listener serves at a time unless told otherwise (``[daemon] max_connections``): room for
#: a hundred scripts and pages at once (the reliability soak runs 100 clients), well inside 1024 descriptors.
MAX_CONNECTIONS = 256
#: A refused connection: how long, and how much, its input is read and dropped after the refusal line.
REFUSAL_LINGER_SECONDS = 1.0
REFUSAL_LINGER_BYTES = 1 << 16


class ConnectionHandler(Protocol):
    """Serves one connection; says what a connection over the listener's cap is told."""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None: ...

    def refusal(self, limit: int) -> bytes:
        """The one line (newline included) sent to a connection refused because ``limit`` are open."""
        ...


class Listener:
    """One listening socket and the connections it accepted: it counts them, refuses those over its cap,
    and closes them.

    A connection beyond ``max_connections`` gets the handler's one refusal line and is closed (each served
    connection may buffer two request lines, so the cap also bounds the memory clients can make the daemon
    hold). The daemon enters the listener on its exit stack; leaving stops accepting, closes every connection
    still open (keep-open legacy clients included) and waits, bounded, for their handlers to end.
    """

    def __init__(self, handler: ConnectionHandler, max_connections: int = MAX_CONNECTIONS) -> None:
        self.handler = handler
        self.max_connections = max_connections
        self.server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._refused: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._full = False  # said once in the log each time the listener fills up
        #: The Unix socket file this listener bound (path, identity), removed when it stops accepting; None for
        #: TCP and for sockets handed over by systemd (those stay where they are)
        self.socket_file: tuple[Path, tuple[int, int] | None] | None = None

    @property
    def clients(self) -> int:
        """Connections open right now (the cap counts the same): not those their handler has closed with
        nothing left to send, whose descriptor the event loop frees a turn or two later (uvloop's one more
        than asyncio's); one still sending what is left counts until it is done, and one the client reset
        counts until its handler ends (it may still be serving a request)."""
        return sum(_holding(writer) for writer in self._connections.values())

    @property
    def address(self) -> str:
        """``HOST:PORT`` or the path it listens on."""
        if self.server is None or not self.server.sockets:
            return "(closed listener)"
        sockname = self.server.sockets[0].getsockname()
        return f"{sockname[0]}:{sockname[1]}" if isinstance(sockname, tuple) else str(sockname)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        full = self.clients >= self.max_connections
        table = self._refused if full else self._connections
        table[task] = writer
        try:
            if full:
                await self._refuse(reader, writer)
            else:
                self._full = False
                await self.handler(reader, writer)
        except asyncio.CancelledError:
            log.debug("connection closed at shutdown")  # nobody awaits this task: end it quietly
        except (ConnectionError, OSError) as exc:
            log.debug("connection: %s", exc)
        finally:
            del table[task]
            writer.close()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._full:
            self._full = True
            log.warning(
                "%s: %d connections open, refusing more until one closes", self.address, self.max_connections
            )
        writer.write(self.handler.refusal(self.max_connections))
        await linger(reader, writer, REFUSAL_LINGER_SECONDS, REFUSAL_LINGER_BYTES)

    def stop_accepting(self) -> None:
        """Closes the listening socket and removes the socket file it bound; open connections go on."""
        if self.server is not None:
            self.server.close()
        if self.socket_file is not None:
            remove_socket_file(*self.socket_file)
            self.socket_file = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stops accepting, closes every connection and waits for their handlers: at most 2 × ``CLOSE_WAIT``
        (then they are cancelled). Idempotent."""
        self.stop_accepting()
        for writer in [*self._connections.values(), *self._refused.values()]:
            writer.close()
        tasks = [*self._connections, *self._refused]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CLOSE_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=CLOSE_WAIT)


def _holding(writer: asyncio.StreamWriter) -> bool:
    """The connection holds more than its descriptor for a loop turn: not closed by its handler
    (:data:`~ptpipd.net.CLOSED_HERE`), or closed with bytes still to send."""
    return writer not in CLOSED_HERE or writer.transport.get_write_buffer_size() > 0


async def serve(
    handler: ConnectionHandler,
    address: Path | tuple[str, int] | socket.socket,
    *,
    mode: int = 0o660,
    group: str | None = None,
    limit: int = MAX_MESSAGE,
    max_connections: int = MAX_CONNECTIONS,
) -> Listener:
    """A listener on a Unix socket bound at a path (``mode``, ``group``: :func:`bind_unix`; the listener
    removes the file when it stops accepting), on TCP ``(host, port)``, or on a bound socket (systemd's).
    NDJSON JSON-RPC by default; the legacy text protocol passes its own line limit.

    Raises:
        CannotBind: the address cannot be bound (in use, no such address, no permission); it is named.
        SocketInUse: another daemon serves the Unix socket path, or a file that is no socket is in the way.
    """
    listener = Listener(handler, max_connections)
    if isinstance(address, Path):
        await _serve_unix(listener, address, mode, group, limit)
    elif isinstance(address, tuple):
        try:
            listener.server = await asyncio.start_server(listener, *address, limit=limit, reuse_address=True)
        except OSError as exc:
            raise CannotBind(format_host_port(*address), exc) from exc
    else:  # systemd's: its file, if any, stays where it is
        listener.server = await asyncio.start_server(listener, sock=address, limit=limit)
    return listener


async def _serve_unix(listener: Listener, path: Path, mode: int, group: str | None, limit: int) -> None:
    """Binds ``path`` and serves it; from the bind on, the listener owns the file (a failure removes it)."""
    sock = bind_unix(path, mode, group)
    listener.socket_file = (path, socket_file_identity(path))
    try:
        listener.server = await asyncio.start_server(listener, sock=sock, limit=limit)
    except BaseException:
        sock.close()
        listener.stop_accepting()
        raise


def socket_file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the socket file at ``path``, to recognise it later; None when there is none."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def remove_socket_file(path: Path, identity: tuple[int, int] | None) -> None:
    """Removes the socket file this daemon bound, unless it has been replaced since (by another daemon)."""
    if identity is not None and socket_file_identity(path) == identity:
        with contextlib.suppress(OSError):
            path.unlink()


def bind_unix(path: Path, mode: int = 0o660, group: str | None = None) -> socket.socket:
    """A Unix socket bound at ``path`` with ``mode`` (never more open, not even for an instant), given to
    ``group`` (a name or a numeric GID; the settings checked that it exists) when the daemon may."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise CannotBind(str(path), exc) from exc
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, mode)
    if group:
        _give_to_group(path, group)
    return sock


def _give_to_group(path: Path, group: str) -> None:
    """chgrp; a daemon that may not (its user is not in the group) says so and goes on: the socket stays in
    its own group, which its own users can still use."""
    try:
        os.chown(path, -1, int(group) if group.isdigit() else grp.getgrnam(group).gr_gid)
    except (KeyError, OSError) as exc:
        reason = "no such group" if isinstance(exc, KeyError) else exc.strerror or str(exc)
        log.warning(
            "cannot give %s to group %s (%s): it stays in group %d; the daemon's user must be a member of %s",
            path,
            group,
            reason,
            path.stat().st_gid,
            group,
        )


class CannotBind(OSError):
    """A listening socket could not be bound; the message names its address: ``127.0.0.1:15780: Address
    already in use``."""

    def __init__(self, address: str, exc: OSError) -> None:
        # asyncio words it "error while attempting to bind on address (…): address already in use"
        known = exc.errno is not None and exc.errno > 0 and not isinstance(exc, socket.gaierror)
        reason = os.strerror(exc.errno) if known and exc.errno is not None else exc.strerror or str(exc)
        super().__init__(exc.errno, f"{address}: {reason}")

    def __str__(self) -> str:
        return str(self.strerror)


def bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (with address reuse, as the JSON-RPC listener)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotBind(format_host_port(host, port), exc) from exc
    except BaseException:
        sock.close()
        raise
    return sock
