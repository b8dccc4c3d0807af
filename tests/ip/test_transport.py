"""transport.Initiator over real loopback TCP, against responders scripted step by step in each test.

The responders (:mod:`tests.ip.scripted`) use the library's own responder-role codecs, but every check of
what the initiator *wrote* is also made on the raw bytes with independent parsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import random
import struct

import pytest

from ptpipd.ip import transport
from ptpipd.ip.codec import Dialect
from ptpipd.ip.errors import (
    ConnectionClosed,
    InitFailed,
    RemoteProtocolError,
    TransactionDeadline,
    TransactionTimeout,
)
from ptpipd.ip.fuji import (
    FUJI,
    FUJI_PROTOCOL_VERSION,
    INIT_REQUEST_SIZE,
    Container,
    ContainerKind,
    FujiInitCommandRequest,
    encode_container,
    encode_init_command_request,
)
from ptpipd.ip.generic import DATA_CHUNK, GENERIC
from ptpipd.ip.packets import (
    PROTOCOL_VERSION_1_0,
    Buffer,
    Data,
    DataPhase,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    InitFail,
    OperationRequest,
    OperationResponse,
    ProbeRequest,
    ProbeResponse,
    StartData,
    encode,
)
from ptpipd.ip.transport import DataTooLarge, Reply, Timeouts, channel
from tests.ip.scripted import (
    CAMERA_GUID,
    CAMERA_NAME,
    CONNECTION_NUMBER,
    DIALECTS,
    INITIATOR_GUID,
    INITIATOR_NAME,
    OK,
    Net,
    Observed,
    answer_init,
    fuji_event_responder_codec,
    split_containers,
    split_generic,
    within,
)
from tests.vectors import vector

pytestmark = pytest.mark.timeout(60)


def blob(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


# --------------------------------------------------------------------------------------------
# Connecting


async def test_connect_and_ack(net: Net, dialect: Dialect) -> None:
    cmd_listener, _ = await net.listeners_for(dialect)
    init = net.initiator(dialect)
    assert not init.alive
    connecting = asyncio.create_task(init.connect(cmd_listener.port))
    cmd = await cmd_listener.accept()
    request = await answer_init(cmd, dialect)
    ack = await within(connecting)
    if dialect is GENERIC:
        assert request == InitCommandRequest(INITIATOR_GUID, INITIATOR_NAME, PROTOCOL_VERSION_1_0)
        assert bytes(cmd.raw) == encode(request)
        assert ack == InitCommandAck(CONNECTION_NUMBER, CAMERA_GUID, CAMERA_NAME, PROTOCOL_VERSION_1_0)
    else:
        assert request == FujiInitCommandRequest(INITIATOR_GUID, INITIATOR_NAME, FUJI_PROTOCOL_VERSION, True)
        assert bytes(cmd.raw) == encode_init_command_request(INITIATOR_GUID, INITIATOR_NAME)
        assert len(cmd.raw) == INIT_REQUEST_SIZE  # the X-T4 drops any other length
        assert ack == InitCommandAck(CONNECTION_NUMBER, CAMERA_GUID, CAMERA_NAME, 0)
    assert init.ack == ack
    assert init.alive and init.error is None
    assert init.next_transaction_id == dialect.open_session_transaction_id == (0 if dialect is GENERIC else 1)


@pytest.mark.parametrize(
    "name, reason, text",
    [
        ("generic", 1, "the camera does not allow this initiator"),
        ("generic", 0x2019, "the camera refused the connection"),  # Fuji's reason means nothing here
        ("fuji", 0x2019, "the camera is busy or does not know this client name"),
        ("fuji", 0x201D, "the camera rejected the protocol version"),
        ("fuji", 0x7777, "the camera refused the connection"),
    ],
)
async def test_init_fail(net: Net, name: str, reason: int, text: str) -> None:
    dialect = DIALECTS[name]
    cmd_listener, _ = await net.listeners_for(dialect)
    seen = Observed()
    init = net.initiator(dialect, on_close=seen.on_close)
    connecting = asyncio.create_task(init.connect(cmd_listener.port))
    cmd = await cmd_listener.accept()
    await cmd.recv()
    await cmd.send(encode(InitFail(reason)))
    await cmd.aclose()  # a camera closes the connection after InitFail (PTPIP.md §4.5)
    with pytest.raises(InitFailed) as info:
        await within(connecting)
    assert info.value.reason == reason
    message = str(info.value)
    assert text in message
    assert f"0x{reason:08X}" in message
    assert not init.alive
    with pytest.raises(ConnectionClosed):
        await init.transaction(0x1001)
    assert len(seen.closes) == 1


@pytest.mark.parametrize("name, reason", [("generic", 1), ("fuji", 0x2019)])
async def test_init_fail_is_the_reported_reason(net: Net, name: str, reason: int) -> None:
    dialect = DIALECTS[name]
    cmd_listener, _ = await net.listeners_for(dialect)
    seen = Observed()
    init = net.initiator(dialect, on_close=seen.on_close)
    connecting = asyncio.create_task(init.connect(cmd_listener.port))
    cmd = await cmd_listener.accept()
    await cmd.recv()
    cmd.writer.write(encode(InitFail(reason)))
    await cmd.aclose()
    with pytest.raises(InitFailed):
        await within(connecting)
    assert isinstance(init.error, InitFailed)
    assert len(seen.closes) == 1 and isinstance(seen.closes[0], InitFailed)


async def test_connect_to_a_silent_camera_times_out(net: Net) -> None:
    cmd_listener, _ = await net.listeners_for(GENERIC)
    init = net.initiator(GENERIC, timeouts=Timeouts(handshake=0.3))
    connecting = asyncio.create_task(init.connect(cmd_listener.port))
    cmd = await cmd_listener.accept()
    assert isinstance(await cmd.recv(), InitCommandRequest)
    with pytest.raises(TransactionTimeout):
        await within(connecting)
    assert not init.alive


async def test_open_events_generic_handshake(net: Net) -> None:
    s = await net.connect(GENERIC, events=False)
    opening = asyncio.create_task(s.init.open_events(s.evt_listener.port))
    evt = await s.evt_listener.accept()
    # the event connection echoes the connection number of the ack
    assert await evt.recv() == InitEventRequest(CONNECTION_NUMBER)
    assert bytes(evt.raw) == encode(InitEventRequest(CONNECTION_NUMBER))
    assert not opening.done()  # it waits for the ack
    await evt.send(encode(InitEventAck()))
    await within(opening)
    await evt.send_event(Event(0x4002, 0, (5,)))
    assert await s.seen.wait_events(1) == [Event(0x4002, 0, (5,))]


async def test_open_events_generic_init_fail(net: Net) -> None:
    s = await net.connect(GENERIC, events=False)
    opening = asyncio.create_task(s.init.open_events(s.evt_listener.port))
    evt = await s.evt_listener.accept()
    assert isinstance(await evt.recv(), InitEventRequest)
    await evt.send(encode(InitFail(1)))
    with pytest.raises(InitFailed) as info:
        await within(opening)
    assert info.value.reason == 1
    assert not s.init.alive


async def test_open_events_fuji_without_handshake(net: Net) -> None:
    s = await net.connect(FUJI)  # open_events returned without any exchange on the event port
    evt = s.evt
    assert evt is not None
    names = ["event_C004_object_added", "event_C001_preview_available", "event_400D_capture_complete"]
    for name in names:
        assert len(vector(name).data) == 28
        await evt.send(vector(name).data)
    assert await s.seen.wait_events(3) == [
        Event(0xC004, 1, (6, 6, 0, 0)),
        Event(0xC001, 1, (6, 6, 0xF129, 0)),  # the preview size sits at byte offset 20
        Event(0x400D, 1, (7, 7, 0, 0)),
    ]
    await s.init.close()
    assert await evt.read_to_eof() == b""
    assert evt.raw == b""  # the initiator never sent a byte on the event port
    assert s.seen.closes == []  # close() is not a failure


# --------------------------------------------------------------------------------------------
# Transactions


async def test_no_data_transactions(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    first = dialect.open_session_transaction_id
    tx = asyncio.create_task(s.init.transaction(0x1002, (1,)))
    request = await s.cmd.recv_request()
    assert request == OperationRequest(DataPhase.NoDataOrDataIn, 0x1002, first, (1,))
    await s.cmd.respond(OK, first, (42,))
    assert await within(tx) == Reply(OK, first, (42,), b"", 0)
    # the next one carries the next ID, and any response code is a reply (not an exception)
    tx = asyncio.create_task(s.init.transaction(0x100E, [0, 0]))
    request = await s.cmd.recv_request()
    assert (request.code, request.transaction_id, request.params) == (0x100E, first + 1, (0, 0))
    await s.cmd.respond(0x2019, first + 1)
    reply = await within(tx)
    assert (reply.code, reply.transaction_id) == (0x2019, first + 1)
    assert s.init.next_transaction_id == first + 2


async def test_data_in_collected_in_memory(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    payload = blob(70_000)
    progress: list[tuple[int, int | None]] = []
    tx = asyncio.create_task(s.init.transaction(0x1001, progress=lambda n, t: progress.append((n, t))))
    request = await s.cmd.recv_request()
    await s.cmd.send_data(request.transaction_id, 0x1001, payload)
    await s.cmd.respond(OK, request.transaction_id)
    reply = await within(tx)
    assert reply.data == payload
    assert reply.data_length == len(payload)
    assert reply.code == OK
    assert progress and progress[-1] == (len(payload), len(payload))
    assert [n for n, _ in progress] == sorted({n for n, _ in progress})


class HashSink:
    """A custom sink: hashes the chunks as they come and keeps nothing."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self.writes = 0

    def write(self, data: Buffer) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.writes += 1


