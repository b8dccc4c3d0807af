"""Length fields come from the peer and are not trusted.

A length under the header size, or over the cap for a packet that is buffered whole, is a
RemoteProtocolError as soon as the header is in: the reader neither waits for the rest nor allocates for it.
Once a codec has failed, it keeps failing with the same error. Arbitrary bytes never raise anything else.
"""

from __future__ import annotations

import itertools
import struct
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Role
from ptpipd.ip.errors import FrameTooLarge, RemoteProtocolError
from ptpipd.ip.framing import DEFAULT_MAX_FRAME, FrameHead
from ptpipd.ip.fuji import ContainerKind, FujiCodec
from ptpipd.ip.fuji_liveview import MAX_FRAME, LiveViewReader, encode_frame
from ptpipd.ip.generic import GenericCodec

Reader = GenericCodec | FujiCodec | LiveViewReader


def pull(reader: Reader) -> object:
    return reader.next_frame() if isinstance(reader, LiveViewReader) else reader.next_event()


def drain(reader: Reader) -> list[object]:
    out = []
    while (item := pull(reader)) is not None:
        out.append(item)
    return out


# Every way of reading a stream, with the header its frames start with (length, then 4 more bytes).
READERS: dict[str, tuple[Callable[[], Reader], bytes]] = {
    "generic-initiator": (
        lambda: GenericCodec(Role.INITIATOR),
        struct.pack("<I", pk.PacketType.OperationResponse),
    ),
    "generic-responder": (
        lambda: GenericCodec(Role.RESPONDER),
        struct.pack("<I", pk.PacketType.OperationRequest),
    ),
    "fuji-init-phase": (lambda: FujiCodec(Role.INITIATOR), struct.pack("<I", pk.PacketType.InitCommandAck)),
    "fuji-responder-init-phase": (
        lambda: FujiCodec(Role.RESPONDER),
        struct.pack("<I", pk.PacketType.InitCommandRequest),
    ),
    "fuji-containers": (
        lambda: FujiCodec(Role.INITIATOR, containers=True),
        struct.pack("<HH", ContainerKind.Response, 0x2001),
    ),
    "fuji-events": (
        lambda: FujiCodec(Role.INITIATOR, containers=True),
        struct.pack("<HH", ContainerKind.Event, 0xC001),
    ),
    "liveview": (LiveViewReader, bytes(4)),
}
MIN_LENGTH = {"liveview": 18}
CAP = {"liveview": MAX_FRAME}


def reader_params() -> list[object]:
    return [pytest.param(name, id=name) for name in READERS]


# --------------------------------------------------------------------------------------------
# Too short


@pytest.mark.parametrize("name", reader_params())
@pytest.mark.parametrize("length", [0, 4, 7])
def test_length_under_header_fails_at_once(name: str, length: int) -> None:
    make, _ = READERS[name]
    reader = make()
    reader.receive_data(struct.pack("<I", length))  # only the length field: nothing else is needed
    with pytest.raises(RemoteProtocolError):
        pull(reader)


def test_liveview_length_under_its_18_byte_header() -> None:
    reader = LiveViewReader()
    reader.receive_data(struct.pack("<I", 17))
    with pytest.raises(RemoteProtocolError):
        reader.next_frame()


# --------------------------------------------------------------------------------------------
# Too long


