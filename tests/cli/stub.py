"""A stand-in daemon for ptpipctl tests: a thread serving canned JSON-RPC answers on a Unix socket (or TCP)
and recording every request, so output can be compared byte for byte and requests checked exactly."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.legacy.seed import SEED_D212, packets_of, seed_text

ISO = {
    "property": "iso",
    "code": "0x500f",
    "name": "ExposureIndex",
    "type": "uint16",
    "value": 400,
    "hex": "0x0190",
    "label": "400",
    "writable": True,
}
ISO_DESC = {
    **ISO,
    "factory_default": {"value": 400, "hex": "0x0190", "label": "400"},
    "form": {
        "kind": "enum",
        "values": [{"value": v, "hex": f"0x{v:04x}", "label": str(v)} for v in (100, 200, 400, 800)],
    },
}
STATUS = {
    "state": "connected",
    "vendor": "generic",
    "host": "127.0.0.1",
    "ports": [15740],
    "camera": {
        "manufacturer": "ptpipd",
        "model": "Simulated PTP/IP camera",
        "serial": "SIM-0001",
        "version": "0.1.0",
    },
    "connected_since": 1_700_000_000.5,
    "reconnects": 2,
    "last_error": None,
    "api_version": "1.0",
    "daemon_version": "0.1.0",
    "clients": 1,
}
INFO = {
    "device": {
        "manufacturer": "ptpipd",
        "model": "Simulated",
        "operations": ["GetDeviceInfo", "OpenSession"],
        "vendor_extension_desc": "",
    },
    "properties": [
        ISO_DESC,
        {
            **ISO_DESC,
            "property": "datetime",
            "code": "0x5011",
            "name": "DateTime",
            "type": "str",
            "value": "20240601T120000",
            "hex": None,
            "label": "20240601T120000",
            "writable": False,
            "form": {"kind": "none"},
        },
    ],
}
STATE = [
    {"code": "0x5012", "name": "CaptureDelay", "property": "delay", "value": 0, "label": "off"},
    {"code": "0xd02a", "name": "ISO", "property": "iso", "value": 0x80000190, "label": "S 400"},
]
FILES = [
    {
        "handle": 3,
        "storage": "0x00010001",
        "filename": "IMG_0001.JPG",
        "folder": "DCIM/100TEST",
        "format": "jpeg",
        "size": 111834,
        "captured": "2024-06-01T10:15:00",
    },
    {
        "handle": 4,
        "storage": "0x00010001",
        "filename": "IMG_0002.JPG",
        "folder": "DCIM/100TEST",
        "format": "jpeg",
        "size": 150871,
        "captured": None,
    },
]
OPREQ = {
    "response": {"code": "0x2001", "name": "OK", "params": []},
    "packets": [p.hex() for p in packets_of(seed_text(SEED_D212))],
}


IMAGE = b"\xff\xd8stub image\xff\xd9"
SHOT = {
    "format": "jpeg",
    "size": len(IMAGE),
    "handle": 9,
    "filename": "IMG_0009.JPG",
    "data": base64.b64encode(IMAGE).decode(),
}


class StubError(Exception):
    """Answer with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


def default_answers() -> dict[str, Any]:
    return {
        "status": STATUS,
        "get": lambda p: ISO if p.get("property") == "iso" else _unknown(p),
        "set": lambda p: {
            **ISO,
            "value": int(p["value"]),
            "hex": f"0x{int(p['value']):04x}",
            "label": str(p["value"]),
        },
        "describe": ISO_DESC,
        "info": INFO,
        "state": STATE,
        "files": FILES,
        "opreq": OPREQ,
        "capture": lambda p: dict(SHOT),
        "download": lambda p: {**SHOT, "handle": p.get("handle")},
        "auth": lambda p: (
            True if p.get("token") == "right" else _raise(StubError(-32010, "unauthorised: wrong token"))
        ),
        "subscribe": True,
    }


def _raise(exc: Exception) -> Any:
    raise exc


def _unknown(p: dict[str, Any]) -> Any:
    raise StubError(
        -32004,
        f"unknown property {p.get('property')!r}",
        {"property": p.get("property"), "known": ["iso", "delay"]},
    )


Answer = Any | Callable[[dict[str, Any]], Any]


class StubDaemon:
    """Serves connections one after the other (ptpipctl opens one per command) until :meth:`close`."""

    def __init__(self, address: Path | tuple[str, int], answers: dict[str, Answer] | None = None) -> None:
        self.answers = default_answers() if answers is None else answers
        self.requests: list[dict[str, Any]] = []
        self.after_subscribe: list[dict[str, Any]] = []
        if isinstance(address, Path):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(address))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(address)
        self.address = address if isinstance(address, Path) else self.sock.getsockname()[:2]
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stub-daemon", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            line, _, buffer = buffer.partition(b"\n")
            request = json.loads(line)
            self.requests.append(request)
            method = request["method"]
            params = request.get("params") or {}
            response: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
            try:
                answer = self.answers[method]
            except KeyError:
                response["error"] = {"code": -32601, "message": "Method not found", "data": method}
            else:
                try:
                    response["result"] = answer(params) if callable(answer) else answer
                except StubError as exc:
                    response["error"] = exc.error
            conn.sendall(json.dumps(response).encode() + b"\n")
            if method == "subscribe" and self.after_subscribe:
                for note in self.after_subscribe:
                    conn.sendall(json.dumps({"jsonrpc": "2.0", **note}).encode() + b"\n")
                return  # then the daemon "goes away"

    def methods(self) -> list[str]:
        return [r["method"] for r in self.requests]

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(5)
        if isinstance(self.address, Path):
            self.address.unlink(missing_ok=True)


@contextlib.contextmanager
def stub_daemon(
    address: Path | tuple[str, int], answers: dict[str, Answer] | None = None
) -> Iterator[StubDaemon]:
    stub = StubDaemon(address, answers)
    try:
        yield stub
    finally:
        stub.close()
