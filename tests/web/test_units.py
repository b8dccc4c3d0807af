"""The data plane's pure parts, in-process: Range and If-None-Match (RFC 9110 §14, §13.1.2) and the live-view
hub's rules with a frame source of our own (the subprocess tests drive the same through the daemon)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from aiohttp import web

from ptpipd.errors import NotConnected
from ptpipd.vendors.liveview import LiveFrame
from ptpipd.web import app as web_app
from ptpipd.web.files import UNIX_SEND_BUFFER, Forward
from ptpipd.web.liveview import LiveHub, ViewerLimit
from ptpipd.web.ranges import BadRange, ByteRange, none_match, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-499", 10000, ByteRange(0, 500, 10000)),  # RFC 9110 §14.1.2's examples
        ("bytes=500-999", 10000, ByteRange(500, 1000, 10000)),
        ("bytes=-500", 10000, ByteRange(9500, 10000, 10000)),
        ("bytes=9500-", 10000, ByteRange(9500, 10000, 10000)),
        ("bytes=0-0", 10000, ByteRange(0, 1, 10000)),
        ("bytes=-1", 10000, ByteRange(9999, 10000, 10000)),
        ("bytes=0-99999", 10000, ByteRange(0, 10000, 10000)),  # an end past the object is cut to it
        ("bytes=-20000", 10000, ByteRange(0, 10000, 10000)),
        (" bytes = 5 - 9 ", 10000, ByteRange(5, 10, 10000)),
    ],
)
def test_ranges(header: str, size: int, expected: ByteRange) -> None:
    got = parse_range(header, size)
    assert got == expected
    assert got.content_range == f"bytes {expected.start}-{expected.end - 1}/{size}"


@pytest.mark.parametrize(
    "header",
    ["bytes=10000-", "bytes=-0", "bytes=10000-,20000-30000", "bytes=-0,99999-", "bytes=" + "9" * 5000 + "-"],
)
def test_unsatisfiable_ranges(header: str) -> None:
    """A valid byte-range set none of whose ranges lies within the object: 416 (RFC 9110 §15.5.17)."""
    with pytest.raises(BadRange):
        parse_range(header, 10000)


@pytest.mark.parametrize(
    "header",
    [
        "items=0-1",  # another unit: MUST be ignored (§14.2)
        "bytes=9-3",  # invalid: ends before it starts (§14.1.1)
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes 0-1",
        "bytes=0-1;x",
        "bytes=0-1,4-5",  # several ranges: served whole (no multipart answers)
        "bytes=0-1,99999-",  # one of them satisfiable
        "bytes=-5,0-",
    ],
)
def test_ranges_not_served_as_asked_are_ignored(header: str) -> None:
    """None: the whole object is served (200)."""
    assert parse_range(header, 10000) is None


def test_range_set_with_empty_elements() -> None:
    """A list may hold empty elements (RFC 9110 §5.6.1)."""
    assert parse_range("bytes=, 5-9 ,", 10000) == ByteRange(5, 10, 10000)
    assert parse_range("Bytes=5-9", 10000) == ByteRange(5, 10, 10000)  # range units are case-insensitive


TAG = '"3-1f-0a1b2c3d"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (TAG, True),
        ("*", True),  # any current representation
        (f'"x", {TAG}', True),
        (f'"x",{TAG} , "y"', True),
        (f"W/{TAG}", True),  # the weak comparison (RFC 9110 §8.8.3.2)
        (f'W/"x", W/{TAG},', True),
        (f'"a,b", {TAG}', True),  # a comma inside an opaque tag
        ('"x"', False),
        (TAG[:-2] + '"', False),
        (TAG.strip('"'), False),  # not quoted: malformed
        (f'"x" {TAG}', False),  # no comma between the tags: malformed
        ("", False),
    ],
)
def test_if_none_match(header: str, matches: bool) -> None:
    assert none_match(header, TAG) is matches


class Camera:
    """A frame source whose frames the test releases one by one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveFrame | BaseException] = asyncio.Queue()
        self.opened = 0
        self.closed = 0
        self.count = 0
        self.stopped = asyncio.Event()  # the hub ended a camera stream (the linger is over)

    def send(self, n: int = 1) -> None:
        for _ in range(n):
            self.count += 1
            self.queue.put_nowait(
                LiveFrame(
                    self.count, self.count, asyncio.get_running_loop().time(), b"\xff\xd8%d" % self.count
                )
            )

    async def frames(self) -> AsyncGenerator[LiveFrame, None]:
        self.opened += 1
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.closed += 1
            self.stopped.set()

    async def wait_stopped(self, timeout: float = 5.0) -> None:
        """Waits for the hub to end the camera stream (its linger timer fired)."""
        await asyncio.wait_for(self.stopped.wait(), timeout)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_slow_viewer_skips_frames_fast_one_gets_all() -> None:
    camera = Camera()
    async with contextlib.aclosing(LiveHub(camera.frames, linger=0.05)) as hub:
        fast, slow = hub.join(), hub.join()
        assert hub.running and hub.status()["viewers"] == 2
        got = []
        for _ in range(10):
            camera.send()
            await settle()
            got.append((await fast.next(1.0)).sequence)
        assert got == list(range(1, 11))
        newest = await slow.next(1.0)
        assert newest.sequence == 10  # the newest only: the nine before it were replaced
        assert camera.opened == 1  # one camera stream for both
        hub.leave(fast)
        hub.leave(slow)
        await camera.wait_stopped()
        assert not hub.running and camera.closed == 1