async def test_data_in_20mb_to_a_sink(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    payload = blob(20 << 20, seed=20)
    sink = HashSink()
    tx = asyncio.create_task(s.init.transaction(0x1009, (1,), sink=sink))
    request = await s.cmd.recv_request()
    tid = request.transaction_id
    chunks = (memoryview(payload)[i : i + DATA_CHUNK] for i in range(0, len(payload), DATA_CHUNK))
    for piece in s.cmd.codec.data_pieces(tid, 0x1009, len(payload), chunks):
        s.cmd.writer.write(piece)
        await s.cmd.writer.drain()
    await s.cmd.respond(OK, tid)
    reply = await within(tx, 30)
    assert reply.data is None  # it went to the sink
    assert reply.data_length == sink.size == len(payload)
    assert sink.sha.digest() == hashlib.sha256(payload).digest()
    assert sink.writes >= 20  # streamed in pieces, never buffered whole


async def test_data_out_generic(net: Net) -> None:
    s = await net.connect(GENERIC)
    mark = len(s.cmd.raw)
    tx = asyncio.create_task(s.init.transaction(0x1016, (0x5001,), data_out=b"\x05\x00"))
    assert await s.cmd.recv_request() == OperationRequest(DataPhase.DataOut, 0x1016, 0, (0x5001,))
    start, payload = await s.cmd.recv_data_out()
    assert start == StartData(0, 2)
    assert payload == b"\x05\x00"
    await s.cmd.respond(OK, 0)
    assert await within(tx) == Reply(OK, 0, (), b"", 0)
    # on the wire: request, StartData with the exact length, one EndData carrying the payload
    assert split_generic(bytes(s.cmd.raw[mark:])) == [
        (6, struct.pack("<IHII", 2, 0x1016, 0, 0x5001)),
        (9, struct.pack("<IQ", 0, 2)),
        (12, struct.pack("<I", 0) + b"\x05\x00"),
    ]


async def test_data_out_generic_large(net: Net) -> None:
    s = await net.connect(GENERIC)
    payload = blob(2 * DATA_CHUNK + 12345, seed=2)
    mark = len(s.cmd.raw)
    tx = asyncio.create_task(s.init.transaction(0x100D, data_out=payload))
    request = await s.cmd.recv_request()
    assert request.data_phase == DataPhase.DataOut
    start, received = await s.cmd.recv_data_out()
    assert start == StartData(0, len(payload))
    assert received == payload
    await s.cmd.respond(OK, 0)
    await within(tx)
    wire = split_generic(bytes(s.cmd.raw[mark:]))
    assert [t for t, _ in wire] == [6, 9, 10, 10, 12]
    assert [len(body) - 4 for t, body in wire[2:]] == [DATA_CHUNK, DATA_CHUNK, 12345]
    assert b"".join(body[4:] for _, body in wire[2:]) == payload
    assert all(body[:4] == b"\x00\x00\x00\x00" for _, body in wire[2:])  # every piece carries TID 0


async def test_data_out_fuji(net: Net) -> None:
    """The app's recorded DF01 exchange (TID 3), byte for byte: a command, then one data container."""
    s = await net.connect(FUJI)
    for tid in (1, 2):
        tx = asyncio.create_task(s.init.transaction(0x1002 if tid == 1 else 0x1003, (1,)))
        await s.cmd.recv_request()
        await s.cmd.respond(OK, tid)
        await within(tx)
    mark = len(s.cmd.raw)
    tx = asyncio.create_task(s.init.transaction(0x1016, (0xDF01,), data_out=b"\x05\x00"))
    assert await s.cmd.recv_request() == OperationRequest(DataPhase.NoDataOrDataIn, 0x1016, 3, (0xDF01,))
    start, payload = await s.cmd.recv_data_out()
    assert (start, payload) == (StartData(3, 2), b"\x05\x00")
    await s.cmd.respond(OK, 3)
    assert (await within(tx)).code == OK
    raw = bytes(s.cmd.raw[mark:])
    assert raw == vector("app_set_prop_DF01_command").data + vector("app_set_prop_DF01_data").data


async def test_data_out_fuji_large_is_one_container(net: Net) -> None:
    s = await net.connect(FUJI)
    payload = blob(DATA_CHUNK + 500_000, seed=3)
    mark = len(s.cmd.raw)
    tx = asyncio.create_task(s.init.transaction(0x100D, data_out=payload))
    await s.cmd.recv_request()
    start, received = await s.cmd.recv_data_out()
    assert start == StartData(1, len(payload)) and received == payload
    await s.cmd.respond(OK, 1)
    await within(tx)
    assert split_containers(bytes(s.cmd.raw[mark:])) == [
        (ContainerKind.Command, 0x100D, 1, b""),
        (ContainerKind.Data, 0x100D, 1, payload),
    ]


async def test_record_returns_the_raw_packets(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    tid = dialect.open_session_transaction_id
    big = blob(300_000, seed=4)  # over the stream threshold: recorded piece by piece, returned whole

    def packets_of(tid: int) -> list[bytes]:
        if dialect is GENERIC:
            return [
                encode(StartData(tid, len(big) + 5)),
                encode(Data(tid, big)),
                encode(Data(tid, b"abc")),
                encode(EndData(tid, b"de")),
                encode(OperationResponse(OK, tid, (1,))),
            ]
        return [
            encode_container(Container(ContainerKind.Data, 0x1001, tid, big + b"abcde")),
            encode_container(Container.with_params(ContainerKind.Response, OK, tid, (1,))),
        ]

    async def recorded(tid: int, cap: int) -> Reply:
        tx = asyncio.create_task(s.init.transaction(0x1001, record_cap=cap))
        await s.cmd.recv_request()
        stream = b"".join(packets_of(tid))
        for i in range(0, len(stream), 7777):  # TCP pieces that do not line up with the packets
            s.cmd.writer.write(stream[i : i + 7777])
        await s.cmd.writer.drain()
        return await within(tx)

    packets = packets_of(tid)
    reply = await recorded(tid, 1 << 20)
    assert reply.raw == tuple(packets)
    assert not reply.raw_truncated
    assert reply.data == big + b"abcde"
    # without record nothing is kept
    tx = asyncio.create_task(s.init.transaction(0x1002))
    await s.cmd.recv_request()
    await s.cmd.respond(OK, tid + 1)
    assert (await within(tx)).raw == ()
    # record keeps at most its cap: the packet that crosses it is cut, the ones after it are left out
    cap = len(packets[0]) + 5
    reply = await recorded(tid + 2, cap)
    assert reply.raw == (packets_of(tid + 2)[0], packets_of(tid + 2)[1][:5])
    assert reply.raw_truncated
    assert reply.data == big + b"abcde"  # the data phase itself is whole


# --------------------------------------------------------------------------------------------
# Events and probes


async def test_events_in_order(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    events = [Event(0x4000 + i, i, tuple(range(i % 4))) for i in range(30)]
    # some of them while a transaction is in flight
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    s.evt.writer.write(b"".join(encode(e) for e in events[:20]))
    await s.cmd.send_data(request.transaction_id, 0x1001, b"x")
    for e in events[20:]:
        await s.evt.send_event(e)
    await s.cmd.respond(OK, request.transaction_id)
    await within(tx)
    assert await s.seen.wait_events(30) == events


async def test_an_event_flood_is_handled_in_bursts_between_other_work(net: Net) -> None:
    """Issue 14 defect 8: 10,240 events (40 bursts) arrive at once. All are delivered, in order, and the
    event loop runs other work between bursts (a ticker task counts its turns while they are handled)."""
    s = await net.connect(GENERIC)
    assert s.evt is not None
    count = 10_240
    events = [Event(0x4006, 0xFFFF_FFFF, (i,)) for i in range(count)]
    ticks = 0
    ticks_at: list[int] = []
    s.init.on_event = lambda event: (s.seen.on_event(event), ticks_at.append(ticks))

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    s.evt.writer.write(b"".join(encode(e) for e in events))
    try:
        assert await s.seen.wait_events(count) == events
    finally:
        ticking.cancel()
    turns_between = ticks_at[-1] - ticks_at[0]
    assert transport.EVENT_BURST <= 256  # so 40 bursts or more, and the ticker ran between most of them
    assert turns_between >= 20, f"other work ran {turns_between} times during {count} events"
    assert s.init.alive
    reply = await within(asyncio.gather(s.init.transaction(0x1001), _answer_ok(s)))
    assert reply[0].code == OK  # the connection still works


async def _answer_ok(s: object) -> None:
    cmd = s.cmd  # type: ignore[attr-defined]
    request = await cmd.recv_request()
    await cmd.respond(OK, request.transaction_id)


async def test_fuji_events_are_28_byte_containers(net: Net) -> None:
    s = await net.connect(FUJI)
    assert s.evt is not None
    sent = []
    for i in range(5):
        raw = encode_container(Container.with_params(ContainerKind.Event, 0xC001, 1, (i, i, 1000 + i, 0)))
        assert len(raw) == 28
        sent.append(raw)
    await s.evt.send(b"".join(sent))
    got = await s.seen.wait_events(5)
    assert got == [Event(0xC001, 1, (i, i, 1000 + i, 0)) for i in range(5)]


async def test_probe_request_from_the_responder_is_answered(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    await s.evt.send(encode(ProbeRequest()))
    assert await s.evt.recv() == ProbeResponse()
    # also while a transaction is in flight
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    await s.evt.send(encode(ProbeRequest()))
    assert await s.evt.recv() == ProbeResponse()
    await s.cmd.respond(OK, request.transaction_id)
    await within(tx)


async def test_probe_gets_its_answer(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    probing = asyncio.create_task(s.init.probe())
    assert await s.evt.recv() == ProbeRequest()
    assert not probing.done()
    await s.evt.send(encode(ProbeResponse()))
    await within(probing)
    assert s.init.alive


async def test_unanswered_probe_times_out(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    probing = asyncio.create_task(s.init.probe(timeout=0.2))
    assert await s.evt.recv() == ProbeRequest()
    with pytest.raises(TransactionTimeout):
        await within(probing)
    assert not s.init.alive
    assert len(s.seen.closes) == 1


async def test_unanswered_probe_leaves_no_unretrieved_future(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    with pytest.raises(TransactionTimeout):
        await s.init.probe(timeout=0.05)
    await s.init.close()
    gc.collect()
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []


async def test_event_connection_refused_at_first_is_retried(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Fuji camera listens on the event port only once InitiateOpenCapture has run (FUJI.md §1)."""
    s = await net.connect(
        FUJI, events=False, timeouts=Timeouts(event_connect_delay=0.01, event_connect_attempts=500)
    )
    evt_listener = await net.listen(fuji_event_responder_codec, serving=False)  # bound, refusing
    outcomes: list[str] = []
    refused = asyncio.Event()
    real_open = channel.open_channel

    async def watched_open(name: str, *args: object, **kwargs: object) -> object:
        try:
            link = await real_open(name, *args, **kwargs)  # type: ignore[arg-type]
        except ConnectionRefusedError:
            outcomes.append(f"{name}: refused")
            refused.set()
            raise
        outcomes.append(f"{name}: connected")
        return link

    monkeypatch.setattr(channel, "open_channel", watched_open)  # what the retry loop calls
    opening = asyncio.create_task(s.init.open_events(evt_listener.port))
    await within(refused.wait())
    assert not opening.done()  # refused, but still trying
    # InitiateOpenCapture: when it arrives, the camera starts listening on the event port
    tx = asyncio.create_task(s.init.transaction(0x101C, (0, 0)))
    request = await s.cmd.recv_request()
    assert request.code == 0x101C
    await evt_listener.serve()
    await s.cmd.respond(OK, request.transaction_id)
    await within(tx)
    evt = await evt_listener.accept()
    await within(opening)
    assert outcomes[0] == "event: refused"
    assert outcomes[-1] == "event: connected"
    assert outcomes.count("event: connected") == 1
    await evt.send(vector("event_C004_object_added").data)
    assert (await s.seen.wait_events(1))[0].code == 0xC004


# --------------------------------------------------------------------------------------------
# Failures


async def test_silent_responder_times_out(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect, timeouts=Timeouts(transaction=0.5))
    loop = asyncio.get_running_loop()
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    wire = b"".join(s.cmd.codec.encode_data(request.transaction_id, 0x1001, bytes(1000)))
    await s.cmd.send(wire[:500])  # part of the data, then silence
    started = loop.time()
    with pytest.raises(TransactionTimeout) as info:
        await within(tx, 3)
    waited = loop.time() - started
    assert 0.4 <= waited < 2.5
    assert info.value.opcode == 0x1001
    assert info.value.timeout == 0.5
    assert not s.init.alive
    assert s.init.error is info.value
    assert await s.cmd.read_to_eof() == b""  # the initiator hung up
    with pytest.raises(ConnectionClosed):
        await s.init.transaction(0x1001)
    await s.init.close()
    assert s.seen.closes == [info.value]  # once, with the reason


async def _stream(s: object, code: int, pieces: int, interval: float, size: int = 4096) -> None:
    """Answers the request with ``pieces`` slices of its data phase, one every ``interval`` (a steady stream
    for the deadline tests: never silent for long), then the response."""
    cmd = s.cmd  # type: ignore[attr-defined]
    request = await cmd.recv_request()
    wire = b"".join(cmd.codec.encode_data(request.transaction_id, code, bytes(size * pieces)))
    step = -(-len(wire) // pieces)
    for start in range(0, len(wire), step):
        await cmd.send(wire[start : start + step])
        await asyncio.sleep(interval)  # pacing of the camera's side, not synchronisation
    await cmd.send(cmd.codec.encode(OperationResponse(OK, request.transaction_id)))


@pytest.mark.parametrize("kind", ["in-memory", "sink"])
async def test_a_steady_stream_ends_by_the_deadline_unless_it_goes_to_a_sink(
    net: Net, dialect: Dialect, kind: str
) -> None:
    """Issue 14 defect 3: never 0.3 s of silence, but 1.5 s in all. In memory (a property, a dataset) that is
    past the deadline of 2 × 0.3 s; into a sink (a download), 24 KiB/s of progress earns the time it takes."""
    timeouts = Timeouts(transaction=0.3, deadline_factor=2.0, deadline_rate=8 << 10)
    s = await net.connect(dialect, timeouts=timeouts)
    sink = transport.BytesSink() if kind == "sink" else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    tx = asyncio.create_task(s.init.transaction(0x1009, (1,), sink=sink))
    camera = asyncio.create_task(_stream(s, 0x1009, 15, 0.1))
    if sink is not None:
        reply = await within(tx, 10)
        assert reply.code == OK and reply.data_length == sink.size == 15 * 4096
        await within(camera)
        return
    with pytest.raises(TransactionDeadline, match=r"0x1009: not finished within 0\.6 s") as info:
        await within(tx, 10)
    assert 0.5 <= loop.time() - started < 1.4
    assert info.value.opcode == 0x1009 and info.value.timeout == pytest.approx(0.6)
    assert not s.init.alive and s.seen.closes == [info.value]
    camera.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
        await camera


async def test_responder_closes_mid_transfer(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    wire = b"".join(s.cmd.codec.encode_data(request.transaction_id, 0x1001, bytes(5000)))
    await s.cmd.send(wire[:3000])
    await s.cmd.aclose()
    with pytest.raises(ConnectionClosed):
        await within(tx)
    assert not s.init.alive
    for _ in range(2):
        with pytest.raises(ConnectionClosed):
            await s.init.transaction(0x1002)
    assert len(s.seen.closes) == 1 and isinstance(s.seen.closes[0], ConnectionClosed)


async def test_event_connection_lost_fails_the_transaction(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    tx = asyncio.create_task(s.init.transaction(0x1001))
    await s.cmd.recv_request()
    await s.evt.aclose()
    with pytest.raises(ConnectionClosed):
        await within(tx)
    assert len(s.seen.closes) == 1


@pytest.mark.parametrize(
    "name, bad",
    [
        ("generic", lambda tid: struct.pack("<IIHI", 16, 7, OK, tid) + b"\x01\x00"),  # half a parameter
        ("generic", lambda tid: struct.pack("<II", 8, 42)),  # unknown packet type
        ("generic", lambda tid: struct.pack("<IIHI", 14, 7, OK, tid + 1)),  # another transaction's response
        ("fuji", lambda tid: struct.pack("<IHHI", 12, 9, OK, tid)),  # unknown container type
        ("fuji", lambda tid: struct.pack("<IHHI", 14, 3, OK, tid) + b"\x01\x00"),  # half a parameter
    ],
)
async def test_malformed_packet_is_surfaced(net: Net, name: str, bad: object) -> None:
    s = await net.connect(DIALECTS[name])
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    await s.cmd.send(bad(request.transaction_id))  # type: ignore[operator]
    with pytest.raises(RemoteProtocolError):
        await within(tx)
    assert isinstance(s.init.error, RemoteProtocolError)
    with pytest.raises(ConnectionClosed):
        await s.init.transaction(0x1001)
    assert len(s.seen.closes) == 1 and isinstance(s.seen.closes[0], RemoteProtocolError)


async def test_malformed_event_closes_the_initiator(net: Net) -> None:
    s = await net.connect(GENERIC)
    assert s.evt is not None
    await s.evt.send(encode(OperationResponse(OK, 0)))  # not allowed on the event connection
    assert isinstance(await s.seen.wait_closed(), RemoteProtocolError)
    assert len(s.seen.closes) == 1
    assert not s.init.alive


async def test_cancelled_caller_keeps_the_session_in_step(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    first = blob(600_000, seed=5)  # streamed, so the sink gets pieces before the end
    sink = HashSink()
    progress: list[int] = []
    got_some = asyncio.Event()

    def on_progress(n: int, total: int | None) -> None:
        progress.append(n)
        got_some.set()

    tx1 = asyncio.create_task(s.init.transaction(0x1009, (1,), sink=sink, progress=on_progress))
    request1 = await s.cmd.recv_request()
    tid1 = request1.transaction_id
    wire = b"".join(s.cmd.codec.encode_data(tid1, 0x1009, first))
    await s.cmd.send(wire[:300_000])
    await within(got_some.wait())
    tx1.cancel()
    with pytest.raises(asyncio.CancelledError):
        await tx1
    sink_size, progress_calls = sink.size, len(progress)
    assert 0 < sink_size < len(first)
    # The next caller queues behind the transaction still running on the wire.
    tx2 = asyncio.create_task(s.init.transaction(0x1009, (2,)))
    await s.cmd.send(wire[300_000:])
    await s.cmd.respond(OK, tid1, (1,))
    request2 = await s.cmd.recv_request()
    assert request2.transaction_id == tid1 + 1
    assert request2.params == (2,)
    second = b"the second object"
    await s.cmd.send_data(request2.transaction_id, 0x1009, second)
    await s.cmd.respond(OK, request2.transaction_id, (2,))
    reply = await within(tx2)
    assert reply == Reply(OK, tid1 + 1, (2,), second, len(second))
    assert s.init.alive
    # the rest of the cancelled transfer was discarded, not written to the gone caller's sink
    assert (sink.size, len(progress)) == (sink_size, progress_calls)


async def test_cancelled_before_any_answer(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    tx1 = asyncio.create_task(s.init.transaction(0x100E))
    request1 = await s.cmd.recv_request()
    tx1.cancel()
    with pytest.raises(asyncio.CancelledError):
        await tx1
    tx2 = asyncio.create_task(s.init.transaction(0x1001))
    await s.cmd.send_data(request1.transaction_id, 0x100E, b"late data for the cancelled caller")
    await s.cmd.respond(OK, request1.transaction_id)
    request2 = await s.cmd.recv_request()
    await s.cmd.respond(0x2002, request2.transaction_id)
    reply = await within(tx2)
    assert (reply.code, reply.transaction_id, reply.data) == (0x2002, request1.transaction_id + 1, b"")


async def test_collect_cap(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    tx = asyncio.create_task(s.init.transaction(0x1009, collect_cap=1000))
    request = await s.cmd.recv_request()
    await s.cmd.send_data(request.transaction_id, 0x1009, blob(2000))
    await s.cmd.respond(OK, request.transaction_id)
    with pytest.raises(DataTooLarge) as info:
        await within(tx)
    assert (info.value.size, info.value.cap) == (2000, 1000)
    assert s.init.alive  # the session itself is fine
    tx = asyncio.create_task(s.init.transaction(0x1009, collect_cap=1000))
    request2 = await s.cmd.recv_request()
    assert request2.transaction_id == request.transaction_id + 1
    await s.cmd.send_data(request2.transaction_id, 0x1009, b"small")
    await s.cmd.respond(OK, request2.transaction_id)
    assert (await within(tx)).data == b"small"
    assert s.seen.closes == []


async def test_close(net: Net, dialect: Dialect) -> None:
    s = await net.connect(dialect)
    await s.init.close()
    assert not s.init.alive
    with pytest.raises(ConnectionClosed):
        await s.init.transaction(0x1001)
    assert await s.cmd.read_to_eof() == b""
    assert s.evt is not None
    await s.evt.read_to_eof()
    assert s.seen.closes == []


async def test_probe_is_refused_up_front_on_a_dialect_without_probes(net: Net) -> None:
    from ptpipd.ip.errors import LocalProtocolError
    from ptpipd.ip.fuji import FUJI

    s = await net.connect(FUJI)
    with pytest.raises(LocalProtocolError, match="no probe"):
        await s.init.probe(timeout=0.5)
    assert s.init.alive  # refusing a probe does not break the session
    await s.init.close()
