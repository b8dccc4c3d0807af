"""A small synchronous JSON-RPC-over-NDJSON client for tests (Unix socket or TCP).

Independent of ptpipctl on purpose: tests check the daemon with their own reading of the protocol.
Responses and notifications are told apart by the presence of ``id``; notifications are kept in order.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections import deque
from typing import Any


class RpcConnection:
    """One connection to the daemon."""

    def __init__(self, address: str | tuple[str, int], timeout: float = 15.0) -> None:
        if isinstance(address, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.timeout = timeout
        self._buf = bytearray()
        self._ids = itertools.count(1)
        self.notifications: deque[dict[str, Any]] = deque()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RpcConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_line(self, line: bytes | str) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.sock.sendall(data if data.endswith(b"\n") else data + b"\n")

    def read_message(self, timeout: float | None = None) -> Any:
        """The next JSON line (response or notification); raises TimeoutError or EOFError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the daemon in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                raise TimeoutError("no message from the daemon in time") from None
            if not chunk:
                raise EOFError("the daemon closed the connection")
            self._buf += chunk
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        return json.loads(line)

    def read_response(self, timeout: float | None = None) -> Any:
        """The next response (a dict with ``id``, or a batch list); notifications are set aside."""
        while True:
            msg = self.read_message(timeout)
            if isinstance(msg, dict) and "id" not in msg:
                self.notifications.append(msg)
                continue
            return msg

    def request(self, method: str, params: Any = None, *, timeout: float | None = None) -> dict[str, Any]:
        """Sends a request and returns the whole response object."""
        rid = next(self._ids)
        req: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            req["params"] = params
        self.send_line(json.dumps(req))
        response = self.read_response(timeout)
        assert response.get("id") == rid, response
        return response

    def call(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """The result of a request; AssertionError with the error when there is one."""
        response = self.request(method, params, timeout=timeout)
        assert "error" not in response, response["error"]
        return response["result"]

    def notification(self, method: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """The next notification (of ``method`` when given), waiting for it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self.notifications:
                note = self.notifications.popleft()
                if method is None or note.get("method") == method:
                    return note
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method or 'notification'} in time")
            msg = self.read_message(left)
            if isinstance(msg, dict) and "id" not in msg:
                self.notifications.append(msg)