async def test_a_viewer_within_the_linger_keeps_the_stream() -> None:
    camera = Camera()
    async with contextlib.aclosing(LiveHub(camera.frames, linger=0.2)) as hub:
        first = hub.join()
        camera.send()
        await first.next(1.0)
        hub.leave(first)
        second = hub.join()  # before the linger ends: the running stream, and its newest frame at once
        assert (await second.next(1.0)).sequence == 1
        assert camera.opened == 1 and hub.starts == 1
        hub.leave(second)
        await camera.wait_stopped()
        assert not hub.running and camera.closed == 1


async def test_viewer_cap_and_camera_errors() -> None:
    camera = Camera()
    async with contextlib.aclosing(LiveHub(camera.frames, max_viewers=2)) as hub:
        a, b = hub.join(), hub.join()
        with pytest.raises(ViewerLimit):
            hub.join()
        await settle()
        camera.queue.put_nowait(NotConnected("camera connection lost"))
        for viewer in (a, b):
            with pytest.raises(NotConnected):
                await viewer.next(1.0)
        assert not hub.running


async def test_forward_hands_views_over_safely_when_the_client_lags() -> None:
    """Forward passes the camera link's buffer on without a copy only where the transport copies what the socket
    does not take at once: the client must get the bytes as they were, although the buffer is overwritten
    (as the camera link's receive buffer is) right after each write, while most of them still wait."""
    loop = asyncio.get_running_loop()
    ours, client = socket.socketpair()
    client.setblocking(False)
    size = 4 << 20
    expected = bytes(i * 7 % 251 for i in range(size))
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    try:
        forward = Forward(transport, ByteRange(0, size, size), cap=2 * size)
        reused = bytearray(1 << 20)  # one receive buffer, refilled for every chunk
        for offset in range(0, size, len(reused)):
            reused[:] = expected[offset : offset + len(reused)]
            forward.write(memoryview(reused))
            reused[:] = bytes(len(reused))  # the next read overwrites it
        assert transport.get_write_buffer_size() > 0  # the client lags: the transport holds some of it
        forward.check()
        got = bytearray()
        while len(got) < size:
            got += await loop.sock_recv(client, 1 << 20)
        assert got == expected and forward.sent == size
    finally:
        transport.close()
        client.close()


def wmem_max() -> int:
    """The largest send buffer an unprivileged SO_SNDBUF may ask for."""
    return int(Path("/proc/sys/net/core/wmem_max").read_text())


async def test_a_spliced_unix_connection_gets_a_large_send_buffer() -> None:
    """A Unix socket's default send buffer (about 200 KiB) would make the camera link wait for the client several
    times per MiB: a download spliced into one raises it (the kernel doubles it, within net.core.wmem_max)."""
    loop = asyncio.get_running_loop()
    ours, client = socket.socketpair(socket.AF_UNIX)
    default = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    cap = wmem_max()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    try:
        Forward(transport, ByteRange(0, 1, 1), splicing=True)
        raised = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        assert raised == 2 * min(UNIX_SEND_BUFFER, cap) > default
    finally:
        transport.close()
        client.close()


@pytest.mark.parametrize("failure", [NotConnected("the camera is gone"), RuntimeError("a bug")])
async def test_a_stream_that_fails_after_its_head_ends_its_connection(failure: Exception) -> None:
    """The data plane's error middleware: a handler that fails before its answer began gets a JSON error
    answer; one that fails after ``prepare()`` (a download, live view) gets its connection ended, so the
    client sees a body shorter than announced and nothing else (no error answer written into the body)."""

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = 100
        await response.prepare(request)
        await response.write(b"x" * 10)
        raise failure

    async def early(request: web.Request) -> web.StreamResponse:
        raise failure

    app = web.Application(middlewares=[web_app._errors])
    app.on_response_prepare.append(web_app._prepared)
    app.router.add_get("/stream", stream)
    app.router.add_get("/early", early)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        cut = await _exchange(port, "/stream")
        head, _, body = cut.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 100" in head, cut
        assert body == b"x" * 10, cut
        answer = await _exchange(port, "/early")
        status = b"503" if isinstance(failure, NotConnected) else b"500"
        assert answer.startswith(b"HTTP/1.1 " + status) and b'"error"' in answer, answer
    finally:
        await runner.cleanup()


async def _exchange(port: int, path: str) -> bytes:
    """One request on a fresh connection that asks it closed after; all that comes back until it ends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        async with asyncio.timeout(10):
            return await reader.read(-1)
    finally:
        writer.close()
