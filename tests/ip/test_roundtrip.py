"""Property tests: every packet type, Fuji container and init request survives encode → decode unchanged.

Plus the converse edges: fields the encoders must refuse (LocalProtocolError) and malformed packets the
decoders must refuse (RemoteProtocolError).
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Role
from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.fuji import (
    FUJI_PROTOCOL_VERSION,
    INIT_REQUEST_SIZE,
    MAX_NAME_CHARS,
    Container,
    ContainerKind,
    FujiCodec,
    FujiInitCommandRequest,
    decode_container,
    decode_init_command_request,
    encode_container,
    encode_init_command_request,
)
from ptpipd.ip.generic import DATA_CHUNK, GenericCodec
from tests.ip.codecs import assert_between_packets

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
guids = st.binary(min_size=16, max_size=16)
#: Friendly names: any BMP text but NUL and lone surrogates (which UTF-16 cannot carry).
bmp_chars = st.characters(min_codepoint=1, max_codepoint=0xFFFF, exclude_categories=["Cs"])
names = st.text(bmp_chars, max_size=40)
versions = st.none() | u32
payloads = st.binary(max_size=200)


def params(most: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(u32, max_size=most).map(tuple)


PACKETS: dict[type, st.SearchStrategy[pk.Packet]] = {
    pk.InitCommandRequest: st.builds(pk.InitCommandRequest, guids, names, versions),
    pk.InitCommandAck: st.builds(pk.InitCommandAck, u32, guids, names, versions),
    pk.InitEventRequest: st.builds(pk.InitEventRequest, u32),
    pk.InitEventAck: st.just(pk.InitEventAck()),
    pk.InitFail: st.builds(pk.InitFail, u32),
    pk.OperationRequest: st.builds(pk.OperationRequest, u32, u16, u32, params(5)),
    pk.OperationResponse: st.builds(pk.OperationResponse, u16, u32, params(5)),
    pk.Event: st.builds(pk.Event, u16, u32, params(3)),
    pk.StartData: st.builds(pk.StartData, u32, u64),
    pk.Data: st.builds(pk.Data, u32, payloads),
    pk.Cancel: st.builds(pk.Cancel, u32),
    pk.EndData: st.builds(pk.EndData, u32, payloads),
    pk.ProbeRequest: st.just(pk.ProbeRequest()),
    pk.ProbeResponse: st.just(pk.ProbeResponse()),
}


def test_every_packet_type_has_a_strategy() -> None:
    assert {pk.PacketType[cls.__name__] for cls in PACKETS} == set(pk.PacketType)
    assert len(PACKETS) == 14


@pytest.mark.parametrize("cls", [pytest.param(cls, id=cls.__name__) for cls in PACKETS])
@given(data=st.data())
def test_packet_roundtrip(cls: type, data: st.DataObject) -> None:
    packet = data.draw(PACKETS[cls])
    wire = pk.encode(packet)
    length, ptype = struct.unpack_from("<II", wire)
    assert length == len(wire)
    assert ptype == pk.PacketType[type(packet).__name__] == pk.PacketType[cls.__name__]
    assert pk.decode_generic(wire) == packet
    # and through the streaming codec, fed in two pieces
    codec = GenericCodec(Role.INITIATOR)
    cut = data.draw(st.integers(0, len(wire)))
    codec.receive_data(wire[:cut])
    first = codec.next_event()
    codec.receive_data(wire[cut:])
    got = first if first is not None else codec.next_event()
    assert got == packet
    assert codec.next_event() is None


@given(st.lists(st.sampled_from(list(PACKETS.values())).flatmap(lambda s: s), max_size=12))
def test_packet_sequence_through_codec(packets: list[pk.Packet]) -> None:
    codec = GenericCodec(Role.RESPONDER)
    codec.receive_data(b"".join(pk.encode(p) for p in packets))
    out = []
    while (p := codec.next_event()) is not None:
        out.append(p)
    assert out == packets
    assert_between_packets(codec)


# --------------------------------------------------------------------------------------------
# Fuji

containers = st.builds(Container, u16, u16, u32, st.binary(max_size=300))


@given(containers)
def test_container_roundtrip(c: Container) -> None:
    wire = encode_container(c)
    assert struct.unpack_from("<IHHI", wire) == (len(wire), c.kind, c.code, c.transaction_id)
    assert decode_container(wire) == c


@given(st.sampled_from(list(ContainerKind)), u16, u32, params(5))
def test_container_with_params_roundtrip(
    kind: ContainerKind, code: int, tid: int, ps: tuple[int, ...]
) -> None:
    c = Container.with_params(kind, code, tid, ps)
    assert len(c.payload) == 4 * len(ps)
    assert decode_container(encode_container(c)).params == ps


FUJI_PACKETS = st.one_of(
    st.builds(pk.OperationRequest, st.just(pk.DataPhase.NoDataOrDataIn), u16, u32, params(5)),
    st.builds(pk.OperationResponse, u16, u32, params(5)),
    st.builds(pk.Event, u16, u32, params(5)),  # Fuji events carry 4 words
)


@given(st.lists(FUJI_PACKETS, max_size=10))
def test_fuji_codec_roundtrip(packets: list[pk.Packet]) -> None:
    sender = FujiCodec(Role.INITIATOR, containers=True)
    receiver = FujiCodec(Role.RESPONDER, containers=True)
    receiver.receive_data(b"".join(sender.encode(p) for p in packets))
    out = []
    while (p := receiver.next_event()) is not None:
        out.append(p)
    assert out == packets


@given(u32, u16, st.binary(max_size=600))
def test_fuji_data_roundtrip(tid: int, code: int, payload: bytes) -> None:
    sender = FujiCodec(Role.RESPONDER, containers=True)
    (wire,) = sender.encode_data(tid, code, payload)
    assert wire == encode_container(Container(ContainerKind.Data, code, tid, payload))
    pieces = b"".join(sender.data_pieces(tid, code, len(payload), iter([payload[:7], payload[7:]])))
    assert pieces == wire
    receiver = FujiCodec(Role.INITIATOR, containers=True)
    receiver.receive_data(wire)
    assert receiver.next_event() == pk.StartData(tid, len(payload))
    assert receiver.next_event() == pk.EndData(tid, payload)
    assert receiver.next_event() is None


fuji_names = st.text(bmp_chars, max_size=MAX_NAME_CHARS)
fuji_inits = st.builds(FujiInitCommandRequest, guids, fuji_names, u32, st.booleans())


@given(fuji_inits)
def test_fuji_init_roundtrip(request: FujiInitCommandRequest) -> None:
    wire = encode_init_command_request(
        request.guid, request.name, fixed_length=request.fixed_length, version=request.version
    )
    assert struct.unpack_from("<III", wire) == (len(wire), 1, request.version)
    if request.fixed_length:
        assert len(wire) == INIT_REQUEST_SIZE
    else:
        assert len(wire) == 28 + 2 * (len(request.name) + 1)
    # The variable form of a 26-character name is byte-identical to the fixed form, so it reads back as
    # fixed; every other request reads back exactly.
    expected = dataclasses.replace(request, fixed_length=len(wire) == INIT_REQUEST_SIZE)
    assert decode_init_command_request(wire) == expected
    if request.version == FUJI_PROTOCOL_VERSION:
        assert (
            encode_init_command_request(request.guid, request.name, fixed_length=request.fixed_length) == wire
        )


def test_fuji_init_name_too_long_for_fixed_form() -> None:
    with pytest.raises(LocalProtocolError):
        encode_init_command_request(bytes(16), "x" * (MAX_NAME_CHARS + 1))
    # the variable form has no such limit
    wire = encode_init_command_request(bytes(16), "x" * 40, fixed_length=False)
    assert decode_init_command_request(wire).name == "x" * 40


# --------------------------------------------------------------------------------------------
# Data phases written in pieces


@given(u32, st.lists(st.binary(max_size=50), max_size=6))
def test_generic_data_pieces_decode_to_the_payload(tid: int, chunks: list[bytes]) -> None:
    total = sum(len(c) for c in chunks)
    wire = b"".join(
        bytes(p) for p in GenericCodec(Role.RESPONDER).data_pieces(tid, 0x1009, total, iter(chunks))
    )
    codec = GenericCodec(Role.INITIATOR)
    codec.receive_data(wire)
    out = []
    while (p := codec.next_event()) is not None:
        out.append(p)
    assert out[0] == pk.StartData(tid, total)
    assert isinstance(out[-1], pk.EndData)
    assert all(isinstance(p, pk.Data) for p in out[1:-1])
    assert b"".join(bytes(p.payload) for p in out[1:]) == b"".join(chunks)


def test_generic_encode_data_chunks_at_one_mib() -> None:
    assert DATA_CHUNK == 1 << 20  # "Data packets of at most 1 MiB" (GenericCodec.encode_data)
    payload = bytes(range(256)) * (DATA_CHUNK // 256 * 2 + 3)
    packets = GenericCodec(Role.INITIATOR).encode_data(9, 0x1016, payload)
    decoded = [pk.decode_generic(p) for p in packets]
    assert decoded[0] == pk.StartData(9, len(payload))
    assert [type(p) for p in decoded[1:]] == [pk.Data, pk.Data, pk.EndData]
    assert [len(p.payload) for p in decoded[1:]] == [DATA_CHUNK, DATA_CHUNK, 3 * 256]  # type: ignore[union-attr]
    assert b"".join(bytes(p.payload) for p in decoded[1:]) == payload  # type: ignore[union-attr]
    # An empty data phase is StartData(0) and one empty EndData (PTPIP.md §7).
    assert [pk.decode_generic(p) for p in GenericCodec(Role.INITIATOR).encode_data(3, 0, b"")] == [
        pk.StartData(3, 0),
        pk.EndData(3, b""),
    ]


@pytest.mark.parametrize("codec", [GenericCodec(Role.RESPONDER), FujiCodec(Role.RESPONDER, containers=True)])
@pytest.mark.parametrize("produced", [3, 5])
def test_data_pieces_must_add_up(codec: GenericCodec | FujiCodec, produced: int) -> None:
    with pytest.raises(LocalProtocolError):
        list(codec.data_pieces(1, 0x1009, 4, iter([b"x" * produced])))


# --------------------------------------------------------------------------------------------
# Fields the encoders refuse

BAD_PACKETS = {
    "guid-15-bytes": pk.InitCommandRequest(bytes(15), "n"),
    "guid-17-bytes": pk.InitCommandAck(1, bytes(17), "n"),
    "name-with-nul": pk.InitCommandRequest(bytes(16), "a\x00b"),
    "connection-number-33-bits": pk.InitEventRequest(1 << 32),
    "negative-reason": pk.InitFail(-1),
    "opcode-17-bits": pk.OperationRequest(1, 0x10000, 1),
    "six-request-params": pk.OperationRequest(1, 0x1001, 1, (0,) * 6),
    "param-33-bits": pk.OperationResponse(0x2001, 1, (1 << 32,)),
    "six-response-params": pk.OperationResponse(0x2001, 1, (0,) * 6),
    "four-event-params": pk.Event(0x4002, 1, (0,) * 4),
    "tid-33-bits": pk.Cancel(1 << 32),
    "total-65-bits": pk.StartData(1, 1 << 64),
}


@pytest.mark.parametrize("packet", [pytest.param(p, id=k) for k, p in BAD_PACKETS.items()])
def test_encode_refuses_bad_fields(packet: pk.Packet) -> None:
    with pytest.raises(LocalProtocolError):
        pk.encode(packet)


def test_encode_refuses_unencodable_name() -> None:
    with pytest.raises(LocalProtocolError):
        pk.encode(pk.InitCommandRequest(bytes(16), "\ud800"))


def test_fuji_encode_refuses_what_it_cannot_carry() -> None:
    codec = FujiCodec(Role.RESPONDER, containers=True)
    for packet in (pk.StartData(1, 2), pk.Data(1, b"x"), pk.EndData(1), pk.ProbeRequest(), pk.Cancel(1)):
        with pytest.raises(LocalProtocolError):
            codec.encode(packet)
    with pytest.raises(LocalProtocolError):
        encode_container(Container(0x10000, 0, 0))
    with pytest.raises(LocalProtocolError):
        Container.with_params(ContainerKind.Command, 0x1001, 1, (1 << 32,))


# --------------------------------------------------------------------------------------------
# Malformed packets the decoders refuse


def _packet(ptype: int, body: bytes) -> bytes:
    return struct.pack("<II", 8 + len(body), ptype) + body


MALFORMED = {
    "shorter-than-header": b"\x08\x00\x00\x00\x0d\x00",
    "length-says-more": struct.pack("<II", 9, 13),
    "length-says-less": struct.pack("<II", 8, 13) + b"\x00",
    "unknown-type-0": _packet(0, b""),
    "unknown-type-15": _packet(15, b""),
    "init-request-no-nul": _packet(1, bytes(16) + b"a\x00b\x00"),
    "init-request-odd-tail": _packet(1, bytes(16) + b"a\x00\x00\x00" + b"\x01\x00"),
    "init-request-bad-utf16": _packet(1, bytes(16) + b"\x00\xd8\x00\x00"),
    "init-ack-too-short": _packet(2, bytes(21)),
    "event-request-5-bytes": _packet(3, bytes(5)),
    "event-ack-with-payload": _packet(4, bytes(4)),
    "init-fail-3-bytes": _packet(5, bytes(3)),
    "request-too-short": _packet(6, bytes(9)),
    "request-odd-params": _packet(6, bytes(10 + 3)),
    "request-six-params": _packet(6, bytes(10 + 24)),
    "response-odd-params": _packet(7, bytes(6 + 2)),
    "response-six-params": _packet(7, bytes(6 + 24)),
    "event-four-params": _packet(8, bytes(6 + 16)),
    "start-data-short": _packet(9, bytes(11)),
    "data-without-tid": _packet(10, bytes(3)),
    "cancel-8-bytes": _packet(11, bytes(8)),
    "end-data-without-tid": _packet(12, b""),
    "probe-with-payload": _packet(13, b"\x00"),
    "probe-response-with-payload": _packet(14, b"\x00"),
}


@pytest.mark.parametrize("wire", [pytest.param(w, id=k) for k, w in MALFORMED.items()])
def test_decode_refuses_malformed(wire: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        pk.decode_generic(wire)


FUJI_MALFORMED = {
    "container-params-not-u32": encode_container(Container(ContainerKind.Response, 0x2001, 1, b"\x01\x00")),
    "command-six-params": encode_container(Container(ContainerKind.Command, 0x1001, 1, bytes(24))),
    "response-six-params": encode_container(Container(ContainerKind.Response, 0x2001, 1, bytes(24))),
    "unknown-kind-5": encode_container(Container(5, 0x1001, 1)),
    "unknown-kind-0": encode_container(Container(0, 0x1001, 1)),
    "container-under-12-bytes": b"\x0a\x00\x00\x00\x03\x00\x01\x20\x00\x00",
}


@pytest.mark.parametrize("wire", [pytest.param(w, id=k) for k, w in FUJI_MALFORMED.items()])
def test_fuji_codec_refuses_malformed(wire: bytes) -> None:
    codec = FujiCodec(Role.INITIATOR, containers=True)
    codec.receive_data(wire)
    with pytest.raises(RemoteProtocolError):
        codec.next_event()


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(encode_init_command_request(bytes(16), "ab")[:29], id="too-short"),
        pytest.param(encode_init_command_request(bytes(16), "ab")[:-1], id="length-mismatch"),
        pytest.param(
            struct.pack("<II", 82, 2) + encode_init_command_request(bytes(16), "ab")[8:], id="wrong-type"
        ),
        pytest.param(encode_init_command_request(bytes(16), "ab")[:-2] + b"\x01\x00", id="junk-after-name"),
        pytest.param(
            struct.pack("<III", 34, 1, FUJI_PROTOCOL_VERSION) + bytes(16) + b"a\x00b\x00", id="no-nul"
        ),
    ],
)
def test_fuji_init_request_refuses_malformed(wire: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_init_command_request(wire)
