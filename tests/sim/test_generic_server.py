"""The generic simulator as a subprocess, driven over raw sockets with GenericCodec in the initiator role.

Our own initiator (ptpipd.ip.transport) is deliberately not used, so the simulator is checked independently
of it. Nothing sleeps: every wait is on a packet or a close from the simulator, with a socket timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ptpipd.ip.codec import Role
from ptpipd.ip.generic import GenericCodec
from ptpipd.ip.packets import (
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
    Packet,
    ProbeRequest,
    ProbeResponse,
    StartData,
    encode,
)
from ptpipd.ptp import DataType, DeviceInfo, DevicePropDesc, ObjectInfo, decode_uint32_array, decode_value
from ptpipd.sim.dialect import SimOptions, load
from ptpipd.sim.generic_model import photo_bytes
from ptpipd.vendors import VENDORS
from tests.procs import REPO, SimProcess, running_sim, start_sim

OK = 0x2001
ALL = 0xFFFF_FFFF
GUID = bytes(range(16))
TIMEOUT = 5.0
QUIET = ("--battery-interval", "0")  # no battery events unless a test wants them
#: The simulated camera's DateTime: its clock does not tick.
DATE = "20240601T120000"
SUMMARY = re.compile(r"^sim: sessions=(\d+) transactions=(\d+) violations=(\d+)$", re.MULTILINE)


# ------------------------------------------------------------------------------------------------------
# A minimal raw initiator
# ------------------------------------------------------------------------------------------------------


class Wire:
    """One TCP connection to the simulator, decoded with GenericCodec (initiator role)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.codec = GenericCodec(Role.INITIATOR)

    def send(self, *packets: Packet) -> None:
        self.sock.sendall(b"".join(encode(p) for p in packets))

    def recv(self) -> Packet:
        """The next packet; raises EOFError when the simulator closed the connection first."""
        while (packet := self.codec.next_event()) is None:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("the simulator closed the connection")
            self.codec.receive_data(data)
        if isinstance(packet, Data | EndData):  # payloads are views valid until the next receive_data
            packet = type(packet)(packet.transaction_id, bytes(packet.payload))
        return packet

    def closed_by_peer(self) -> bool:
        """Reads until the simulator closes the connection (True) or the timeout passes (False)."""
        try:
            while self.sock.recv(1 << 16):
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


@dataclass
class Reply:
    code: int
    params: tuple[int, ...]
    data: bytes | None
    tid: int


class Session:
    """A PTP/IP session: the init handshake on both connections, then OpenSession (TID 0)."""

    def __init__(self, port: int, *, open_session: bool = True, version: int | None = 0x0001_0000) -> None:
        self.port = port
        self.cmd = Wire(port)
        self.cmd.send(InitCommandRequest(GUID, "pytest", version))
        ack = self.cmd.recv()
        assert isinstance(ack, InitCommandAck), ack
        self.ack = ack
        self.evt = Wire(port)
        self.evt.send(InitEventRequest(ack.connection_number))
        assert isinstance(self.evt.recv(), InitEventAck)
        self.tid = 0
        if open_session:
            assert self.call(0x1002, 1).code == OK

    def send_request(self, code: int, *params: int, tid: int | None = None, data: bytes | None = None) -> int:
        if tid is None:
            tid, self.tid = self.tid, self.tid + 1
        phase = DataPhase.DataOut if data is not None else DataPhase.NoDataOrDataIn
        packets: list[Packet] = [OperationRequest(phase, code, tid, params)]
        if data is not None:
            packets += [StartData(tid, len(data)), EndData(tid, data)]
        self.cmd.send(*packets)
        return tid

    def reply(self) -> Reply:
        data: bytearray | None = None
        while True:
            packet = self.cmd.recv()
            if isinstance(packet, StartData):
                assert data is None
                data = bytearray()
            elif isinstance(packet, Data | EndData):
                assert data is not None
                data += packet.payload
            else:
                assert isinstance(packet, OperationResponse), packet
                return Reply(
                    packet.code,
                    packet.params,
                    bytes(data) if data is not None else None,
                    packet.transaction_id,
                )

    def call(self, code: int, *params: int, tid: int | None = None, data: bytes | None = None) -> Reply:
        sent = self.send_request(code, *params, tid=tid, data=data)
        reply = self.reply()
        assert reply.tid == sent
        return reply

    def data(self, code: int, *params: int) -> bytes:
        reply = self.call(code, *params)
        assert reply.code == OK, hex(reply.code)
        assert reply.data is not None
        return reply.data

    def event(self, *, skip_battery: bool = True) -> Event:
        while True:
            packet = self.evt.recv()
            assert isinstance(packet, Event), packet
            if skip_battery and packet.transaction_id == ALL and packet.params == (0x5001,):
                continue
            return packet

    def close(self) -> None:
        self.cmd.close()
        self.evt.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[SimProcess]:
    """A simulator for the tests that change nothing on the camera."""
    with running_sim("generic", *QUIET) as sim:
        yield sim


