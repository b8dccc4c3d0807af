"""Every PTP/IP and Fuji transport vector decodes to its recorded ``meaning`` and re-encodes byte for byte.

The expected objects are built from the ``meaning`` dicts (not from the decoder's output), so a decoder and
an encoder that were wrong in the same way would still fail here.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

import pytest

from ptpipd.ip import fuji
from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import (
    Container,
    ContainerKind,
    FujiCodec,
    FujiInitCommandRequest,
    TerminateMarker,
    decode_container,
    decode_init_command_request,
    encode_container,
)
from ptpipd.ip.generic import GenericCodec
from tests.vectors import Vector, load_vectors, parse_int, vector

# --------------------------------------------------------------------------------------------
# Which vectors


def _is_fuji_transport(v: Vector) -> bool:
    return (
        (v.channel.startswith("command/data") or v.channel.startswith("event"))
        and not v.payload_only
        and v.complete
    )


GENERIC_VECTORS = load_vectors("generic_handshake.json")
GENERIC_PACKETS = [pytest.param(v, id=v.name) for v in GENERIC_VECTORS if "PacketType" in v.meaning]
FUJI_FILES = ("datasets.json", *sorted(p for p in {v.file for v in load_vectors()} if p.startswith("fuji_")))
FUJI_ALL = load_vectors(*FUJI_FILES)
FUJI_VECTORS = [pytest.param(v, id=v.name) for v in FUJI_ALL if _is_fuji_transport(v)]
FUJI_CONTAINERS = [
    pytest.param(v, id=v.name)
    for v in FUJI_ALL
    if _is_fuji_transport(v) and "PacketType" not in v.meaning and "Body" not in v.meaning
]
FUJI_EVENTS = [pytest.param(v, id=v.name) for v in FUJI_ALL if v.channel.startswith("event")]


def test_vector_selection_is_not_empty() -> None:
    # 9 whole packets + the name fragment in generic_handshake.json.
    assert len(GENERIC_PACKETS) == 9
    assert len(GENERIC_VECTORS) == 10
    # Every transport vector of the Fuji files and datasets.json, minus the payload-only ones and the
    # incomplete preview prefix: 5 payload-only + 1 incomplete + the DeviceInfo dataset are left out.
    total = len(FUJI_ALL)
    assert total == 6 + 5 + 8 + 7 + 17 + 70 + 9
    assert len(FUJI_VECTORS) == total - 5 - 1 - 1
    assert len(FUJI_CONTAINERS) == len(FUJI_VECTORS) - 3 - 1  # 2 init requests, InitFail, marker
    assert len(FUJI_EVENTS) == 3


# --------------------------------------------------------------------------------------------
# Reading the meaning dicts


def _key(meaning: dict[str, Any], prefix: str) -> Any:
    """The value of the one meaning key that starts with ``prefix``."""
    keys = [k for k in meaning if k == prefix or k.startswith(prefix + " ")]
    assert len(keys) == 1, (prefix, list(meaning))
    return meaning[keys[0]]


def _guid(meaning: dict[str, Any]) -> bytes:
    if "GUID_bytes" in meaning:
        return bytes.fromhex(meaning["GUID_bytes"])
    return uuid.UUID(meaning["GUID_as_RFC4122_string"]).bytes


def _version(text: str) -> int | None:
    return None if text == "absent" else parse_int(text)


def _params(meaning: dict[str, Any]) -> tuple[int, ...]:
    return tuple(parse_int(p) for p in meaning.get("Parameters", []))


# --------------------------------------------------------------------------------------------
# Standard PTP/IP


def _generic_expected(m: dict[str, Any]) -> pk.Packet:
    """The packet dataclass the meaning of a generic_handshake vector describes."""
    ptype = pk.PacketType(parse_int(m["PacketType"]))
    match ptype:
        case pk.PacketType.InitCommandRequest:
            return pk.InitCommandRequest(_guid(m), m["FriendlyName"], _version(m["ProtocolVersion"]))
        case pk.PacketType.InitCommandAck:
            return pk.InitCommandAck(
                m["ConnectionNumber"], _guid(m), m["FriendlyName"], _version(m["ProtocolVersion"])
            )
        case pk.PacketType.InitEventRequest:
            return pk.InitEventRequest(m["ConnectionNumber"])
        case pk.PacketType.InitEventAck:
            return pk.InitEventAck()
        case pk.PacketType.InitFail:
            return pk.InitFail(parse_int(m["Reason"]))
        case pk.PacketType.OperationRequest:
            return pk.OperationRequest(
                parse_int(m["DataPhaseInfo"]),
                parse_int(m["OperationCode"]),
                m["TransactionID"],
                _params(m),
            )
        case pk.PacketType.OperationResponse:
            return pk.OperationResponse(parse_int(m["ResponseCode"]), m["TransactionID"], _params(m))
    raise AssertionError(f"no generic vector of type {ptype!r} expected")


@pytest.mark.parametrize("v", GENERIC_PACKETS)
def test_generic_vector(v: Vector) -> None:
    m = v.meaning
    expected = _generic_expected(m)
    assert len(v.data) == m["Length"]
    decoded = pk.decode_generic(v.data)
    assert decoded == expected
    assert pk.PacketType[type(decoded).__name__] == parse_int(m["PacketType"])
    assert pk.encode(expected) == v.data
    if "FriendlyName_bytes_incl_NUL" in m:
        assert len(pk.encode_name(m["FriendlyName"])) == m["FriendlyName_bytes_incl_NUL"]


@pytest.mark.parametrize("v", GENERIC_PACKETS)
def test_generic_vector_through_codec(v: Vector) -> None:
    """The streaming codec gives the same packet as decode_generic (fed one byte at a time)."""
    codec = GenericCodec(Role.RESPONDER if v.direction.startswith("initiator") else Role.INITIATOR)
    out = []
    for i in range(len(v.data)):
        codec.receive_data(v.data[i : i + 1])
        while (packet := codec.next_event()) is not None:
            out.append(packet)
    assert out == [_generic_expected(v.meaning)]


def test_friendly_name_fragment() -> None:
    v = vector("friendly_name_utf16le_without_terminator")
    text = v.meaning["text"]
    assert pk.encode_name(text) == v.data + b"\x00\x00"
    wire = b"\xaa\xbb" + v.data + b"\x00\x00" + b"\x01\x00\x00\x00"
    assert pk.decode_name(wire, 2, len(wire), "test") == (text, 2 + len(v.data) + 2)
    # Without the terminator the name is incomplete, not silently accepted.
    with pytest.raises(pk.RemoteProtocolError):
        pk.decode_name(v.data, 0, len(v.data), "test")


def test_generic_vectors_agree_with_protocol_notes() -> None:
    """Spot checks against PTPIP.md's prose: the 'writèr' bytes and the 1.0 version."""
    req = pk.decode_generic(vector("init_command_request").data)
    assert isinstance(req, pk.InitCommandRequest)
    assert req.version == pk.PROTOCOL_VERSION_1_0 == 0x00010000
    assert pk.encode_name("writèr") == bytes.fromhex("77 00 72 00 69 00 74 00 e8 00 72 00 00 00")


