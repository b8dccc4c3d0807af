"""What every line-based listener (JSON-RPC and the legacy text protocol) needs from a stream: which peers
count as this machine (loopback), reading a line with a cap, writing with a deadline, and closing politely."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import weakref


def ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` writes (its zone, ``%eth0``, dropped), an IPv4-mapped one as the IPv4 address it
    stands for (an IPv4 client of a dual-stack listener shows up as ``::ffff:a.b.c.d``); None for a name."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, IPv4-mapped ones (``::ffff:127.0.0.1``) included."""
    address = ip_address(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def format_host_port(host: str, port: int) -> str:
    """``HOST:PORT`` as a user writes it (``[::]:15741`` for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_host(peer: object) -> str | None:
    """The address of a TCP peer ``(host, port, …)`` (a stream's ``peername``); None for a Unix-socket peer."""
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def is_loopback_peer(peer: object) -> bool:
    """True for a Unix-socket peer (not a tuple) or a TCP peer ``(host, port, …)`` on a loopback address."""
    host = peer_host(peer)
    return host is None or is_loopback_host(host)


class LineTooLong(Exception):
    """The client sent a line longer than the cap."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"request line over {cap} bytes")


async def read_line(reader: asyncio.StreamReader, cap: int) -> bytes | None:
    """The next line without its ``\\n`` (a ``\\r`` before it stays); None at end of stream. A last line
    without newline counts.

    A line whose text (``\\r\\n`` not counted) is longer than ``cap`` raises :class:`LineTooLong`. The reader's
    ``limit`` must be at most ``cap`` plus two, so that a longer line is refused without being buffered.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        line = exc.partial
        if not line:
            return None
    except asyncio.LimitOverrunError:
        raise LineTooLong(cap) from None
    line = line.removesuffix(b"\n")
    if len(line.removesuffix(b"\r")) > cap:
        raise LineTooLong(cap)
    return line


class WriteTimeout(ConnectionError):
    """The client took nothing of what was written to it for the whole write timeout."""


async def send(writer: asyncio.StreamWriter, data: bytes, timeout: float) -> None:
    """Writes ``data`` and waits until the transport can take more, at most ``timeout`` seconds.

    A client that stops reading would otherwise hold the writer (and the memory of every answer queued for
    it) for ever: when the deadline passes its connection is aborted (not closed: closing waits for the
    unsent bytes) and :class:`WriteTimeout` is raised.
    """
    writer.write(data)
    try:
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError:
        writer.transport.abort()
        raise WriteTimeout(f"the client took nothing for {timeout:g} s") from None


#: The connections :func:`close` has closed: their handler only waits for the unsent bytes to go and the
#: descriptor to be freed (a listener stops counting one once nothing is left to send). A connection the
#: peer reset is not in it: its handler may still be serving the last request.
CLOSED_HERE: weakref.WeakSet[asyncio.StreamWriter] = weakref.WeakSet()


async def close(writer: asyncio.StreamWriter, timeout: float) -> None:
    """Closes the connection: waits at most ``timeout`` seconds for the unsent bytes to go, then aborts it."""
    CLOSED_HERE.add(writer)
    writer.close()
    try:
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    except TimeoutError:
        writer.transport.abort()
    except (ConnectionError, OSError):
        pass


#: :func:`linger`'s default bounds: how long, and how much, it reads and drops.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 << 20


async def linger(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    seconds: float = LINGER_SECONDS,
    max_bytes: int = LINGER_BYTES,
) -> None:
    """Half-closes, then reads and drops what the client still sends until it closes (bounded by ``seconds``
    and ``max_bytes``), before the caller closes the connection.

    Closing a socket with unread input makes the kernel send a reset, and a reset can destroy the last answer
    before the client has read it: a client still writing an over-long line, or ``printf 'get iso\\nget
    iso\\n' | nc …`` whose second line is never read. Clients such as ``nc`` close as soon as they see our end
    of stream, so this normally takes no time at all.
    """
    if writer.can_write_eof():
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()
    received = 0
    with contextlib.suppress(TimeoutError, ConnectionError, OSError, asyncio.LimitOverrunError, ValueError):
        async with asyncio.timeout(seconds):
            while received < max_bytes:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                received += len(chunk)