def wait_for_log(sim: SimProcess, text: str, count: int = 1, timeout: float = TIMEOUT) -> None:
    """Waits until the simulator has logged ``text`` ``count`` times (its own signal that it acted)."""
    deadline = time.monotonic() + timeout
    while sim.stderr_text().count(text) < count:
        assert time.monotonic() < deadline, f"the simulator did not log {text!r} {count} times"
        time.sleep(0.01)


def stop_summary(sim: SimProcess) -> tuple[int, int, int]:
    err = sim.stop()
    assert sim.proc.returncode == 0, err
    match = SUMMARY.search(err)
    assert match, err
    return int(match[1]), int(match[2]), int(match[3])


# ------------------------------------------------------------------------------------------------------
# Handshake and sessions
# ------------------------------------------------------------------------------------------------------


def test_handshake(shared: SimProcess) -> None:
    session = Session(shared.port, open_session=False)
    try:
        ack = session.ack
        assert ack.name == "ptpipd-sim" and len(ack.guid) == 16 and ack.version == 0x0001_0000
        assert ack.connection_number >= 1
    finally:
        session.close()


def test_handshake_without_protocol_version() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port, version=None)  # atotto-style initiators omit it
        assert session.ack.version is None
        assert session.call(0x1004).code == OK
        session.close()


def test_device_info_and_session_rules() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port, open_session=False)
        info = DeviceInfo.decode(session.data(0x1001))  # allowed outside a session
        assert (info.manufacturer, info.model, info.serial_number) == (
            "ptpipd",
            "Simulated PTP/IP camera",
            "SIM-0001",
        )
        assert {0x100E, 0x101B} <= set(info.operations_supported)
        assert session.call(0x1004).code == 0x2003  # SessionNotOpen
        assert session.call(0x1002, 0, tid=0).code == 0x201D  # OpenSession(0): InvalidParameter
        assert session.call(0x1002, 1, tid=0).code == OK
        again = session.call(0x1002, 2, tid=0)
        assert (again.code, again.params) == (0x201E, (1,))  # SessionAlreadyOpen, Param1 = the open ID
        session.tid = 1
        assert session.call(0x1004).code == OK
        assert session.call(0x1003).code == OK  # CloseSession
        assert session.call(0x1004).code == 0x2003
        session.close()
        assert stop_summary(sim)[0] == 1


def test_transaction_ids_are_enforced() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port, open_session=False)
        assert session.call(0x1002, 1, tid=3).code == 0x2004  # OpenSession must carry 0 or 1
        assert session.call(0x1002, 1, tid=1).code == OK  # 1 is accepted (Fuji-style initiators)
        wrong = session.call(0x1004, tid=7)
        assert (wrong.code, wrong.tid) == (0x2004, 7)  # InvalidTransactionID, echoing the wrong ID
        assert session.call(0x1004, tid=3).code == 0x2004
        assert session.call(0x1004, tid=2).code == OK  # the expected ID did not move
        assert session.call(0x1004, tid=3).code == OK
        assert session.call(0x1004, tid=3).code == 0x2004  # no repeats
        session.close()
        assert stop_summary(sim)[2] == 0  # a wrong TID is answered, not a violation


