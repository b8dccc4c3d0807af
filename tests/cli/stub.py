"""A stand-in daemon for ptpipctl tests: a thread serving canned JSON-RPC answers on a Unix socket (or TCP)
and recording every request, so output can be compared byte for byte and requests checked exactly; beside
it a stand-in HTTP data plane (:class:`StubHttp`: objects with Range and ETag, captures, a live view) on
the socket ``NAME-http.sock`` (or TCP), recording its requests in the same list."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
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
#: Live-view frames of the stub: small JPEGs Pillow decodes (made once, on first use).
_FRAMES: list[bytes] = []
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
        "delete": True,
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


def frames() -> list[bytes]:
    """Three different 16x16 JPEGs."""
    if not _FRAMES:
        import io

        from PIL import Image

        for shade in (0, 128, 255):
            out = io.BytesIO()
            Image.new("RGB", (16, 16), (shade, 64, 255 - shade)).save(out, "JPEG")
            _FRAMES.append(out.getvalue())
    return _FRAMES


def http_socket(path: Path) -> Path:
    """The data plane's socket beside a JSON-RPC socket (the daemon's rule)."""
    return path.with_name(f"{path.stem}-http.sock")


class StubHttp:
    """A stand-in data plane. ``objects`` by handle (name, bytes), ``captures`` by name, ``shot`` (what
    ``POST /capture`` answers), ``live_frames`` (the live view ends after them; None: 501), ``cut_after``
    (objects stop after that many bytes: a broken transfer) and ``etag_salt`` (a changed object)."""

    def __init__(self, address: Path | tuple[str, int], requests: list[dict[str, Any]]) -> None:
        self.requests = requests
        self.objects: dict[int, tuple[str, bytes]] = {
            3: ("IMG_0001.JPG", IMAGE),
            4: ("IMG_0002.JPG", IMAGE * 2),
        }
        self.captures: dict[str, bytes] = {}
        self.shot: dict[str, Any] = {
            "handle": 9,
            "url": "/files/9",
            "format": "jpeg",
            "size": len(IMAGE),
            "filename": "IMG_0009.JPG",
            "path": "/daemon/captures/IMG_0009.JPG",
        }
        self.capture_bytes = IMAGE  # what the camera "takes"
        self.live_frames: list[bytes] | None = frames() * 2
        self.cut_after: int | None = None
        self.etag_salt = ""
        stub = self

        class Handler(_Handler):
            owner = stub

        if isinstance(address, Path):
            self.server: socketserver.BaseServer = socketserver.ThreadingUnixStreamServer(
                str(address), Handler
            )
        else:
            self.server = socketserver.ThreadingTCPServer(address, Handler)
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.address = address if isinstance(address, Path) else self.server.server_address[:2]  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)
        self._thread.start()

    def etag(self, handle: int) -> str:
        return f'"stub-{handle}-{len(self.objects[handle][1])}{self.etag_salt}"'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # type: ignore[attr-defined]
        self._thread.join(5)
        if isinstance(self.address, Path):
            self.address.unlink(missing_ok=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: StubHttp

    def log_message(self, format: str, *args: Any) -> None:  # a Unix peer has no address to log
        pass

    def _record(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner.requests.append({"method": f"{self.command} {self.path}", "headers": headers})

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: int, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    def do_GET(self) -> None:
        self._record()
        path = self.path
        if path.startswith("/files/") and path[7:].isdigit() and int(path[7:]) in self.owner.objects:
            self._object(int(path[7:]))
        elif path.startswith("/captures/") and path[10:] in self.owner.captures:
            self._bytes(200, self.owner.captures[path[10:]], {})
        elif path == "/liveview.mjpeg":
            self._liveview()
        else:
            self._error(404, -32002, f"no object or resource {path}")

    def do_POST(self) -> None:
        self._record()
        if self.path != "/capture":
            return self._error(404, -32601, "no such resource")
        shot = self.owner.shot
        self.owner.captures[str(shot["path"]).rsplit("/", 1)[-1]] = self.owner.capture_bytes
        self._json(200, shot)

    def do_DELETE(self) -> None:
        self._record()
        name = self.path.removeprefix("/captures/")
        if self.owner.captures.pop(name, None) is None:
            return self._error(404, -32601, "no such capture")
        self.send_response(204)
        self.end_headers()

    def _object(self, handle: int) -> None:
        name, data = self.owner.objects[handle]
        tag = self.owner.etag(handle)
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and self.headers.get("If-Range", tag) == tag:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        headers = {"ETag": tag, "Content-Disposition": f'attachment; filename="{name}"'}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        self._bytes(status, data[start:], headers)

    def _bytes(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        cut = self.owner.cut_after
        self.wfile.write(data if cut is None else data[:cut])
        if cut is not None:
            self.close_connection = True

    def _liveview(self) -> None:
        if self.owner.live_frames is None:
            return self._error(501, -32003, "the stub camera has no live view")
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=stubframe")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, jpeg in enumerate(self.owner.live_frames):
            part = f"--stubframe\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\nX-Frame: {i}\r\n\r\n"
            body = part.encode() + jpeg + b"\r\n"
            for piece in (body[:7], body[7:]):  # parts split across chunks, as a real stream may
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True


class StubDaemon:
    """Serves connections one after the other (ptpipctl opens one per command) until :meth:`close`; its
    data plane is :attr:`http`."""

    def __init__(self, address: Path | tuple[str, int], answers: dict[str, Answer] | None = None) -> None:
        self.answers = default_answers() if answers is None else answers
        self.requests: list[dict[str, Any]] = []
        self.after_subscribe: list[dict[str, Any]] = []
        if isinstance(address, Path):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(address))
            self.http = StubHttp(http_socket(address), self.requests)
            listeners = [str(self.http.address), "http://127.0.0.1:15780"]  # the TCP one is for show
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(address)
            self.http = StubHttp(("127.0.0.1", 0), self.requests)
            listeners = ["http://{}:{}".format(*self.http.address)]
        self.answers.setdefault("status", STATUS)
        if isinstance(self.answers["status"], dict):
            self.answers["status"] = {**self.answers["status"], "http": {"addresses": listeners}}
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
            try:
                request = json.loads(line)
            except ValueError:  # as the daemon: a parse error, and the connection stays open
                error = {"code": -32700, "message": "Parse error"}
                conn.sendall(json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode() + b"\n")
                continue
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
        self.http.close()
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
