"""InitiatorSession: transaction IDs, and the order checks on what the camera sends back (sans-I/O)."""

from __future__ import annotations

import pytest

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Role
from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.fuji import Container, ContainerKind, FujiCodec, encode_container
from ptpipd.ip.generic import GenericCodec
from ptpipd.ip.initiator import LAST_TRANSACTION_ID, InitiatorSession, Phase

OK = 0x2001


def generic(first: int = 0) -> InitiatorSession:
    return InitiatorSession(GenericCodec(Role.INITIATOR), first_transaction_id=first)


def fuji(first: int = 1) -> InitiatorSession:
    return InitiatorSession(FujiCodec(Role.INITIATOR, containers=True), first_transaction_id=first)


def sent_request(session: InitiatorSession, packets: list[bytes]) -> pk.OperationRequest:
    """Decodes the OperationRequest the session produced, as the camera would."""
    responder = (
        GenericCodec(Role.RESPONDER)
        if isinstance(session.codec, GenericCodec)
        else FujiCodec(Role.RESPONDER, containers=True)
    )
    responder.receive_data(packets[0])
    request = responder.next_event()
    assert isinstance(request, pk.OperationRequest)
    return request


def give(session: InitiatorSession, *packets: pk.Packet) -> list[object]:
    """Feeds generic packets from the camera; returns what the session passes on."""
    for p in packets:
        session.receive_data(pk.encode(p))
    out = []
    while (e := session.next_event()) is not None:
        out.append(e)
    return out


def finish(session: InitiatorSession, tid: int) -> None:
    assert give(session, pk.OperationResponse(OK, tid)) == [pk.OperationResponse(OK, tid)]
    assert session.phase is Phase.IDLE and session.current is None


# --------------------------------------------------------------------------------------------
# Transaction IDs


@pytest.mark.parametrize("first", [0, 1, 7])
def test_ids_start_at_first_and_count_up(first: int) -> None:
    s = generic(first)
    for expected in range(first, first + 5):
        assert s.next_transaction_id == expected
        packets = s.start(0x1001, (expected,))
        assert sent_request(s, packets) == pk.OperationRequest(
            pk.DataPhase.NoDataOrDataIn, 0x1001, expected, (expected,)
        )
        finish(s, expected)


def test_ids_wrap_from_fffffffe_to_1() -> None:
    s = generic(LAST_TRANSACTION_ID - 1)
    seen = []
    for _ in range(4):
        tid = sent_request(s, s.start(0x1001)).transaction_id
        seen.append(tid)
        finish(s, tid)
    assert seen == [0xFFFF_FFFD, 0xFFFF_FFFE, 1, 2]  # never 0xFFFFFFFF, never 0


def test_fuji_ids_and_containers() -> None:
    s = fuji()
    packets = s.start(0x1002, (1,))
    assert packets == [encode_container(Container.with_params(ContainerKind.Command, 0x1002, 1, (1,)))]
    s.receive_data(encode_container(Container.with_params(ContainerKind.Response, OK, 1, ())))
    assert s.next_event() == pk.OperationResponse(OK, 1)
    assert s.next_transaction_id == 2


@pytest.mark.parametrize(
    "code, params",
    [pytest.param(0x1_0000, (), id="opcode-17-bits"), pytest.param(0x1001, (0,) * 6, id="six-params")],
)
def test_refused_start_does_not_consume_an_id(code: int, params: tuple[int, ...]) -> None:
    s = generic(5)
    with pytest.raises(LocalProtocolError):
        s.start(code, params)
    assert s.current is None
    assert s.next_transaction_id == 5  # a strict camera expects the next request to carry 5


# --------------------------------------------------------------------------------------------
# Responses


def test_no_data_transaction() -> None:
    s = generic()
    s.start(0x1002, (1,))
    assert s.phase is Phase.WAIT_DATA_OR_RESPONSE
    assert give(s, pk.OperationResponse(OK, 0, (9,))) == [pk.OperationResponse(OK, 0, (9,))]
    assert s.phase is Phase.IDLE


def test_response_with_a_higher_id_is_an_error() -> None:
    s = generic(3)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="transaction 4"):
        give(s, pk.OperationResponse(OK, 4))


def test_response_with_a_lower_id_is_dropped_as_stale() -> None:
    s = generic(3)
    s.start(0x1001)
    assert give(s, pk.OperationResponse(OK, 2)) == []
    assert s.current is not None and s.current.transaction_id == 3  # still waiting
    assert give(s, pk.OperationResponse(0x2019, 3)) == [pk.OperationResponse(0x2019, 3)]