def test_every_property(shared: SimProcess) -> None:
    session = Session(shared.port)
    try:
        info = DeviceInfo.decode(session.data(0x1001))
        assert len(info.device_properties_supported) >= 16
        for code in info.device_properties_supported:
            desc = DevicePropDesc.decode(session.data(0x1014, code))
            assert desc.code == code
            value, end = decode_value(desc.datatype, session.data(0x1015, code))
            assert end > 0
            if code != 0x5001:  # the battery may drain between the two reads
                assert value == desc.current
            assert desc.allows(value)
        assert session.call(0x1014, 0x5016).code == 0x200A
        assert session.call(0x1015, 0x5016).code == 0x200A
    finally:
        session.close()


def test_set_property_refusals_and_event() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port)
        u16 = struct.Struct("<H")
        assert session.call(0x1016, 0x5016, data=u16.pack(10)).code == 0x200A  # DevicePropNotSupported
        assert session.call(0x1016, 0x5001, data=b"\x32").code == 0x200F  # AccessDenied (read-only)
        assert session.call(0x1016, 0x500F, data=b"\x20\x03\x00\x00").code == 0x201B  # wrong size
        assert session.call(0x1016, 0x500F, data=u16.pack(12345)).code == 0x201C  # not in the enumeration
        assert session.call(0x1016, 0x500F, data=u16.pack(400)).code == OK  # unchanged: no event
        changed = session.call(0x1016, 0x500F, data=u16.pack(800))
        assert changed.code == OK
        # the first event is this change: setting the unchanged value before sent none
        assert session.event() == Event(0x4006, changed.tid, (0x500F,))
        assert session.data(0x1015, 0x500F) == u16.pack(800)
        desc = DevicePropDesc.decode(session.data(0x1014, 0x500F))
        assert (desc.current, desc.factory_default) == (800, 400)
        session.close()


def test_data_out_variants() -> None:
    """StartData+EndData, StartData+Data+EndData, libgphoto2's lone StartData(0), StartData(0)+EndData."""
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port)
        value = struct.pack("<H", 1600)
        tid = session.tid
        session.tid += 1
        session.cmd.send(
            OperationRequest(DataPhase.DataOut, 0x1016, tid, (0x500F,)),
            StartData(tid, 2),
            Data(tid, value[:1]),
            EndData(tid, value[1:]),
        )
        assert session.reply().code == OK
        tid = session.tid
        session.tid += 1
        session.cmd.send(OperationRequest(DataPhase.DataOut, 0x1016, tid, (0x500F,)), StartData(tid, 0))
        assert session.reply().code == 0x201B  # answered without waiting for an EndData
        tid = session.tid
        session.tid += 1
        session.cmd.send(
            OperationRequest(DataPhase.DataOut, 0x1016, tid, (0x500F,)), StartData(tid, 0), EndData(tid, b"")
        )
        assert session.reply().code == 0x201B
        assert session.call(0x1016, 0x500F).code == 0x201B  # DataPhaseInfo 1: no data at all
        assert session.data(0x1015, 0x500F) == value  # and the session is still in step
        session.close()
        assert stop_summary(sim)[2] == 0


def test_probe_on_both_connections(shared: SimProcess) -> None:
    session = Session(shared.port)
    try:
        session.evt.send(ProbeRequest())
        assert isinstance(session.evt.recv(), ProbeResponse)
        session.cmd.send(ProbeRequest())
        assert isinstance(session.cmd.recv(), ProbeResponse)
        assert session.call(0x1004).code == OK
    finally:
        session.close()


# ------------------------------------------------------------------------------------------------------
# Objects
# ------------------------------------------------------------------------------------------------------


