"""Fuji live-view frames (FUJI.md §13): length, 14 header bytes we do not trust, then a JPEG."""

from __future__ import annotations

import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.fuji_liveview import HEADER_SIZE, LiveViewReader, StreamFrame, decode_frame, encode_frame

jpegs = st.binary(max_size=300).map(lambda b: b"\xff\xd8" + b)


def test_layout() -> None:
    jpeg = b"\xff\xd8\x01\x02\xff\xd9"
    frame = encode_frame(0x01020304, jpeg, marker=0x495E)
    assert len(frame) == 18 + len(jpeg) == struct.unpack_from("<I", frame)[0]
    assert frame[4:8] == bytes(4)
    assert struct.unpack_from("<I", frame, 8)[0] == 0x01020304
    assert frame[12:16] == bytes(4)
    assert frame[16:18] == b"\x5e\x49"
    assert frame[HEADER_SIZE:] == jpeg


@given(st.integers(0, 0xFFFF_FFFF), jpegs, st.integers(0, 0xFFFF))
def test_roundtrip(counter: int, jpeg: bytes, marker: int) -> None:
    assume(marker != 0xD8FF)  # see test_marker_that_reads_as_ff_d8
    assert decode_frame(encode_frame(counter, jpeg, marker)) == StreamFrame(counter, jpeg)


def test_marker_that_reads_as_ff_d8() -> None:
    jpeg = b"\xff\xd8\x00\x01"
    assert decode_frame(encode_frame(5, jpeg, marker=0xD8FF)).jpeg == jpeg


def test_counter_bytes_that_read_as_ff_d8_do_not_confuse() -> None:
    """FF D8 before offset 14 (here in the counter) is header, not JPEG."""
    jpeg = b"\xff\xd8\x10\x20"
    frame = encode_frame(0xD8FF_D8FF, jpeg)
    assert frame[8:12] == b"\xff\xd8\xff\xd8"
    assert decode_frame(frame) == StreamFrame(0xD8FF_D8FF, jpeg)


@pytest.mark.parametrize("offset", [14, 15, 18, 19, 40])
def test_jpeg_found_wherever_it_starts_after_14(offset: int) -> None:
    """libgphoto2 counts 14 bytes before FF D8, hkr and malc0mn 18: take the first FF D8 from 14 on."""
    jpeg = b"\xff\xd8\xaa\xbb\xff\xd9"
    header = struct.pack("<II", 0, 77) + b"\x4b" * (offset - 12)  # zero, counter, filler
    frame = struct.pack("<I", 4 + len(header) + len(jpeg)) + header + jpeg
    assert frame.index(b"\xff\xd8") == offset
    assert decode_frame(frame) == StreamFrame(77, jpeg)
    reader = LiveViewReader()
    reader.receive_data(frame)
    assert reader.next_frame() == StreamFrame(77, jpeg)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(struct.pack("<IIIIH", 22, 0, 1, 0, 0xFFFF) + b"JPEG", id="no-ff-d8"),
        pytest.param(struct.pack("<IIIIH", 19, 0, 1, 0, 0xFFFF) + b"\xff", id="half-a-marker"),
        pytest.param(struct.pack("<II", 18, 0) + b"\xff\xd8" + bytes(8), id="ff-d8-only-before-14"),
        pytest.param(struct.pack("<IIIIH", 18, 0, 1, 0, 0xFFFF), id="header-only"),
        pytest.param(bytes(17), id="shorter-than-header"),
    ],
)
def test_frame_without_jpeg_is_an_error(frame: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_frame(frame)


def test_reader_refuses_frame_without_jpeg() -> None:
    reader = LiveViewReader()
    reader.receive_data(struct.pack("<IIIIH", 22, 0, 1, 0, 0xFFFF) + b"JPEG")
    with pytest.raises(RemoteProtocolError):
        reader.next_frame()


def test_encode_refuses_non_jpeg() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(1, b"GIF89a")


def test_reader_cap() -> None:
    reader = LiveViewReader(max_frame=1000)
    small = encode_frame(1, b"\xff\xd8" + bytes(900))
    reader.receive_data(small)
    assert reader.next_frame() == StreamFrame(1, b"\xff\xd8" + bytes(900))
    reader.receive_data(encode_frame(2, b"\xff\xd8" + bytes(990))[:18])
    with pytest.raises(RemoteProtocolError):
        reader.next_frame()
