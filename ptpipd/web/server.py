"""The data plane's server: bound sockets (a Unix socket and TCP from the daemon, or systemd's) served by one
aiohttp runner inside the daemon's event loop. :class:`WebServer` is an async context manager the daemon
enters on its exit stack; leaving it stops accepting, ends the live view and closes every connection
(bounded). At most ``max_connections`` connections are served at a time (:mod:`ptpipd.web.limits`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, Self

from aiohttp import web

from ptpipd.web.app import WebOptions, create_app
from ptpipd.web.backend import Backend
from ptpipd.web.limits import ConnectionCap
from ptpipd.web.liveview import LiveHub

log = logging.getLogger(__name__)


def address_of(sock: socket.socket) -> str:
    """``HOST:PORT`` or the path a socket listens on."""
    name = sock.getsockname()
    if isinstance(name, tuple):
        host = f"[{name[0]}]" if ":" in name[0] else name[0]
        return f"http://{host}:{name[1]}"
    return str(name)


class WebServer:
    """The data plane: the application, its live-view hub, and the listening sockets."""

    def __init__(self, backend: Backend, options: WebOptions | None = None) -> None:
        self.options = opts = options or WebOptions()
        self.hub = LiveHub(backend.frames, linger=opts.linger, max_viewers=opts.max_viewers)
        self.app = create_app(backend, self.hub, opts)
        self.runner = web.AppRunner(
            self.app,
            access_log=None,  # URLs may carry ?token=; the daemon logs events, not requests
            handler_cancellation=True,  # a client that goes away cancels its handler (and its download)
            keepalive_timeout=opts.idle_timeout,
            max_line_size=opts.max_line_size,
            max_field_size=opts.max_field_size,
            max_headers=opts.max_headers,
            shutdown_timeout=opts.shutdown_timeout,
        )
        self.cap = ConnectionCap(opts.max_connections)
        self.addresses: list[str] = []
        self._listeners: list[asyncio.AbstractServer] = []
        self._closed = False

    async def __aenter__(self) -> Self:
        await self.runner.setup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stops accepting, ends the live view, closes every connection (bounded); idempotent."""
        if self._closed:
            return
        self._closed = True
        for listener in self._listeners:
            listener.close()
        self.cap.close()
        await self.hub.aclose()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.runner.cleanup(), self.options.shutdown_timeout + 1.0)

    async def serve(self, sock: socket.socket) -> None:
        """Serves HTTP on a bound socket (the daemon's or systemd's); its address joins :attr:`addresses`."""
        server = self.runner.server
        assert server is not None, "serve() after the runner is set up"
        factory = self.cap.factory(server)
        self._listeners.append(await asyncio.get_running_loop().create_server(factory, sock=sock))
        self.addresses.append(address_of(sock))

    def status(self) -> dict[str, Any]:
        """``{http: {addresses, connections, tasks}, liveview: {running, viewers, fps, frames, starts}}``;
        ``connections`` counts the HTTP connections open right now (WebSockets and viewers included)."""
        server = self.runner.server
        return {
            "http": {
                "addresses": list(self.addresses),
                "connections": len(server.connections) if server is not None else 0,
                "tasks": len(asyncio.all_tasks()),
            },
            "liveview": self.hub.status(),
        }