def test_object_walk_and_download(shared: SimProcess) -> None:
    session = Session(shared.port)
    try:
        assert decode_uint32_array(session.data(0x1004))[0] == (0x0001_0001,)
        assert decode_uint32_array(session.data(0x1007, ALL, 0, ALL))[0] == (1,)
        assert decode_uint32_array(session.data(0x1007, 0x0001_0001, 0, 1))[0] == (2,)
        photos = decode_uint32_array(session.data(0x1007, 0x0001_0001, 0, 2))[0]
        assert photos == (3, 4, 5)
        for handle in photos:
            info = ObjectInfo.decode(session.data(0x1008, handle))
            data = session.data(0x1009, handle)
            assert len(data) == info.compressed_size and data[:2] == b"\xff\xd8"
            part = session.call(0x101B, handle, 100, 1000)
            assert (part.code, part.params, part.data) == (OK, (1000,), data[100:1100])
            assert len(session.data(0x100A, handle)) == info.thumb_compressed_size
        assert session.call(0x1009, 77).code == 0x2009
    finally:
        session.close()


def _formula(size: int) -> bytes:
    blocks = (
        hashlib.shake_256(b"ptpipd-sim-big-object" + k.to_bytes(4, "little")).digest(1 << 20)
        for k in range((size + (1 << 20) - 1) >> 20)
    )
    return b"".join(blocks)[:size]


def test_big_object_streams_in_data_packets() -> None:
    size = 3 * (1 << 20) + 100
    with running_sim("generic", *QUIET, "--object-size", str(size)) as sim:
        session = Session(sim.port)
        info = ObjectInfo.decode(session.data(0x1008, 6))
        assert (info.filename, info.compressed_size) == ("BIG00001.BIN", size)
        tid = session.send_request(0x1009, 6)
        # read the raw packets: StartData, Data packets of 1 MiB, an EndData with the rest, the response
        kinds: list[tuple[int, int]] = []
        raw = bytearray()
        expected_total = 20 + 3 * (12 + (1 << 20)) + 12 + 100 + 14
        while len(raw) < expected_total:
            chunk = session.cmd.sock.recv(1 << 20)
            assert chunk
            raw += chunk
        assert len(raw) == expected_total
        payload = bytearray()
        at = 0
        while at < len(raw):
            length, ptype = struct.unpack_from("<II", raw, at)
            kinds.append((ptype, length))
            if ptype in (10, 12):
                assert struct.unpack_from("<I", raw, at + 8)[0] == tid
                payload += raw[at + 12 : at + length]
            at += length
        assert kinds == [
            (9, 20),
            (10, 12 + (1 << 20)),
            (10, 12 + (1 << 20)),
            (10, 12 + (1 << 20)),
            (12, 112),
            (7, 14),
        ]
        assert bytes(payload) == _formula(size)
        session.close()


# ------------------------------------------------------------------------------------------------------
# Capture and events
# ------------------------------------------------------------------------------------------------------


def test_capture_sends_object_added_then_capture_complete() -> None:
    with running_sim("generic", *QUIET, "--capture-delay", "0.05") as sim:
        session = Session(sim.port)
        start = session.call(0x100E, 0, 0)
        assert start.code == OK
        added = session.event()
        assert (added.code, added.transaction_id) == (0x4002, start.tid)
        assert session.event() == Event(0x400D, start.tid, ())
        info = ObjectInfo.decode(session.data(0x1008, added.params[0]))
        assert (info.filename, info.parent_object) == ("IMG_0004.JPG", 2)
        assert len(session.data(0x1009, added.params[0])) == info.compressed_size
        assert session.call(0x100B, added.params[0], 0).code == OK
        assert session.event() == Event(0x4003, session.tid - 1, (added.params[0],))
        session.close()


def test_capture_in_progress_is_device_busy() -> None:
    with running_sim("generic", *QUIET, "--capture-delay", "60") as sim:
        session = Session(sim.port)
        assert session.call(0x100E, 0, 0).code == OK
        assert session.call(0x100E, 0, 0).code == 0x2019
        session.close()


