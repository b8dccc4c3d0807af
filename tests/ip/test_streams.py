"""However TCP slices the byte stream, the codecs and readers see the same packets.

A stream is built from a list of packets (the oracle), cut at every offset (or, for the large streams, at
offsets hypothesis picks), fed piece by piece and drained after each piece. The *logical* result must not
depend on the cuts: the same non-data packets in the same order, the same data bytes per transaction, and
the same data-phase boundaries (EndData). How a data payload is sliced into Data values is free.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Decoded, Role
from ptpipd.ip.framing import DEFAULT_STREAM_THRESHOLD, FrameChunk, FrameHead, FrameReader
from ptpipd.ip.fuji import (
    FUJI_PROTOCOL_VERSION,
    TERMINATE_MARKER,
    Container,
    ContainerKind,
    FujiCodec,
    FujiInitCommandRequest,
    TerminateMarker,
    encode_container,
    encode_init_command_request,
)
from ptpipd.ip.fuji_liveview import LiveViewReader, StreamFrame, encode_frame
from ptpipd.ip.generic import GenericCodec
from tests.ip.codecs import assert_between_packets
from tests.vectors import vector

# --------------------------------------------------------------------------------------------
# Logical results


@dataclass(frozen=True)
class EndOfData:
    """Marks where a data phase ended (an EndData, however its payload was sliced)."""

    transaction_id: int


Logical = tuple[list[object], dict[int, bytes]]


def logical(events: Iterable[Decoded]) -> Logical:
    """Non-data packets and data-phase ends in order, and the concatenated data per transaction."""
    order: list[object] = []
    data: dict[int, bytearray] = {}
    for e in events:
        if isinstance(e, pk.Data | pk.EndData):
            data.setdefault(e.transaction_id, bytearray()).extend(e.payload)
            if isinstance(e, pk.EndData):
                order.append(EndOfData(e.transaction_id))
        else:
            order.append(e)
    return order, {tid: bytes(b) for tid, b in data.items()}


def feed(
    codec: GenericCodec | FujiCodec,
    pieces: Sequence[bytes],
    on_packet: Callable[[Decoded], None] | None = None,
) -> Logical:
    """Feeds the pieces one by one, draining after each (payload views are only valid until the next feed)."""
    order: list[object] = []
    data: dict[int, bytearray] = {}
    for piece in pieces:
        codec.receive_data(piece)
        while (e := codec.next_event()) is not None:
            if on_packet is not None:
                on_packet(e)
            if isinstance(e, pk.Data | pk.EndData):
                data.setdefault(e.transaction_id, bytearray()).extend(e.payload)  # copies at once
                if isinstance(e, pk.EndData):
                    order.append(EndOfData(e.transaction_id))
            else:
                order.append(e)
    return order, {tid: bytes(b) for tid, b in data.items()}


def cut(stream: bytes, offsets: Iterable[int]) -> list[bytes]:
    """The stream cut at the given offsets (duplicates and ends allowed)."""
    points = sorted({0, len(stream), *offsets})
    return [stream[a:b] for a, b in itertools.pairwise(points)]


# --------------------------------------------------------------------------------------------
# Standard PTP/IP streams


def generic_packets(big: int) -> list[pk.Packet]:
    """A realistic session: handshake, a data-in transaction, a data-out one, events and probes.

    ``big`` is the payload size of the one large Data and the one large EndData.
    """
    rng = random.Random(big)
    blob1 = rng.randbytes(big)
    blob2 = rng.randbytes(big + 1)
    return [
        pk.InitCommandRequest(bytes(range(16)), "writèr"),
        pk.InitCommandAck(1, bytes(range(16, 32)), "rèmote", None),
        pk.InitEventRequest(1),
        pk.InitEventAck(),
        pk.OperationRequest(1, 0x1001, 0),
        pk.StartData(0, 3 + big + 2 + big + 1),
        pk.Data(0, b"abc"),
        pk.Data(0, blob1),
        pk.Data(0, b""),
        pk.Data(0, b"de"),
        pk.EndData(0, blob2),
        pk.OperationResponse(0x2001, 0, (1, 2, 3)),
        pk.Event(0x4002, 0, (0x10,)),
        pk.ProbeRequest(),
        pk.ProbeResponse(),
        pk.OperationRequest(2, 0x1016, 1, (0x5001,)),
        pk.StartData(1, 2),
        pk.EndData(1, b"\x05\x00"),
        pk.OperationResponse(0x2001, 1),
        pk.Cancel(2),
        pk.StartData(3, pk.UNKNOWN_LENGTH),
        pk.EndData(3, b""),
        pk.InitFail(0x2019),
    ]


def generic_expected(packets: list[pk.Packet]) -> Logical:
    """The logical result computed from the oracle packets (not from any decoder)."""
    return logical(packets)


SMALL_GENERIC = generic_packets(big=40)
SMALL_GENERIC_STREAM = b"".join(pk.encode(p) for p in SMALL_GENERIC)


def test_small_generic_stream_is_a_few_hundred_bytes() -> None:
    assert 300 <= len(SMALL_GENERIC_STREAM) <= 700


@pytest.mark.parametrize("threshold", [DEFAULT_STREAM_THRESHOLD, 32], ids=["whole", "streamed"])
def test_generic_split_at_every_offset(threshold: int) -> None:
    """threshold 32: the 40- and 41-byte data packets (52/53 bytes on the wire) come out in pieces."""
    expected = generic_expected(SMALL_GENERIC)
    stream = SMALL_GENERIC_STREAM
    for offset in range(len(stream) + 1):
        codec = GenericCodec(Role.INITIATOR, stream_threshold=threshold)
        assert feed(codec, cut(stream, [offset])) == expected, offset
        assert_between_packets(codec)


@pytest.mark.parametrize("threshold", [DEFAULT_STREAM_THRESHOLD, 32], ids=["whole", "streamed"])
def test_generic_byte_by_byte(threshold: int) -> None:
    stream = SMALL_GENERIC_STREAM
    pieces = [stream[i : i + 1] for i in range(len(stream))]
    codec = GenericCodec(Role.RESPONDER, stream_threshold=threshold)
    assert feed(codec, pieces) == generic_expected(SMALL_GENERIC)


def test_generic_streams_big_data_in_pieces() -> None:
    """With the threshold at 32, the big packets really are delivered as several Data values."""
    seen: list[Decoded] = []
    stream = SMALL_GENERIC_STREAM
    feed(
        GenericCodec(Role.INITIATOR, stream_threshold=32),
        [stream[i : i + 7] for i in range(0, len(stream), 7)],
        seen.append,
    )
    pieces_of_tid0 = [e for e in seen if isinstance(e, pk.Data | pk.EndData) and e.transaction_id == 0]
    assert len(pieces_of_tid0) > 5


BIG = DEFAULT_STREAM_THRESHOLD + 50_000
BIG_GENERIC = generic_packets(big=BIG)
BIG_GENERIC_STREAM = b"".join(pk.encode(p) for p in BIG_GENERIC)
BIG_GENERIC_EXPECTED = generic_expected(BIG_GENERIC)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(BIG_GENERIC_STREAM)), max_size=12))
def test_generic_big_stream_any_split(offsets: list[int]) -> None:
    codec = GenericCodec(Role.INITIATOR)
    assert feed(codec, cut(BIG_GENERIC_STREAM, offsets)) == BIG_GENERIC_EXPECTED
    assert_between_packets(codec)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, len(BIG_GENERIC_STREAM)), st.integers(500, 70_000))
def test_generic_big_stream_regular_pieces(start: int, size: int) -> None:
    """A first piece of any size, then regular pieces (like a socket delivering fixed-size reads)."""
    stream = BIG_GENERIC_STREAM
    offsets = [start, *range(start + size, len(stream), size)]
    assert feed(GenericCodec(Role.INITIATOR), cut(stream, offsets)) == BIG_GENERIC_EXPECTED


def test_generic_big_stream_really_streams() -> None:
    """The big Data/EndData go over the default threshold, so they must arrive in several pieces."""
    seen: list[Decoded] = []
    stream = BIG_GENERIC_STREAM
    feed(GenericCodec(Role.INITIATOR), cut(stream, range(0, len(stream), 65536)), seen.append)
    assert sum(isinstance(e, pk.Data) and e.transaction_id == 0 for e in seen) > 6
    assert max(len(e.payload) for e in seen if isinstance(e, pk.Data | pk.EndData)) <= 65536


# --------------------------------------------------------------------------------------------
# Fuji streams (the initiator's command port: PTP/IP handshake, then containers)


def fuji_initiator_stream(big: int) -> tuple[bytes, Logical]:
    """Bytes a Fuji camera sends on the command port, and the logical result an initiator must see."""
    rng = random.Random(big)
    preview = b"\xff\xd8" + rng.randbytes(big)
    df24 = vector("xt1_get_prop_DF24_data").data  # 4 bytes of data, TID 57636
    pieces: list[bytes] = [
        pk.encode(pk.InitCommandAck(1, bytes(16), "X-T1", 0)),
        encode_container(Container.with_params(ContainerKind.Response, 0x2001, 1, ())),
        df24,
        vector("xt1_get_prop_DF24_response").data,
        encode_container(Container(ContainerKind.Data, 0x9022, 7, preview)),
        encode_container(Container.with_params(ContainerKind.Response, 0x2001, 7, (len(preview),))),
        encode_container(Container(ContainerKind.Data, 0x1015, 8, b"")),
        encode_container(Container.with_params(ContainerKind.Event, 0xC001, 1, (6, 6, 0xF129, 0))),
        TERMINATE_MARKER,
    ]
    order: list[object] = [
        pk.InitCommandAck(1, bytes(16), "X-T1", 0),
        pk.OperationResponse(0x2001, 1),
        pk.StartData(57636, 4),
        EndOfData(57636),
        pk.OperationResponse(0x2001, 57636),
        pk.StartData(7, len(preview)),
        EndOfData(7),
        pk.OperationResponse(0x2001, 7, (len(preview),)),
        pk.StartData(8, 0),
        EndOfData(8),
        pk.Event(0xC001, 1, (6, 6, 0xF129, 0)),
        TerminateMarker(),
    ]
    data = {57636: df24[12:], 7: preview, 8: b""}
    return b"".join(pieces), (order, data)


SMALL_FUJI_STREAM, SMALL_FUJI_EXPECTED = fuji_initiator_stream(big=60)


@pytest.mark.parametrize("threshold", [DEFAULT_STREAM_THRESHOLD, 40], ids=["whole", "streamed"])
def test_fuji_split_at_every_offset(threshold: int) -> None:
    stream = SMALL_FUJI_STREAM
    assert 200 <= len(stream) <= 500
    for offset in range(len(stream) + 1):
        codec = FujiCodec(Role.INITIATOR, stream_threshold=threshold)
        assert feed(codec, cut(stream, [offset])) == SMALL_FUJI_EXPECTED, offset
        assert codec.containers  # switched to containers by the ack


BIG_FUJI_STREAM, BIG_FUJI_EXPECTED = fuji_initiator_stream(big=DEFAULT_STREAM_THRESHOLD + 30_000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(BIG_FUJI_STREAM)), max_size=12))
def test_fuji_big_stream_any_split(offsets: list[int]) -> None:
    assert feed(FujiCodec(Role.INITIATOR), cut(BIG_FUJI_STREAM, offsets)) == BIG_FUJI_EXPECTED


def test_fuji_big_container_really_streams() -> None:
    seen: list[Decoded] = []
    stream = BIG_FUJI_STREAM
    feed(FujiCodec(Role.INITIATOR), cut(stream, range(0, len(stream), 65536)), seen.append)
    assert sum(isinstance(e, pk.Data) and e.transaction_id == 7 for e in seen) > 3


# The responder side: the init request (sent twice, as libgphoto2 2.5.30 does), then containers.

FUJI_GUID = bytes(range(0x40, 0x50))


def fuji_responder_stream() -> tuple[bytes, Logical]:
    init = encode_init_command_request(FUJI_GUID, "HackedClient")
    df01 = vector("app_set_prop_DF01_data").data
    pieces = [
        init,
        init,  # libgphoto2 repeats it; read as a container it would be garbage
        vector("app_set_prop_DF01_command").data,
        df01,
        vector("get_902B_command_malc0mn").data,
        vector("get_partial_object_command_receive").data,
        TERMINATE_MARKER,
    ]
    request = FujiInitCommandRequest(FUJI_GUID, "HackedClient", FUJI_PROTOCOL_VERSION, True)
    order: list[object] = [
        request,
        request,
        pk.OperationRequest(1, 0x1016, 3, (0xDF01,)),
        pk.StartData(3, 2),
        EndOfData(3),
        pk.OperationRequest(1, 0x902B, 7, (0, 0, 0, 0, 0)),
        pk.OperationRequest(1, 0x101B, 48, (1, 0, 0x00088168)),
        TerminateMarker(),
    ]
    return b"".join(pieces), (order, {3: df01[12:]})


def test_fuji_responder_split_at_every_offset() -> None:
    stream, expected = fuji_responder_stream()
    for offset in range(len(stream) + 1):
        codec = FujiCodec(Role.RESPONDER)

        def on_packet(p: Decoded, codec: FujiCodec = codec) -> None:
            if isinstance(p, FujiInitCommandRequest):
                codec.start_containers()  # what a responder does once it has sent its ack

        assert feed(codec, cut(stream, [offset]), on_packet) == expected, offset


# --------------------------------------------------------------------------------------------
# FrameReader on its own


def _is_streamed(head: bytes) -> bool:
    return head[4] == 0xDA


def reassemble(reader: FrameReader, pieces: Sequence[bytes]) -> list[bytes]:
    frames: list[bytes] = []
    current: bytearray | None = None
    for piece in pieces:
        reader.receive_data(piece)
        while (f := reader.next_frame()) is not None:
            if isinstance(f, FrameHead):
                assert current is None
                assert len(f.head) == reader.head_size
                current = bytearray(f.head)
                expected_length = f.length
            elif isinstance(f, FrameChunk):
                assert current is not None
                current += f.data
                if f.last:
                    assert len(current) == expected_length
                    frames.append(bytes(current))
                    current = None
            else:
                assert current is None
                frames.append(f)
    assert current is None
    return frames


def frames_for_reader() -> list[bytes]:
    rng = random.Random(7)
    frames = []
    for size, kind in [(4, 1), (8, 0xDA), (20, 0xDA), (21, 0xDA), (90, 0xDA), (21, 2), (60, 3), (6, 0xDA)]:
        body = bytes([kind]) + rng.randbytes(size - 5) if size > 4 else b""
        frames.append(size.to_bytes(4, "little") + body)
    return frames


def test_frame_reader_split_at_every_offset() -> None:
    frames = frames_for_reader()
    stream = b"".join(frames)
    for offset in range(len(stream) + 1):
        for a in (offset, len(stream) - offset):
            reader = FrameReader(
                min_length=4, head_size=8, is_streamed=_is_streamed, stream_threshold=20, max_length=100
            )
            assert reassemble(reader, cut(stream, [a, offset // 2])) == frames
            assert reassemble(reader, [frames[2]]) == [frames[2]]  # nothing of a frame was left behind


@given(st.lists(st.integers(0, 300), max_size=20))
def test_frame_reader_any_split(offsets: list[int]) -> None:
    frames = frames_for_reader()
    stream = b"".join(frames)
    reader = FrameReader(
        min_length=4, head_size=8, is_streamed=_is_streamed, stream_threshold=20, max_length=100
    )
    assert reassemble(reader, cut(stream, offsets)) == frames


def test_frame_reader_streams_only_what_it_may() -> None:
    """Frames over the threshold come as head + chunks only when is_streamed says so."""
    frames = frames_for_reader()
    reader = FrameReader(
        min_length=4, head_size=8, is_streamed=_is_streamed, stream_threshold=20, max_length=100
    )
    reader.receive_data(b"".join(frames))
    kinds = []
    while (f := reader.next_frame()) is not None:
        kinds.append(type(f).__name__)
    # 4, 8, 20 whole; 21 (0xDA) streamed; 90 (0xDA) streamed; 21 (kind 2) whole; 60 whole; 6 whole
    assert kinds == [
        "bytes",
        "bytes",
        "bytes",
        "FrameHead",
        "FrameChunk",
        "FrameHead",
        "FrameChunk",
        "bytes",
        "bytes",
        "bytes",
    ]


def test_frame_reader_keeps_no_view_of_the_callers_buffer() -> None:
    """After next_frame() returns None, the caller may reuse its buffer (the transport does)."""
    frames = frames_for_reader()
    stream = b"".join(frames)
    buf = bytearray(16)
    reader = FrameReader(
        min_length=4, head_size=8, is_streamed=_is_streamed, stream_threshold=20, max_length=100
    )
    got: list[bytes] = []
    current = bytearray()
    for i in range(0, len(stream), 16):
        piece = stream[i : i + 16]
        buf[: len(piece)] = piece
        reader.receive_data(memoryview(buf)[: len(piece)])
        while (f := reader.next_frame()) is not None:
            if isinstance(f, FrameHead):
                current = bytearray(f.head)
            elif isinstance(f, FrameChunk):
                current += f.data
                if f.last:
                    got.append(bytes(current))
            else:
                got.append(f)
        buf[:] = b"\xee" * 16  # scribble over it, as the next recv_into would
    assert got == frames


# --------------------------------------------------------------------------------------------
# Live view


def liveview_frames() -> list[StreamFrame]:
    rng = random.Random(3)
    return [
        StreamFrame(n, b"\xff\xd8" + rng.randbytes(size) + b"\xff\xd9")
        for n, size in [(0, 0), (1, 30), (0x1FF, 70), (2, 5)]
    ]


def test_liveview_split_at_every_offset() -> None:
    frames = liveview_frames()
    stream = b"".join(encode_frame(f.counter, f.jpeg) for f in frames)
    for offset in range(len(stream) + 1):
        reader = LiveViewReader()
        got = []
        for piece in cut(stream, [offset]):
            reader.receive_data(piece)
            while (f := reader.next_frame()) is not None:
                got.append(f)
        assert got == frames, offset


@settings(deadline=None)
@given(st.lists(st.integers(0, 400), max_size=30))
def test_liveview_any_split(offsets: list[int]) -> None:
    frames = liveview_frames()
    stream = b"".join(encode_frame(f.counter, f.jpeg, marker=0x495E) for f in frames)
    reader = LiveViewReader()
    got = []
    for piece in cut(stream, offsets):
        reader.receive_data(piece)
        while (f := reader.next_frame()) is not None:
            got.append(f)
    assert got == frames
