"""The UPnP answer for Canon cameras: the codec from literal requests, and the command over real sockets
(socat sends the search, the standard library's HTTP client fetches the description), with a UUID that survives restarts.

What the camera requires (CANON.md §8, reyalpchdk/ptpip-canon-helpers): an answer to ``M-SEARCH`` for
``upnp:rootdevice`` with a LOCATION, a USN naming a stable UUID and a Windows Server header; a description
served as ``text/xml; charset="utf-8"`` whose friendlyName the camera shows up to the first colon.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.vendors import canon_upnp as up
from tests.procs import REPO, read_line_until

DEVICE = uuid.UUID("2902039a-0f95-4def-bf0a-9fb096570c67")
# An M-SEARCH as UPnP Device Architecture 1.0 §1.2.2 lays it out, for the target Canon cameras send.
SEARCH = (
    b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 3\r\n'
    b"ST: upnp:rootdevice\r\n\r\n"
)
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+),(\d+) uuid (\S+)")
UPNP = "{urn:schemas-upnp-org:device-1-0}"


def test_a_root_device_search_is_answered() -> None:
    search = up.parse_search(SEARCH)
    assert search == up.Search("upnp:rootdevice", 3) and up.wants_us(search)
    answer = up.search_response(DEVICE, "http://192.168.1.10:8043/ptpipd-canon.xml").decode()
    assert answer.startswith("HTTP/1.1 200 OK\r\n") and answer.endswith("\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in answer.split("\r\n")[1:] if ": " in line)
    assert headers == {
        "CACHE-CONTROL": "max-age=900",
        "LOCATION": "http://192.168.1.10:8043/ptpipd-canon.xml",
        "SERVER": "Microsoft-Windows/10.0 UPnP/1.0 UPnP-Device-Host/1.0",
        "ST": "upnp:rootdevice",
        "USN": f"uuid:{DEVICE}::upnp:rootdevice",
    }


@pytest.mark.parametrize(
    "data",
    [
        SEARCH.replace(b"M-SEARCH", b"NOTIFY"),  # an announcement, not a search
        SEARCH.replace(b'"ssdp:discover"', b'"ssdp:alive"'),
        SEARCH.replace(b"HTTP/1.1", b"HTTP/1.0"),
        SEARCH.replace(b"ST: upnp:rootdevice\r\n", b""),
        SEARCH + b"x" * up.MAX_REQUEST,
        b"\xff\xfe",
    ],
)
def test_what_is_not_a_search_is_ignored(data: bytes) -> None:
    assert up.parse_search(data) is None


def test_searches_for_something_else_are_not_ours() -> None:
    other = up.parse_search(SEARCH.replace(b"upnp:rootdevice", b"urn:dial-multiscreen-org:service:dial:1"))
    assert other is not None and not up.wants_us(other)
    everything = up.parse_search(SEARCH.replace(b"upnp:rootdevice", b"ssdp:all"))
    assert everything is not None and up.wants_us(everything)


def test_the_description_names_the_computer_before_the_first_colon() -> None:
    root = ET.fromstring(up.description(DEVICE, "studio <A&B>"))
    device = root.find(f"{UPNP}device")
    assert device is not None
    assert device.findtext(f"{UPNP}friendlyName") == "studio <A&B>: ptpipd:"
    assert device.findtext(f"{UPNP}UDN") == f"uuid:{DEVICE}"
    assert up.description(DEVICE, "a:b").count(b"a b: ptpipd:") == 1  # a colon in the name would cut it


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET /ptpipd-canon.xml HTTP/1.1", b"200 OK"),
        (b"HEAD /ptpipd-canon.xml HTTP/1.1", b"200 OK"),
        (b"GET /other.xml HTTP/1.1", b"404 Not Found"),
        (b"POST /ptpipd-canon.xml HTTP/1.1", b"405 Method Not Allowed"),
    ],
)
def test_description_requests(request_line: bytes, status: bytes) -> None:
    answer = up.description_response(request_line + b"\r\nHost: x\r\n\r\n", DEVICE, "studio")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status)
    assert b'Content-Type: text/xml; charset="utf-8"' in head
    assert (body == up.description(DEVICE, "studio")) is request_line.startswith(b"GET /ptpipd")


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int, str]]:
    proc = _start(tmp_path / "state" / "guid")
    try:
        match = read_line_until(proc, LISTENING, 20)
        yield proc, int(match[1]), int(match[2]), match[3]
    finally:
        _stop(proc)


def _start(guid_file: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "ptpipd.vendors.canon_upnp", "127.0.0.1", "--guid-file", str(guid_file)]
    command += ["--name", "studio", "--ssdp-port", "0", "--http-port", "0"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    assert proc.wait(10) == 0
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.mark.skipif(
    shutil.which("socat") is None or shutil.which("curl") is None, reason="needs socat and curl"
)
def test_socat_searches_and_curl_fetches_the_description(
    responder: tuple[subprocess.Popen[str], int, int, str],
) -> None:
    _, ssdp, http, device = responder
    answer = subprocess.run(
        ["timeout", "5", "socat", "-T2", "-", f"UDP:127.0.0.1:{ssdp}"],
        input=SEARCH,
        capture_output=True,
        check=True,
    ).stdout.decode()
    location = f"http://127.0.0.1:{http}/ptpipd-canon.xml"
    assert f"LOCATION: {location}\r\n" in answer and f"USN: uuid:{device}::upnp:rootdevice\r\n" in answer
    with urllib.request.urlopen(location, timeout=5) as fetched:  # the standard library's HTTP client
        assert fetched.headers["Content-Type"] == 'text/xml; charset="utf-8"'
        assert fetched.headers["Server"].startswith("Microsoft-Windows/10.0")
        body = fetched.read()
    assert ET.fromstring(body).find(f"{UPNP}device/{UPNP}UDN").text == f"uuid:{device}"  # type: ignore[union-attr]


def test_the_uuid_is_the_guid_kept_across_restarts(tmp_path: Path) -> None:
    guid_file = tmp_path / "state" / "guid"
    seen = []
    for _ in range(2):
        proc = _start(guid_file)
        try:
            seen.append(read_line_until(proc, LISTENING, 20)[3])
        finally:
            _stop(proc)
    assert seen[0] == seen[1] == guid_file.read_text().strip()