# --------------------------------------------------------------------------------------------
# Fuji


def _fuji_kind(m: dict[str, Any]) -> int:
    return parse_int(_key(m, "ContainerType"))


def _fuji_code(m: dict[str, Any]) -> int:
    for prefix in ("OperationCode", "ResponseCode", "EventCode", "Code"):
        if any(k == prefix or k.startswith(prefix + " ") for k in m):
            return parse_int(_key(m, prefix))
    raise AssertionError(f"no code in {list(m)}")


@pytest.mark.parametrize("v", FUJI_VECTORS)
def test_fuji_vector(v: Vector) -> None:
    m = v.meaning
    assert len(v.data) == m["Length"]
    if "PacketType" in m:
        ptype = parse_int(m["PacketType"])
        if ptype == pk.PacketType.InitCommandRequest:
            _check_fuji_init(v)
        else:
            assert ptype == pk.PacketType.InitFail
            expected = pk.InitFail(parse_int(m["Reason"]))
            assert pk.decode_generic(v.data) == expected
            assert pk.encode(expected) == v.data
        return
    if "Body" in m:  # hkr's terminate marker
        assert parse_int(m["Body"]) == 0xFFFF_FFFF
        codec = FujiCodec(Role.RESPONDER, containers=True)
        codec.receive_data(v.data)
        assert codec.next_event() == TerminateMarker()
        assert v.data == fuji.TERMINATE_MARKER
        return
    kind = _fuji_kind(m)
    code = _fuji_code(m)
    tid = m["TransactionID"]
    c = decode_container(v.data)
    assert (c.kind, c.code, c.transaction_id) == (kind, code, tid)
    if kind == ContainerKind.Data:
        assert len(c.payload) == m["DataPayloadLength"]
        expected = Container(ContainerKind.Data, code, tid, v.data[12:])
    elif kind == ContainerKind.Event:
        expected = Container.with_params(kind, code, tid, tuple(parse_int(w) for w in m["Words_after_TID"]))
    else:
        assert kind in (ContainerKind.Command, ContainerKind.Response)
        assert c.params == _params(m)
        expected = Container.with_params(kind, code, tid, _params(m))
    assert c == expected
    assert encode_container(expected) == v.data