def test_late_response_while_idle_is_dropped() -> None:
    s = generic(3)
    assert give(s, pk.OperationResponse(OK, 2)) == []


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(pk.StartData(0, 1), id="StartData"),
        pytest.param(pk.Data(0, b"x"), id="Data"),
        pytest.param(pk.EndData(0, b"x"), id="EndData"),
        pytest.param(pk.Event(0x4002, 0), id="Event"),
        pytest.param(pk.InitCommandAck(1, bytes(16), "x"), id="InitCommandAck"),
    ],
)
def test_anything_but_a_response_while_idle_is_an_error(packet: pk.Packet) -> None:
    with pytest.raises(RemoteProtocolError, match="no transaction"):
        give(generic(), packet)


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(pk.Event(0x4002, 0), id="Event"),
        pytest.param(pk.ProbeRequest(), id="ProbeRequest"),
        pytest.param(pk.InitEventAck(), id="InitEventAck"),
        pytest.param(pk.Cancel(0), id="Cancel"),
    ],
)
def test_foreign_packet_during_a_transaction_is_an_error(packet: pk.Packet) -> None:
    s = generic()
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="unexpected"):
        give(s, packet)


# --------------------------------------------------------------------------------------------
# Data in


def test_data_in() -> None:
    s = generic(4)
    s.start(0x1001)
    out = give(s, pk.StartData(4, 5), pk.Data(4, b"ab"), pk.EndData(4, b"cde"), pk.OperationResponse(OK, 4))
    assert out == [pk.StartData(4, 5), pk.Data(4, b"ab"), pk.EndData(4, b"cde"), pk.OperationResponse(OK, 4)]
    assert s.phase is Phase.IDLE


def test_data_in_of_unknown_length() -> None:
    s = generic(4)
    s.start(0x1001)
    out = give(
        s,
        pk.StartData(4, pk.UNKNOWN_LENGTH),
        pk.Data(4, b"ab" * 100),
        pk.EndData(4),
        pk.OperationResponse(OK, 4),
    )
    assert len(out) == 4


def test_error_response_instead_of_data() -> None:
    s = generic(4)
    s.start(0x1009, (0x99,))
    assert give(s, pk.OperationResponse(0x2009, 4)) == [pk.OperationResponse(0x2009, 4)]


@pytest.mark.parametrize("packet", [pk.Data(4, b"x"), pk.EndData(4, b"x"), pk.EndData(4, b"")])
def test_data_without_start_data(packet: pk.Packet) -> None:
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="without StartData"):
        give(s, packet)


def test_data_with_another_transactions_id() -> None:
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="transaction 5"):
        give(s, pk.StartData(5, 1))
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="transaction 3"):
        give(s, pk.StartData(4, 2), pk.Data(3, b"xy"))


def test_start_data_inside_a_data_phase() -> None:
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="inside a data phase"):
        give(s, pk.StartData(4, 2), pk.StartData(4, 2))


def test_response_before_end_data() -> None:
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="before the data phase ended"):
        give(s, pk.StartData(4, 4), pk.Data(4, b"ab"), pk.OperationResponse(OK, 4))


@pytest.mark.parametrize("sizes", [(2, 1), (2, 3), (0, 0)], ids=["short", "long", "none"])
def test_end_data_length_must_match_start_data(sizes: tuple[int, int]) -> None:
    data, end = sizes
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="announced 4 bytes"):
        give(s, pk.StartData(4, 4), pk.Data(4, b"d" * data), pk.EndData(4, b"e" * end))


def test_data_over_start_data_fails_before_end_data() -> None:
    s = generic(4)
    s.start(0x1001)
    with pytest.raises(RemoteProtocolError, match="more data than the 4 bytes"):
        give(s, pk.StartData(4, 4), pk.Data(4, b"12345"))


@pytest.mark.parametrize(
    ("packets", "what"),
    [
        ([pk.StartData(4, 10)], "StartData announced 10 bytes"),
        ([pk.StartData(4, pk.UNKNOWN_LENGTH), pk.Data(4, b"1234"), pk.Data(4, b"56")], "6 bytes arrived"),
        ([pk.StartData(4, pk.UNKNOWN_LENGTH), pk.EndData(4, b"12345")], "5 bytes arrived"),
    ],
    ids=["announced", "sent", "sent-at-the-end"],
)
def test_more_data_than_asked_for_is_an_error_before_it_is_passed_on(
    packets: list[pk.Packet], what: str
) -> None:
    """Review w/rev-daemon: GetPartialObject(handle, 0, 4) answered with more than 4 bytes. Nothing past the
    limit is passed on: the packet that crosses it is the error."""
    s = generic(4)
    s.start(0x101B, (1, 0, 4), max_data_in=4)
    passed: list[object] = []
    with pytest.raises(RemoteProtocolError, match=f"asked for at most 4 bytes, {what}") as error:
        for packet in packets:
            passed += give(s, packet)
    assert "operation 0x101B" in str(error.value)
    assert sum(len(p.payload) for p in passed if isinstance(p, pk.Data | pk.EndData)) <= 4


