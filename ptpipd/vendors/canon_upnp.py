"""The UPnP answer a Canon camera needs to find its computer over Wi-Fi (CANON.md §8): SSDP and a description.

A Canon camera in "connect to computer" / "Remote control (EOS Utility)" mode looks for computers with an SSDP
M-SEARCH for ``upnp:rootdevice`` on UDP port 1900 (a port set in the camera), fetches the description the
answer points to, and lists the computer by the ``friendlyName`` part before the first colon. The user picks
it and presses SET; after that first pairing the camera wants the same answer, from the same UUID, before
every later connection (reyalpchdk/ptpip-canon-helpers README). Canon firmware accepts only answers that
look like Windows' (``Server: Microsoft-Windows/10.0 UPnP/1.0 UPnP-Device-Host/1.0``) and a description
served as ``text/xml; charset="utf-8"`` (same source). The UUID here is the initiator GUID ptpipd keeps in
its state directory, so the camera meets one identity.

Sans-I/O first (:func:`parse_search`, :func:`search_response`, :func:`description`,
:func:`description_response`), then :class:`UpnpResponder`, the asyncio UDP + HTTP server, and
``python -m ptpipd.vendors.canon_upnp ADDRESS --guid-file PATH [--name N]``, which runs it until SIGTERM
and prints ``listening on ADDRESS:SSDP_PORT,HTTP_PORT`` once it answers. What cannot be checked here: a real
camera's multicast search over Wi-Fi and its on-screen steps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import struct
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
HTTP_PORT = 8043
ROOT_DEVICE = "upnp:rootdevice"
#: What Canon firmware wants to see in the Server header (ptpip-canon-helpers: "Cam requires Microsoft-Windows").
SERVER = "Microsoft-Windows/10.0 UPnP/1.0 UPnP-Device-Host/1.0"
DESCRIPTION_PATH = "/ptpipd-canon.xml"
MAX_AGE = 900
#: Requests larger than this are not SSDP searches or description GETs: ignored / refused.
MAX_REQUEST = 8192
HTTP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Search:
    """An SSDP M-SEARCH: its search target (ST) and the MX seconds the answer may be delayed."""

    target: str
    mx: int


def parse_search(data: bytes) -> Search | None:
    """The M-SEARCH in ``data``, or None for anything else (a NOTIFY, a response, garbage)."""
    if len(data) > MAX_REQUEST or not data.startswith(b"M-SEARCH "):
        return None
    try:
        lines = data.decode("ascii").split("\r\n")
    except UnicodeDecodeError:
        return None
    if not lines[0].endswith(" HTTP/1.1"):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("man", "").strip('"') != "ssdp:discover" or "st" not in headers:
        return None
    mx = headers.get("mx", "1")
    return Search(headers["st"], int(mx) if mx.isdigit() else 1)


def wants_us(search: Search) -> bool:
    """Cameras search for ``upnp:rootdevice``; ``ssdp:all`` asks every device to answer."""
    return search.target in (ROOT_DEVICE, "ssdp:all")


def search_response(device: uuid.UUID, location: str, max_age: int = MAX_AGE) -> bytes:
    """The unicast answer to a search (UPnP Device Architecture 1.0 §1.2.3, with Canon's Server header)."""
    lines = [
        "HTTP/1.1 200 OK",
        f"CACHE-CONTROL: max-age={max_age}",
        "EXT:",
        f"LOCATION: {location}",
        f"SERVER: {SERVER}",
        f"ST: {ROOT_DEVICE}",
        f"USN: uuid:{device}::{ROOT_DEVICE}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def description(device: uuid.UUID, name: str) -> bytes:
    """The device description; the camera shows ``friendlyName`` up to its first colon."""
    shown = escape(name.replace(":", " "))
    return (
        '<?xml version="1.0"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
        "  <device>\n"
        "    <deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>\n"
        f"    <friendlyName>{shown}: ptpipd:</friendlyName>\n"
        "    <manufacturer>ptpipd</manufacturer>\n"
        "    <modelName>ptpipd PTP/IP initiator</modelName>\n"
        f"    <UDN>uuid:{device}</UDN>\n"
        "  </device>\n"
        "</root>\n"
    ).encode()


def description_response(request: bytes, device: uuid.UUID, name: str) -> bytes:
    """The HTTP answer to a request for the description: 200 with the XML, 404 for another path, 405 for
    another method."""
    first = request.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(first) != 3 or first[0] not in ("GET", "HEAD"):
        return _http("405 Method Not Allowed", b"")
    if first[1] != DESCRIPTION_PATH:
        return _http("404 Not Found", b"")
    body = description(device, name)
    return _http("200 OK", body if first[0] == "GET" else b"", len(body))


def _http(status: str, body: bytes, length: int | None = None) -> bytes:
    head = [
        f"HTTP/1.1 {status}",
        'Content-Type: text/xml; charset="utf-8"',
        f"Content-Length: {len(body) if length is None else length}",
        f"Server: {SERVER}",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


# ------------------------------------------------------------------------------------------------ I/O


class _Ssdp(asyncio.DatagramProtocol):
    def __init__(self, responder: UpnpResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        search = parse_search(data)
        if search is None or not wants_us(search) or self.transport is None:
            return
        log.info("M-SEARCH %s from %s: answering", search.target, addr)
        self.transport.sendto(self.responder.answer(), addr)


class UpnpResponder:
    """Answers SSDP searches on ``address`` (joining the SSDP group when it can) and serves the description.

    Use as ``async with UpnpResponder(...) as responder``; ``responder.ports`` are (SSDP, HTTP) once started
    (0 in the arguments: a free port, for tests).
    """

    def __init__(
        self,
        address: str,
        device: uuid.UUID,
        name: str,
        ssdp_port: int = SSDP_PORT,
        http_port: int = HTTP_PORT,
    ) -> None:
        self.address = address
        self.device = device
        self.name = name
        self._wanted = (ssdp_port, http_port)
        self.ports = (0, 0)
        self._udp: asyncio.DatagramTransport | None = None
        self._http: asyncio.Server | None = None

    def answer(self) -> bytes:
        """The search response, pointing at this responder's description."""
        return search_response(self.device, f"http://{self.address}:{self.ports[1]}{DESCRIPTION_PATH}")

    async def __aenter__(self) -> UpnpResponder:
        loop = asyncio.get_running_loop()
        self._http = await asyncio.start_server(self._serve, self.address, self._wanted[1])
        http_port = self._http.sockets[0].getsockname()[1]
        sock = self._udp_socket()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Ssdp(self), sock=sock)
        self._udp = transport
        self.ports = (sock.getsockname()[1], http_port)
        return self

    def _udp_socket(self) -> socket.socket:
        """UDP on the SSDP port of every address (multicast arrives there), in the SSDP group on ``address``."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(AttributeError, OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # beside another SSDP listener
        loopback = ipaddress.ip_address(self.address).is_loopback
        sock.bind((self.address if loopback else "", self._wanted[0]))
        group = struct.pack("4s4s", socket.inet_aton(SSDP_GROUP), socket.inet_aton(self.address))
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
        except OSError as exc:
            log.warning(
                "cannot join the SSDP group on %s (%s): answering unicast searches only", self.address, exc
            )
        sock.setblocking(False)
        return sock

    async def __aexit__(self, *exc: object) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_TIMEOUT)
            log.info("description requested by %s", writer.get_extra_info("peername"))
            writer.write(description_response(request, self.device, self.name))
            await asyncio.wait_for(writer.drain(), HTTP_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


# ------------------------------------------------------------------------------------------------ command


def read_guid(path: Path) -> uuid.UUID:
    """The GUID in ``path`` (ptpipd's ``<state_dir>/guid``), created there when missing."""
    try:
        return uuid.UUID(path.read_text().strip())
    except FileNotFoundError:
        new = uuid.uuid4()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{new}\n")
        tmp.replace(path)
        return new


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ptpipd.vendors.canon_upnp",
        description="Answer a Canon camera's UPnP search so that it lists and connects to this computer.",
    )
    p.add_argument("address", help="this computer's IPv4 address on the camera's network")
    p.add_argument("--guid-file", type=Path, required=True, help="ptpipd's GUID file (<state_dir>/guid)")
    p.add_argument(
        "--name", default=socket.gethostname(), help="the name the camera shows (default: host name)"
    )
    p.add_argument("--ssdp-port", type=int, default=SSDP_PORT, help=f"default {SSDP_PORT} (the camera's)")
    p.add_argument("--http-port", type=int, default=HTTP_PORT, help=f"description port (default {HTTP_PORT})")
    return p


async def _run(args: argparse.Namespace) -> int:
    device = read_guid(args.guid_file)
    async with UpnpResponder(args.address, device, args.name, args.ssdp_port, args.http_port) as responder:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        print(
            f"listening on {args.address}:{responder.ports[0]},{responder.ports[1]} uuid {device}", flush=True
        )
        await stop.wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ptpipd.vendors.canon_upnp``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_run(args))
    except OSError as exc:
        print(f"canon_upnp: cannot listen on {args.address}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