def test_shutter_pressed_on_the_body_every_interval() -> None:
    """--shoot-every: a new photo and ObjectAdded alone, with no transaction (what libgphoto2 turns into
    "file added"); the photo is what the model documents for that number and date."""
    with running_sim("generic", *QUIET, "--shoot-every", "0.1", "--seed", "5") as sim:
        session = Session(sim.port)
        first, second = session.event(), session.event()
        assert (first.code, first.transaction_id, second.code, second.transaction_id) == (
            0x4002,
            ALL,
            0x4002,
            ALL,
        )
        assert second.params[0] == first.params[0] + 1
        info = ObjectInfo.decode(session.data(0x1008, second.params[0]))
        number = int(info.filename[4:8])
        assert (info.filename, info.parent_object, info.capture_date) == (f"IMG_{number:04d}.JPG", 2, DATE)
        photo = session.data(0x1009, second.params[0])
        assert len(photo) == info.compressed_size and photo == photo_bytes(5, number, 1600, 1200, date=DATE)
        session.close()


def test_sigusr1_presses_the_shutter_once() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port)
        sim.proc.send_signal(signal.SIGUSR1)
        assert session.event() == Event(0x4002, ALL, (6,))
        assert ObjectInfo.decode(session.data(0x1008, 6)).filename == "IMG_0004.JPG"
        session.close()
        sim.proc.send_signal(signal.SIGUSR1)  # no session: the photo is taken all the same
        wait_for_log(sim, "shutter pressed on the body", 2)
        session = Session(sim.port)
        handles = decode_uint32_array(session.data(0x1007, ALL, 0, 2))[0]
        assert handles == (3, 4, 5, 6, 7)
        session.close()


def test_the_battery_drains_slowly_by_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ptpipd.sim", "--help"], capture_output=True, text=True, check=True, cwd=REPO
    )
    text = " ".join(result.stdout.split())
    assert "--battery-interval S lose 1% of battery every S s, down to 0% (0: never) (default 60)" in text


def test_battery_drains_with_events() -> None:
    with running_sim("generic", "--battery-interval", "0.05") as sim:
        session = Session(sim.port)
        event = session.event(skip_battery=False)
        assert event == Event(0x4006, ALL, (0x5001,))
        assert session.event(skip_battery=False) == event  # and again
        level, _ = decode_value(DataType.UINT8, session.data(0x1015, 0x5001))
        assert isinstance(level, int) and level < 100
        session.close()


# ------------------------------------------------------------------------------------------------------
# Violations, busy, malformed input
# ------------------------------------------------------------------------------------------------------


def test_interleaved_transactions_are_a_violation() -> None:
    with running_sim("generic", *QUIET, "--response-delay", "0.2") as sim:
        session = Session(sim.port)
        session.cmd.send(
            OperationRequest(1, 0x1004, 1, ()),
            OperationRequest(1, 0x1001, 2, ()),  # before the response to TID 1
        )
        assert session.cmd.closed_by_peer()
        assert session.evt.closed_by_peer()  # the session went with it
        session.close()
        err = sim.stop()
        assert "violation: OperationRequest 0x1001" in err
        match = SUMMARY.search(err)
        assert match and match[3] == "1", err


def test_second_initiator_gets_init_fail_busy() -> None:
    with running_sim("generic", *QUIET) as sim:
        first = Session(sim.port)
        second = Wire(sim.port)
        second.send(InitCommandRequest(GUID, "intruder"))
        assert second.recv() == InitFail(2)
        assert second.closed_by_peer()
        assert first.call(0x1004).code == OK  # the first session is untouched
        first.cmd.close()
        assert first.evt.closed_by_peer()  # its event connection ends with it ...
        third = Session(sim.port)  # ... and the camera is free again
        assert third.call(0x1004).code == OK
        third.close()
        first.close()
        second.close()
        assert stop_summary(sim)[0::2] == (2, 0)


def test_event_connection_must_match_the_session(shared: SimProcess) -> None:
    stray = Wire(shared.port)
    stray.send(InitEventRequest(4242))
    packet = stray.recv()
    assert isinstance(packet, InitFail)
    assert stray.closed_by_peer()
    stray.close()


