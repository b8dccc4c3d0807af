"""Fixtures for the data-plane tests: simulators and daemons as subprocesses, reached over real sockets.

A daemon here serves HTTP on a free loopback port (``--http 127.0.0.1:0``); its address comes from the
daemon's own READY status line. The 1 GiB simulator (``big_sim``, tests/conftest.py) is built once per session
(it takes seconds) and shared with ptpipctl's tests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import camera_args
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim

GIB = 1 << 30
HTTP_ADDRESS = re.compile(r"http://(127\.0\.0\.1|[0-9.]+):(\d+)")


@dataclass
class Web:
    """A daemon with its HTTP data plane: ``host``, ``port``, the Unix socket, and the process."""

    daemon: DaemonProcess
    host: str
    port: int
    unix: Path

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: (status, headers, body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def get_json(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, _, body = self.request("GET", path, headers=headers)
        return status, json.loads(body)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def http_port(daemon: DaemonProcess, host: str = "127.0.0.1") -> int:
    """The data plane's TCP port, from the daemon's READY status line."""
    ready = daemon.notify.wait_for("READY", "1", timeout=0)
    for match in HTTP_ADDRESS.finditer(ready["STATUS"]):
        if match.group(1) == host:
            return int(match.group(2))
    raise AssertionError(f"no http://{host}:PORT in {ready['STATUS']!r}")


@contextlib.contextmanager
def running_web(
    workdir: Path, sim: SimProcess, vendor: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[Web]:
    """A daemon connected to ``sim`` with HTTP on a free loopback port."""
    with running_daemon(workdir, *camera_args(sim, vendor), "--http", "127.0.0.1:0", *args, env=env) as d:
        d.wait_connected()
        yield Web(d, "127.0.0.1", http_port(d), d.socket_path.parent / "ptpipd-http.sock")


@pytest.fixture(scope="module")
def big_web(big_sim: SimProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    env = {"PTPIPD_HTTP_TIMEOUT": "2"}  # a stalled client is dropped after 2 s (the default is 15)
    with running_web(tmp_path_factory.mktemp("web-big"), big_sim, "generic", env=env) as web:
        yield web


@pytest.fixture(scope="module")
def generic_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    with (
        running_sim("generic") as sim,
        running_web(tmp_path_factory.mktemp("web-gen"), sim, "generic") as web,
    ):
        yield web


@pytest.fixture(scope="module")
def fuji_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """A simulated X-T1 sending live view at 30 fps."""
    with (
        running_sim("fuji", "--fps", "30", "--accept-any-client") as sim,
        running_web(tmp_path_factory.mktemp("web-fuji"), sim, "fuji") as web,
    ):
        yield web


def raw_request(host: str, port: int, head: bytes, timeout: float = 30.0) -> socket.socket:
    """A TCP connection that has sent ``head`` (a request's head, as bytes) and nothing more."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(head)
    return sock