def test_data_up_to_what_was_asked_for_passes() -> None:
    s = generic(4)
    s.start(0x101B, (1, 0, 4), max_data_in=4)
    out = give(s, pk.StartData(4, pk.UNKNOWN_LENGTH), pk.Data(4, b"12"), pk.EndData(4, b"34"))
    assert out[1:] == [pk.Data(4, b"12"), pk.EndData(4, b"34")]
    finish(s, 4)
    s.start(0x101B, (1, 4, 4), max_data_in=4)
    assert give(s, pk.StartData(5, 2), pk.EndData(5, b"56"))[1:] == [pk.EndData(5, b"56")]  # less is fine


def test_stray_empty_end_data_after_the_data_phase_is_skipped() -> None:
    s = generic(4)
    s.start(0x1001)
    out = give(s, pk.StartData(4, 1), pk.EndData(4, b"x"), pk.EndData(4, b""), pk.OperationResponse(OK, 4))
    assert out == [pk.StartData(4, 1), pk.EndData(4, b"x"), pk.OperationResponse(OK, 4)]


def test_fuji_several_data_containers_are_one_data_phase() -> None:
    """malc0mn reads several data containers for one transaction and concatenates them."""
    s = fuji(6)
    s.start(0x902B)
    for chunk in (b"abc", b"defg"):
        s.receive_data(encode_container(Container(ContainerKind.Data, 0x902B, 6, chunk)))
    s.receive_data(encode_container(Container.with_params(ContainerKind.Response, OK, 6, ())))
    out = []
    while (e := s.next_event()) is not None:
        out.append(e)
    assert out == [
        pk.StartData(6, 3),
        pk.EndData(6, b"abc"),
        pk.StartData(6, 4),
        pk.EndData(6, b"defg"),
        pk.OperationResponse(OK, 6),
    ]


# --------------------------------------------------------------------------------------------
# Data out


def test_data_out_generic_packets() -> None:
    s = generic(2)
    packets = s.start(0x1016, (0x5001,), b"\x05\x00")
    assert [pk.decode_generic(p) for p in packets] == [
        pk.OperationRequest(pk.DataPhase.DataOut, 0x1016, 2, (0x5001,)),
        pk.StartData(2, 2),
        pk.EndData(2, b"\x05\x00"),
    ]
    assert s.phase is Phase.WAIT_RESPONSE
    finish(s, 2)


def test_data_out_fuji_packets() -> None:
    s = fuji(2)
    packets = s.start(0x1016, (0xDF01,), b"\x05\x00")
    # the command container's type stays 1 for data-out operations (FUJI.md §2.2)
    assert packets == [
        encode_container(Container.with_params(ContainerKind.Command, 0x1016, 2, (0xDF01,))),
        encode_container(Container(ContainerKind.Data, 0x1016, 2, b"\x05\x00")),
    ]


def test_start_data_during_data_out_is_an_error() -> None:
    s = generic(2)
    s.start(0x1016, (0x5001,), b"\x05\x00")
    with pytest.raises(RemoteProtocolError, match="data-out"):
        give(s, pk.StartData(2, 1))


def test_data_during_data_out_is_an_error() -> None:
    s = generic(2)
    s.start(0x1016, (0x5001,), b"\x05\x00")
    with pytest.raises(RemoteProtocolError, match="without StartData"):
        give(s, pk.Data(2, b"x"))


def test_empty_data_out() -> None:
    s = generic(2)
    packets = s.start(0x1016, (0x5001,), b"")
    assert [pk.decode_generic(p) for p in packets][1:] == [pk.StartData(2, 0), pk.EndData(2, b"")]


# --------------------------------------------------------------------------------------------
# One transaction at a time


def test_second_start_while_one_is_in_flight() -> None:
    s = generic(2)
    s.start(0x1001)
    with pytest.raises(LocalProtocolError, match="still in flight"):
        s.start(0x1002)
    # the first one is untouched and can complete
    assert s.current is not None and s.current.transaction_id == 2
    finish(s, 2)
    assert sent_request(s, s.start(0x1002)).transaction_id == 3


def test_abandon_forgets_the_transaction() -> None:
    s = generic(2)
    s.start(0x1001)
    s.abandon()
    assert s.current is None and s.phase is Phase.IDLE
    assert sent_request(s, s.start(0x1001)).transaction_id == 3
