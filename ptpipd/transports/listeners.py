"""Opening the listening sockets: a Unix socket (mode 0660, stale file handled) and TCP, or sockets
handed over by systemd."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import stat
from pathlib import Path

from ptpipd.transports.handler import ClientHandler
from ptpipd.transports.lines import MAX_LINE

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


async def serve_unix(
    handler: ClientHandler,
    path: Path,
    *,
    mode: int = 0o660,
    group: str | None = None,
    sock: socket.socket | None = None,
) -> asyncio.Server:
    """The Unix-socket listener (bound at ``path``, or the given socket from systemd)."""
    if sock is not None:
        return await asyncio.start_unix_server(handler, sock=sock, limit=MAX_LINE)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_socket(path)
    old = os.umask(0o117)  # no window in which the socket is more open than 0660
    try:
        server = await asyncio.start_unix_server(handler, path=str(path), limit=MAX_LINE)
    finally:
        os.umask(old)
    os.chmod(path, mode)
    if group:
        import grp

        with contextlib.suppress(KeyError, PermissionError):
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
    return server


async def serve_tcp(
    handler: ClientHandler, host: str = "127.0.0.1", port: int = 15741, *, sock: socket.socket | None = None
) -> asyncio.Server:
    """The TCP listener (NDJSON JSON-RPC)."""
    if sock is not None:
        return await asyncio.start_server(handler, sock=sock, limit=MAX_LINE)
    return await asyncio.start_server(handler, host, port, limit=MAX_LINE, reuse_address=True)


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


def bound_address(server: asyncio.Server) -> str:
    """``HOST:PORT`` or the path a server listens on."""
    sockname = server.sockets[0].getsockname()
    if isinstance(sockname, tuple):
        return f"{sockname[0]}:{sockname[1]}"
    return str(sockname)