@pytest.mark.parametrize("name", reader_params())
@pytest.mark.parametrize("over", ["cap+1", "0xFFFFFFFF"])
def test_length_over_cap_fails_once_the_head_is_in(name: str, over: str) -> None:
    """Fed a header (up to the reader's 12- or 18-byte head) and a little more, never the body."""
    make, rest = READERS[name]
    cap = CAP.get(name, DEFAULT_MAX_FRAME)
    length = cap + 1 if over == "cap+1" else 0xFFFF_FFFF
    reader = make()
    tracemalloc.start()
    try:
        reader.receive_data(struct.pack("<I", length) + rest + bytes(14))
        with pytest.raises(FrameTooLarge) as info:
            pull(reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # nothing near the announced size was allocated
    assert (info.value.length, info.value.cap) == (length, cap)
    assert isinstance(info.value, RemoteProtocolError)


@pytest.mark.parametrize("name", reader_params())
def test_length_over_cap_fails_with_only_the_8_header_bytes(name: str) -> None:
    make, rest = READERS[name]
    reader = make()
    reader.receive_data(struct.pack("<I", 0xFFFF_FFFF) + rest)
    with pytest.raises(FrameTooLarge):
        pull(reader)


def test_cap_is_configurable() -> None:
    codec = GenericCodec(Role.INITIATOR, max_packet=64)
    codec.receive_data(pk.encode(pk.OperationResponse(0x2001, 1, (1, 2, 3, 4, 5))))  # 34 bytes: fine
    assert codec.next_event() == pk.OperationResponse(0x2001, 1, (1, 2, 3, 4, 5))
    codec.receive_data(pk.encode(pk.InitCommandAck(1, bytes(16), "x" * 20)))  # 72 bytes: too large
    with pytest.raises(FrameTooLarge):
        codec.next_event()


@pytest.mark.parametrize("ptype", [pk.PacketType.Data, pk.PacketType.EndData])
def test_data_over_cap_is_streamed_not_refused(ptype: pk.PacketType) -> None:
    """A 4 GB data packet is legal: it is announced and streamed, never buffered."""
    codec = GenericCodec(Role.INITIATOR)
    codec.receive_data(struct.pack("<III", 0xFFFF_FFFF, ptype, 5) + b"0123")
    first = codec.next_event()
    assert first == pk.Data(5, b"0123")
    assert codec.next_event() is None  # inside the data packet: what comes next is more of its payload
    codec.receive_data(pk.encode(pk.ProbeRequest()))
    assert codec.next_event() == pk.Data(5, pk.encode(pk.ProbeRequest()))


def test_fuji_data_container_over_cap_is_streamed() -> None:
    codec = FujiCodec(Role.INITIATOR, containers=True)
    codec.receive_data(struct.pack("<IHHI", 0xFFFF_FFFF, ContainerKind.Data, 0x101B, 9) + b"abc")
    assert codec.next_event() == pk.StartData(9, 0xFFFF_FFFF - 12)
    assert codec.next_event() == pk.Data(9, b"abc")
    assert codec.next_event() is None


def test_fuji_init_phase_never_streams() -> None:
    """Before the ack there is no data container: a big frame is just too large."""
    codec = FujiCodec(Role.INITIATOR)
    codec.receive_data(struct.pack("<IHHI", DEFAULT_MAX_FRAME + 1, ContainerKind.Data, 0, 0))
    with pytest.raises(FrameTooLarge):
        codec.next_event()


# --------------------------------------------------------------------------------------------
# Errors are sticky


@pytest.mark.parametrize("name", reader_params())
@pytest.mark.parametrize("bad", ["short", "long"])
def test_framing_error_is_sticky(name: str, bad: str) -> None:
    make, rest = READERS[name]
    reader = make()
    length = 3 if bad == "short" else 0xFFFF_FFFF
    reader.receive_data(struct.pack("<I", length) + rest + bytes(14))
    with pytest.raises(RemoteProtocolError) as first:
        pull(reader)
    # More calls, with or without more (even well-formed) bytes, raise the very same error.
    for _ in range(3):
        with pytest.raises(RemoteProtocolError) as again:
            pull(reader)
        assert again.value is first.value
        good = encode_frame(1, b"\xff\xd8") if name == "liveview" else pk.encode(pk.ProbeRequest())
        reader.receive_data(good)


@pytest.mark.parametrize(
    "make, bad, good",
    [
        pytest.param(
            lambda: GenericCodec(Role.INITIATOR),
            struct.pack("<II", 8, 99),
            pk.encode(pk.OperationResponse(0x2001, 1)),
            id="generic-unknown-type",
        ),
        pytest.param(
            lambda: FujiCodec(Role.INITIATOR, containers=True),
            struct.pack("<IHHI", 12, 9, 0x2001, 1),
            struct.pack("<IHHI", 12, 3, 0x2001, 1),
            id="fuji-unknown-container-type",
        ),
        pytest.param(
            LiveViewReader,
            struct.pack("<IIIIH", 20, 0, 0, 0, 0) + b"no",
            encode_frame(1, b"\xff\xd8"),
            id="liveview-without-jpeg",
        ),
    ],
)
def test_decoding_error_is_sticky(make: Callable[[], Reader], bad: bytes, good: bytes) -> None:
    reader = make()
    reader.receive_data(bad + good)
    with pytest.raises(RemoteProtocolError) as first:
        pull(reader)
    with pytest.raises(RemoteProtocolError) as again:
        pull(reader)
    assert again.value is first.value


# --------------------------------------------------------------------------------------------
# Byte soup


def frame_soup(header: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Frames with a plausible length (±3 of the truth), a given header, and random bodies."""

    @st.composite
    def one(draw: st.DrawFn) -> bytes:
        head = draw(header)
        body = draw(st.binary(max_size=80))
        length = 4 + len(head) + len(body) + draw(st.integers(-3, 3))
        return struct.pack("<I", max(0, length)) + head + body

    return st.lists(one(), max_size=8).map(b"".join)


GENERIC_SOUP = st.one_of(
    st.binary(max_size=300),
    frame_soup(st.integers(0, 16).map(lambda t: struct.pack("<I", t))),
)
CONTAINER_SOUP = st.one_of(
    st.binary(max_size=300),
    frame_soup(
        st.tuples(st.integers(0, 6), st.integers(0, 0xFFFF), st.binary(min_size=4, max_size=4)).map(
            lambda t: struct.pack("<HH", t[0], t[1]) + t[2]
        )
    ),
)
FUJI_INIT_SOUP = st.one_of(
    GENERIC_SOUP,
    frame_soup(st.integers(1, 2).map(lambda t: struct.pack("<II", t, 0x8F53E4F2))),
)
LIVEVIEW_SOUP = st.one_of(st.binary(max_size=300), frame_soup(st.binary(min_size=14, max_size=20)))

SOUPS: dict[str, tuple[Callable[[], Reader], st.SearchStrategy[bytes]]] = {
    "generic-initiator": (
        lambda: GenericCodec(Role.INITIATOR, max_packet=200, stream_threshold=40),
        GENERIC_SOUP,
    ),
    "generic-responder": (lambda: GenericCodec(Role.RESPONDER), GENERIC_SOUP),
    "fuji-initiator-init": (
        lambda: FujiCodec(Role.INITIATOR, max_packet=200, stream_threshold=40),
        FUJI_INIT_SOUP,
    ),
    "fuji-responder-init": (lambda: FujiCodec(Role.RESPONDER), FUJI_INIT_SOUP),
    "fuji-initiator-containers": (
        lambda: FujiCodec(Role.INITIATOR, containers=True, max_packet=200, stream_threshold=40),
        CONTAINER_SOUP,
    ),
    "fuji-responder-containers": (lambda: FujiCodec(Role.RESPONDER, containers=True), CONTAINER_SOUP),
    "liveview": (lambda: LiveViewReader(max_frame=200), LIVEVIEW_SOUP),
}


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in SOUPS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_byte_soup_yields_packets_or_remote_protocol_error(name: str, data: st.DataObject) -> None:
    make, soup = SOUPS[name]
    stream = data.draw(soup)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6))
    reader = make()
    points = sorted({0, len(stream), *cuts})
    try:
        for a, b in itertools.pairwise(points):
            reader.receive_data(stream[a:b])
            for item in drain(reader):
                assert not isinstance(item, FrameHead)
    except RemoteProtocolError:
        pass