def test_operation_before_the_event_connection_is_a_violation() -> None:
    with running_sim("generic", *QUIET) as sim:
        cmd = Wire(sim.port)
        cmd.send(InitCommandRequest(GUID, "hasty"))
        assert isinstance(cmd.recv(), InitCommandAck)
        cmd.send(OperationRequest(1, 0x1002, 0, (1,)))
        assert cmd.closed_by_peer()
        cmd.close()
        err = sim.stop()
        assert "violation: OperationRequest 0x1002 before the event connection" in err


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x04\x00\x00\x00\x01\x00\x00\x00",  # length under the 8-byte header
        struct.pack("<II", 8, 99),  # unknown packet type
        struct.pack("<II", 12, 6) + b"\x01\x00\x00\x00",  # OperationRequest too short
        struct.pack("<III", 12, 1, 0),  # InitCommandRequest without GUID and name
        struct.pack("<II", 8, 7),  # a response, from the initiator, as the first packet
    ],
)
def test_malformed_first_packet_closes_only_that_connection(garbage: bytes) -> None:
    with running_sim("generic", *QUIET) as sim:
        bad = Wire(sim.port)
        bad.sock.sendall(garbage)
        assert bad.closed_by_peer()
        bad.close()
        session = Session(sim.port)  # the server still serves
        assert session.call(0x1004).code == OK
        session.close()
        assert stop_summary(sim)[2] == 1


def test_malformed_packet_mid_session_ends_the_session() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port)
        session.cmd.sock.sendall(struct.pack("<II", 10, 6) + b"\x01\x00")
        assert session.cmd.closed_by_peer()
        assert session.evt.closed_by_peer()
        session.close()
        again = Session(sim.port)
        assert again.call(0x1004).code == OK
        again.close()
        assert stop_summary(sim)[2] == 1


def test_data_phase_with_the_wrong_transaction_id_is_a_violation() -> None:
    with running_sim("generic", *QUIET) as sim:
        session = Session(sim.port)
        session.cmd.send(OperationRequest(2, 0x1016, 1, (0x500F,)), StartData(5, 2))
        assert session.cmd.closed_by_peer()
        session.close()
        assert stop_summary(sim)[2] == 1


# ------------------------------------------------------------------------------------------------------
# The command line and the in-process API
# ------------------------------------------------------------------------------------------------------


def test_stop_summary_counts_sessions_and_transactions() -> None:
    sim = start_sim("generic", *QUIET)
    try:
        session = Session(sim.port)  # OpenSession: one transaction
        session.call(0x1004)
        session.call(0x1001)
        session.close()
    finally:
        sessions, transactions, violations = stop_summary(sim)
    assert (sessions, transactions, violations) == (1, 3, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vendor", "fuji", "--ports", "1,2,3,4"], "the Fujifilm camera listens on 3 ports"),
        (["--ports", "1,2"], "the generic camera listens on one port (PTP/IP); got 2"),
        (["--fps", "20"], "--fps: not an option of --vendor generic"),
        (["--object-size", "12Q"], "not a size"),
        (["--port", "70000"], "not a TCP port"),
        (["--port", "x"], "not a TCP port: 'x'"),
        (
            ["--image-size", "1x1"],
            "--image-size 1x1: not one of the ImageSize values 640x480, 1600x1200, 4000x3000",
        ),
        (["--ports", "15740,-1"], "not a TCP port: '-1'"),
        (["--shots", "-1"], "not a count: '-1'"),
        (["--shots", "1.5"], "not a count: '1.5'"),
        (["--vendor", "canon", "--photo-scale", "65"], "not a scale from 1 to 64: '65'"),
        (["--vendor", "polaroid"], "invalid choice"),
    ],
)
def test_command_line_errors_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ptpipd.sim", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "listening on" not in result.stdout