def _check_fuji_init(v: Vector) -> None:
    m = v.meaning
    version = parse_int(_key(m, "ProtocolVersion"))
    assert version == fuji.FUJI_PROTOCOL_VERSION
    assert m["TrailingProtocolVersion"] == "absent"
    expected = FujiInitCommandRequest(
        _guid(m), m["FriendlyName"], version, fixed_length=m["Length"] == fuji.INIT_REQUEST_SIZE
    )
    assert decode_init_command_request(v.data) == expected
    assert fuji.encode_init_command_request(
        expected.guid, expected.name, fixed_length=expected.fixed_length, version=expected.version
    ) == (v.data)
    assert fuji.encode_init_command_request(
        expected.guid, expected.name, fixed_length=expected.fixed_length
    ) == (v.data)
    if expected.fixed_length:
        # The name field is zero-padded to its fixed 54 bytes: nothing follows it.
        assert len(v.data) == 28 + fuji.NAME_FIELD_SIZE
    else:
        assert len(v.data) == 28 + m["FriendlyName_bytes_incl_NUL"]
    # A Fuji responder codec in its init phase reads it too.
    codec = FujiCodec(Role.RESPONDER)
    codec.receive_data(v.data)
    assert codec.next_event() == expected
    assert codec.next_event() is None


@pytest.mark.parametrize("v", FUJI_CONTAINERS)
def test_fuji_vector_through_codec(v: Vector) -> None:
    """A container-mode FujiCodec maps each container onto the common packet dataclasses."""
    m = v.meaning
    kind, code, tid = _fuji_kind(m), _fuji_code(m), m["TransactionID"]
    role = Role.RESPONDER if v.direction.startswith("initiator") else Role.INITIATOR
    codec = FujiCodec(role, containers=True)
    codec.receive_data(v.data)
    out = []
    while (packet := codec.next_event()) is not None:
        out.append(packet)
    match kind:
        case ContainerKind.Command:
            assert out == [pk.OperationRequest(pk.DataPhase.NoDataOrDataIn, code, tid, _params(m))]
        case ContainerKind.Response:
            assert out == [pk.OperationResponse(code, tid, _params(m))]
        case ContainerKind.Data:
            assert out == [pk.StartData(tid, m["DataPayloadLength"]), pk.EndData(tid, v.data[12:])]
        case ContainerKind.Event:
            assert out == [pk.Event(code, tid, tuple(parse_int(w) for w in m["Words_after_TID"]))]
        case _:
            raise AssertionError(kind)


@pytest.mark.parametrize("v", FUJI_EVENTS)
def test_fuji_event_readings(v: Vector) -> None:
    """Both readings of a 28-byte Fuji event, checked against the container's fields."""
    m = v.meaning
    c = decode_container(v.data)
    assert len(v.data) == 28
    assert c.kind == ContainerKind.Event
    # libgphoto2: the word at offset 8 is the TransactionID, the four words after it are parameters.
    lib = m["Interpretation_libgphoto2"]
    assert c.transaction_id == lib["TransactionID"] == struct.unpack_from("<I", v.data, 8)[0]
    assert c.params == tuple(parse_int(p) for p in lib["Params"])
    # malc0mn: offset 8 is an "amount" (always 1), the TID is at offset 12, then three parameters.
    mal = m["Interpretation_malc0mn"]
    assert c.transaction_id == mal["Amount(unknown, always 1)"] == 1
    assert c.params[0] == mal["TransactionID"] == struct.unpack_from("<I", v.data, 12)[0]
    assert c.params[1:] == tuple(parse_int(mal[f"Parameter{i}"]) for i in (1, 2, 3))
    if "PreviewSizeBytes (bytes 20..23 of the packet)" in m:
        size = m["PreviewSizeBytes (bytes 20..23 of the packet)"]
        assert struct.unpack_from("<I", v.data, 20)[0] == size == 0xF129
        # byte offset 20 = the third parameter in libgphoto2's reading, Parameter2 in malc0mn's.
        assert c.params[2] == size == parse_int(mal["Parameter2"])


def test_fuji_incomplete_preview_prefix() -> None:
    """Only 16 bytes of an 81817-byte data container: its header still reads as a data container."""
    v = vector("get_capture_preview_data_PREFIX_ONLY")
    m = v.meaning
    assert not v.complete and v.raw["total_length"] == m["Length"] == 81817
    length, kind, code, tid = fuji.CONTAINER_HEADER.unpack_from(v.data[:12])
    assert (length, kind, code, tid) == (81817, ContainerKind.Data, 0x9022, 7)
    with pytest.raises(pk.RemoteProtocolError):
        decode_container(v.data)  # the length field promises more than there is
    # A codec streaming data containers above 1 KiB announces the data phase from these 12 bytes.
    codec = FujiCodec(Role.INITIATOR, containers=True, stream_threshold=1024)
    codec.receive_data(v.data)
    assert codec.next_event() == pk.StartData(7, m["DataPayloadLength"])
    first = codec.next_event()
    assert isinstance(first, pk.Data) and first.transaction_id == 7
    assert bytes(first.payload) == b"\xff\xd8\xff\xe0"  # the JPEG starts right after the header
    assert codec.next_event() is None
