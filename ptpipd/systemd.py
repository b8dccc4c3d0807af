"""systemd integration without libsystemd: sd_notify messages and socket activation (LISTEN_FDS).

* :class:`Notifier` sends ``READY=1``, ``STATUS=…``, ``WATCHDOG=1`` and ``STOPPING=1`` to ``$NOTIFY_SOCKET``
  through the ``sdnotify`` package; without the variable it does nothing. The watchdog interval is ours.
* :func:`listen_fds` takes the sockets systemd passed (fd 3 onwards, when ``$LISTEN_PID`` is ours) and tells
  Unix from TCP ones, using ``$LISTEN_FDNAMES`` when set (``rpc``, ``rpc-tcp``, ``legacy``,
  ``http``, ``http-tcp``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import sdnotify

log = logging.getLogger(__name__)

SD_LISTEN_FDS_START = 3


class Notifier:
    """Sends sd_notify messages through :mod:`sdnotify`; a no-op when ``NOTIFY_SOCKET`` is not set.

    The watchdog interval comes from ``WATCHDOG_USEC``, for this process only when ``WATCHDOG_PID`` says so.
    """

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        self._notifier: sdnotify.SystemdNotifier | None = (
            sdnotify.SystemdNotifier() if env.get("NOTIFY_SOCKET") else None
        )
        if self._notifier is not None and self._notifier.socket is not None:
            # a reader that falls behind (its queue holds net.unix.max_dgram_qlen datagrams, 10 by default)
            # must not stop the event loop: the message is dropped instead (sdnotify ignores the error)
            self._notifier.socket.setblocking(False)
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        enabled = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        #: Seconds between WATCHDOG=1 pings (half the watchdog interval), or None when not watched.
        self.watchdog_interval: float | None = int(usec) / 2e6 if enabled else None

    def notify(self, *fields: str) -> None:
        """Sends one datagram with the given ``KEY=value`` fields (UTF-8, as systemd reads them)."""
        if self._notifier is not None:
            # sdnotify encodes as Latin-1 and drops a message it cannot encode: hand it the UTF-8 bytes
            self._notifier.notify("\n".join(fields).encode().decode("latin-1"))

    def ready(self, status: str) -> None:
        """``READY=1`` (call only once every listener is bound)."""
        self.notify("READY=1", f"STATUS={status}")

    def status(self, text: str) -> None:
        """``STATUS=`` line shown by ``systemctl status``."""
        self.notify(f"STATUS={text}")

    async def watchdog(self) -> None:
        """``WATCHDOG=1`` every half watchdog interval (:attr:`watchdog_interval`) for as long as it runs (a task
        of the daemon's); it ends at once when systemd does not watch this process."""
        while self.watchdog_interval is not None:
            self.notify("WATCHDOG=1")
            # a timer, not synchronisation: each ping proves the loop still runs
            await asyncio.sleep(self.watchdog_interval)

    def stopping(self) -> None:
        """``STOPPING=1``."""
        self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        """Closes the datagram socket."""
        notifier, self._notifier = self._notifier, None
        if notifier is not None and notifier.socket is not None:
            notifier.socket.close()


@dataclass
class ActivatedSockets:
    """Sockets received from systemd, sorted by role."""

    unix: list[socket.socket] = field(default_factory=list)
    tcp: list[socket.socket] = field(default_factory=list)
    legacy: list[socket.socket] = field(default_factory=list)
    http: list[socket.socket] = field(default_factory=list)
    #: descriptor → its name in ``LISTEN_FDNAMES`` (systemd's FileDescriptorName=), when it has one
    names: dict[int, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        """True when systemd passed at least one socket."""
        return bool(self.unix or self.tcp or self.legacy or self.http)

    def network(self) -> list[tuple[str, tuple[str, int], str]]:
        """The TCP sockets among them, for the rule on addresses off loopback: each as (its role: ``rpc_tcp``,
        ``http`` or ``legacy``; the address it is bound to; its name: ``the socket systemd passed as fd 3
        "rpc"``)."""
        out = []
        for role, socks in (("rpc_tcp", self.tcp), ("http", self.http), ("legacy", self.legacy)):
            for sock in socks:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    fd, (host, port) = sock.fileno(), sock.getsockname()[:2]
                    name = f' "{self.names[fd]}"' if fd in self.names else ""
                    out.append((role, (host, port), f"the socket systemd passed as fd {fd}{name}"))
        return out


def listen_fds(env: Mapping[str, str] = os.environ) -> ActivatedSockets:
    """The sockets of socket activation; empty when ``LISTEN_PID`` is not this process.

    Names from ``LISTEN_FDNAMES`` decide the role (``legacy`` → the text protocol, ``http`` and ``http-tcp``
    → the HTTP data plane); otherwise a Unix socket
    serves JSON-RPC on the socket path and an inet socket JSON-RPC over TCP.
    """
    out = ActivatedSockets()
    if env.get("LISTEN_PID") != str(os.getpid()):
        return out
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        return out
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    for i in range(count):
        fd = SD_LISTEN_FDS_START + i
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        name = names[i] if i < len(names) else ""
        if name:
            out.names[fd] = name
        if name == "legacy":
            out.legacy.append(sock)
        elif name in ("http", "http-tcp"):
            out.http.append(sock)
        elif sock.family == socket.AF_UNIX:
            out.unix.append(sock)
        else:
            out.tcp.append(sock)
    if env is os.environ:
        for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(key, None)  # children must not think the sockets are theirs
    return out