def test_the_readme_names_every_option_of_every_body() -> None:
    """A body's options come from its SIMULATOR; the README's simulator section must keep up with them."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## The simulated camera\n", 1)[1].split("\n## ", 1)[0]
    names = [f.name for f in dataclasses.fields(SimOptions)]
    for vendor in VENDORS:
        names += load(vendor).option_names()
    missing = [name for name in names if "--" + name.replace("_", "-") not in section]
    assert not missing, f"README.md's simulator section does not mention {missing}"


class AsyncSession:
    """A session with an in-process simulator over asyncio streams (OpenSession done, TID 1 next)."""

    def __init__(self) -> None:
        self.codec = GenericCodec(Role.INITIATOR)
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self, port: int, *, limit: int = 1 << 16) -> AsyncSession:
        self.reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=limit)
        self.writers.append(writer)
        writer.write(encode(InitCommandRequest(GUID, "in-process")))
        ack = await self.packet()
        assert isinstance(ack, InitCommandAck)
        ev_reader, ev_writer = await asyncio.open_connection("127.0.0.1", port)
        self.writers.append(ev_writer)
        ev_writer.write(encode(InitEventRequest(ack.connection_number)))
        assert await asyncio.wait_for(ev_reader.readexactly(8), TIMEOUT) == encode(InitEventAck())
        self.send(OperationRequest(1, 0x1002, 0, (1,)))
        assert await self.packet() == OperationResponse(OK, 0)
        return self

    def send(self, packet: Packet) -> None:
        self.writers[0].write(encode(packet))

    async def packet(self) -> Packet:
        while (packet := self.codec.next_event()) is None:
            data = await asyncio.wait_for(self.reader.read(1 << 16), TIMEOUT)
            assert data, "the simulator closed the connection"
            self.codec.receive_data(data)
        return packet

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


async def test_start_simulator_in_process() -> None:
    from ptpipd.sim.server import start_simulator

    server = await start_simulator("generic", "127.0.0.1", 0, battery_interval=0, seed=3)
    try:
        assert server.host == "127.0.0.1" and len(server.ports) == 1 and server.ports[0] > 0
        session = await AsyncSession().open(server.ports[0])
        session.send(OperationRequest(1, 0x1004, 1, ()))
        assert isinstance(await session.packet(), StartData)
        assert isinstance(await session.packet(), EndData)
        assert await session.packet() == OperationResponse(OK, 1)
        # same event loop: the response was counted in the step that wrote it
        assert (server.stats.sessions, server.stats.transactions, server.stats.violations) == (1, 2, 0)
        session.close()
    finally:
        await server.close()
    with pytest.raises(KeyError):
        await start_simulator("polaroid", port=0)
    with pytest.raises(TypeError, match="has no option fps"):
        await start_simulator("generic", port=0, fps=25)
    with pytest.raises(ValueError, match="--image-size 1x1: not one of the ImageSize values 640x480, "):
        await start_simulator("generic", port=0, image_size="1x1")


async def test_a_bug_in_the_model_is_a_general_error(caplog: pytest.LogCaptureFixture) -> None:
    from ptpipd.sim.server import start_simulator

    server = await start_simulator("generic", "127.0.0.1", 0, battery_interval=0)
    try:
        session = await AsyncSession().open(server.ports[0])

        def broken(*args: object) -> None:
            raise RuntimeError("model bug")

        server.body.model.operation = broken  # type: ignore[attr-defined]
        session.send(OperationRequest(1, 0x1004, 1, ()))
        assert await session.packet() == OperationResponse(0x2002, 1)  # GeneralError, connection kept
        assert "model bug" in caplog.text
        session.close()
    finally:
        await server.close()


async def test_big_data_phase_respects_flow_control() -> None:
    """A slow reader never makes the simulator buffer the object: at most about WRITE_HIGH + one packet."""
    from ptpipd.sim.server import WRITE_HIGH, start_simulator

    size = 48 << 20
    server = await start_simulator("generic", "127.0.0.1", 0, battery_interval=0, object_size=size)
    try:
        session = await AsyncSession().open(server.ports[0])
        session.send(OperationRequest(1, 0x1009, 1, (6,)))
        total = 20 + 48 * (12 + (1 << 20)) + 14  # StartData, 47 Data + 1 EndData of 1 MiB, the response
        received = peak = 0
        while received < total:
            received += len(await asyncio.wait_for(session.reader.read(1 << 16), TIMEOUT))
            buffered = [c.transport.get_write_buffer_size() for c in server.connections if c.transport]
            peak = max(peak, *buffered)
        assert received == total
        assert peak <= WRITE_HIGH + (1 << 20) + 64, peak
        session.close()
    finally:
        await server.close()
