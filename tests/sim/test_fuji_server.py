"""``ptpipd-sim --vendor fuji`` as a subprocess, driven over raw sockets with FujiCodec in the initiator role.

Our own initiator (ptpipd.ip.transport, ptpipd.vendors.fuji) is deliberately not used: each test checks one
thing the X-T1 does (FUJI.md §15, §16) from the bytes on the wire. Expected payloads come from the seed
README's captures in tests/data, not from the simulator's model. Nothing sleeps to synchronise: every wait
is on a packet, a close or a refused connection, with a socket timeout. The one sleep left is the slow
reader of the live-view test being slow on purpose.
"""

from __future__ import annotations

import io
import itertools
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import FUJI_PROTOCOL_VERSION, FujiCodec, encode_init_command_request
from ptpipd.ip.packets import (
    Data,
    EndData,
    InitCommandAck,
    InitFail,
    OperationRequest,
    OperationResponse,
    StartData,
)
from ptpipd.sim.fuji import FujiBody
from ptpipd.sim.pictures import frame_stamp
from tests.procs import REPO, SimProcess, running_daemon, running_sim, start_sim
from tests.sim.test_generic_server import wait_for_log

HOST = "127.0.0.1"
TIMEOUT = 5.0
OK = 0x2001
GUID = bytes(range(0x10, 0x20))
DATA = Path(__file__).resolve().parents[1] / "data"
FPS = 20


# ------------------------------------------------------------------------------------------------------
# A minimal raw Fuji initiator
# ------------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    code: int
    params: tuple[int, ...]
    data: bytes | None


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the simulator closed the connection")
        data += chunk
    return bytes(data)


def recv_frame(sock: socket.socket) -> bytes:
    """One length-prefixed frame (init packet, container, event or live-view frame), whole."""
    head = recv_exactly(sock, 4)
    return head + recv_exactly(sock, struct.unpack("<I", head)[0] - 4)


def closed_by_peer(sock: socket.socket) -> bool:
    """Reads until the simulator closes (True) or the timeout passes (False)."""
    try:
        while sock.recv(1 << 16):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def refused(port: int) -> bool:
    """True when nothing listens on ``port`` (the connection attempt is refused)."""
    try:
        socket.create_connection((HOST, port), timeout=TIMEOUT).close()
    except ConnectionRefusedError:
        return True
    return False


class Conn:
    """A command connection to the simulated X-T1."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.codec = FujiCodec(Role.INITIATOR)
        self.tid = 1

    def close(self) -> None:
        self.sock.close()

    def packet(self) -> object:
        while (packet := self.codec.next_event()) is None:
            self.codec.receive_data(recv_frame(self.sock))
        if isinstance(packet, Data | EndData):
            packet = type(packet)(packet.transaction_id, bytes(packet.payload))
        return packet

    def init(
        self, name: str, *, fixed: bool = True, version: int = FUJI_PROTOCOL_VERSION
    ) -> InitCommandAck | InitFail:
        self.sock.sendall(encode_init_command_request(GUID, name, fixed_length=fixed, version=version))
        reply = self.packet()
        assert isinstance(reply, InitCommandAck | InitFail), reply
        return reply

    def send(self, code: int, *params: int, tid: int | None = None, data: bytes | None = None) -> int:
        if tid is None:
            tid = self.tid
        self.tid = tid + 1
        raw = self.codec.encode(OperationRequest(1, code, tid, params))
        if data is not None:
            raw += b"".join(self.codec.encode_data(tid, code, data))
        self.sock.sendall(raw)
        return tid

    def reply(self, tid: int) -> Reply:
        data: bytearray | None = None
        while True:
            packet = self.packet()
            if isinstance(packet, StartData):
                assert data is None and packet.transaction_id == tid
                data = bytearray()
            elif isinstance(packet, Data | EndData):
                assert data is not None and packet.transaction_id == tid
                data += packet.payload
            else:
                assert isinstance(packet, OperationResponse) and packet.transaction_id == tid, packet
                return Reply(packet.code, packet.params, bytes(data) if data is not None else None)

    def call(self, code: int, *params: int, tid: int | None = None, data: bytes | None = None) -> Reply:
        return self.reply(self.send(code, *params, tid=tid, data=data))

    def remote_mode(self, name: str = "pytest", open_tid: int = 1, version: int = 0x0002_0001) -> None:
        """FUJI.md §4: init, OpenSession, DF01 = 5, DF24 read (the X-T1's ``version`` unless told) and
        written back, InitiateOpenCapture."""
        assert isinstance(self.init(name), InitCommandAck)
        assert self.call(0x1002, 1, tid=open_tid).code == OK
        assert self.call(0x1016, 0xDF01, data=b"\x05\x00").code == OK
        answer = self.call(0x1015, 0xDF24)
        assert answer.code == OK and answer.data == version.to_bytes(4, "little")
        assert self.call(0x1016, 0xDF24, data=answer.data).code == OK
        assert self.call(0x101C, 0, 0).code == OK


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    """A simulator that lets every client name in, live view at FPS frames a second."""
    with running_sim("fuji", "--accept-any-client", "--fps", str(FPS)) as process:
        yield process


@pytest.fixture
def remote(sim: SimProcess) -> Iterator[Conn]:
    conn = Conn(sim.ports[0])
    try:
        conn.remote_mode()
        yield conn
    finally:
        conn.close()


def seed_payload(name: str) -> bytes:
    """The data payload of the first packet of a seed README hex dump (bytes 12.. of the container)."""
    text = (DATA / name).read_text(encoding="ascii")
    block = text.split("HEX dump:\n")[1].split("\n\n")[0]
    raw = b"".join(bytes.fromhex(line[10:58].replace(" ", "")) for line in block.splitlines())
    assert struct.unpack_from("<I", raw)[0] == len(raw)
    return raw[12:]


# ------------------------------------------------------------------------------------------------------
# Ports and command line
# ------------------------------------------------------------------------------------------------------


def test_three_consecutive_ports_and_explicit_ones(sim: SimProcess) -> None:
    command, event, stream = sim.ports
    assert (event, stream) == (command + 1, command + 2)  # libgphoto2 derives them so
    socks = [socket.create_server((HOST, 0)) for _ in range(3)]
    wanted = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    with running_sim("fuji", "--ports", ",".join(map(str, wanted))) as explicit:  # the last --ports wins
        assert explicit.ports == wanted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fps", "0"], "not a frame rate"),
        (["--confirm-delay", "-1"], "not a duration"),
        (["--model", "x-t9"], "unknown Fuji body 'x-t9'; known: x-t1, x-t2, x-t4, x-t5, x-s10"),
        (
            ["--wifi-mode", "browse"],
            "the X-T1 reports no camera state (0xDF00): --wifi-mode needs a later body",
        ),
        (["--model", "x-t4", "--wifi-mode", "usb"], "unknown --wifi-mode 'usb'; known: remote, browse"),
    ],
)
def test_command_line_errors(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ptpipd.sim", "--vendor", "fuji", "--ports", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "listening on" not in result.stdout


# ------------------------------------------------------------------------------------------------------
# Init request
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixed", [True, False], ids=["82-byte", "variable-length"])
def test_both_init_request_forms_are_accepted(sim: SimProcess, fixed: bool) -> None:
    conn = Conn(sim.ports[0])
    try:
        raw = encode_init_command_request(GUID, "form-test", fixed_length=fixed)
        assert (len(raw) == 82) is fixed
        ack = conn.init("form-test", fixed=fixed)
        assert isinstance(ack, InitCommandAck)
        assert ack.name == "X-T1" and ack.connection_number > 0
        assert conn.call(0x1002, 1).code == OK
    finally:
        conn.close()


def test_wrong_protocol_version_is_init_fail_0x201d(sim: SimProcess) -> None:
    conn = Conn(sim.ports[0])
    try:
        fail = conn.init("pytest", version=0x0001_0000)  # the standard PTP/IP version
        assert fail == InitFail(0x201D)
        assert closed_by_peer(conn.sock)
    finally:
        conn.close()


def test_repeated_init_request_is_answered_twice(sim: SimProcess) -> None:
    """libgphoto2 2.5.30 sends the 82-byte request twice on one connection (ORACLES.md §2)."""
    sock = socket.create_connection((HOST, sim.ports[0]), timeout=TIMEOUT)
    try:
        request = encode_init_command_request(GUID, "gphoto-like", fixed_length=True)
        sock.sendall(request + request)
        first, second = recv_frame(sock), recv_frame(sock)
        assert first == second
        assert struct.unpack_from("<II", first) == (len(first), 2)  # InitCommandAck, PTP/IP framing
        codec = FujiCodec(Role.INITIATOR)
        codec.receive_data(first)
        assert isinstance(codec.next_event(), InitCommandAck)
        sock.sendall(codec.encode(OperationRequest(1, 0x1002, 0, (1,))))
        assert recv_frame(sock) == bytes.fromhex("0c000000 0300 0120 00000000")
        sock.sendall(request)  # once a command has been answered, another init request is a violation
        assert closed_by_peer(sock)
    finally:
        sock.close()


def test_second_client_while_a_session_is_active_is_busy(remote: Conn, sim: SimProcess) -> None:
    other = Conn(sim.ports[0])
    try:
        assert other.init("someone-else") == InitFail(0x2019)
        assert closed_by_peer(other.sock)
    finally:
        other.close()
    assert remote.call(0x1015, 0x5001).data == b"\x03"  # the first client is undisturbed


# ------------------------------------------------------------------------------------------------------
# Pairing: the camera remembers the first name; the prompt holds DF01
# ------------------------------------------------------------------------------------------------------


def test_first_name_is_remembered_with_a_confirm_delay() -> None:
    with running_sim("fuji", "--confirm-delay", "1") as camera:
        port = camera.ports[0]
        first = Conn(port)
        try:
            assert isinstance(first.init("alpha"), InitCommandAck)
            assert first.call(0x1002, 1).code == OK
            started = time.monotonic()
            assert first.call(0x1016, 0xDF01, data=b"\x05\x00").code == OK
            held = time.monotonic() - started
            assert held >= 0.9, held  # the "user" pressed OK after a second
        finally:
            first.close()
        stranger = Conn(port)
        try:
            assert stranger.init("beta") == InitFail(0x2019)
            assert closed_by_peer(stranger.sock)
        finally:
            stranger.close()
        again = Conn(port)
        try:
            assert isinstance(again.init("alpha"), InitCommandAck)
            assert again.call(0x1002, 1).code == OK
            started = time.monotonic()
            assert again.call(0x1016, 0xDF01, data=b"\x05\x00").code == OK
            assert time.monotonic() - started < 0.5  # a known client: no prompt
        finally:
            again.close()


def test_accept_any_client_lets_other_names_in(sim: SimProcess) -> None:
    for name in ("first-name", "second-name"):
        conn = Conn(sim.ports[0])
        try:
            conn.remote_mode(name)
        finally:
            conn.close()


# ------------------------------------------------------------------------------------------------------
# Session: TIDs, refusals before the init sequence is complete, data containers before errors
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tid", [0, 1], ids=["libgphoto2-tid-0", "malc0mn-tid-1"])
def test_open_session_with_tid_0_or_1(sim: SimProcess, tid: int) -> None:
    conn = Conn(sim.ports[0])
    try:
        conn.remote_mode(open_tid=tid)
        assert conn.tid == tid + 5
    finally:
        conn.close()


def test_commands_before_the_init_sequence_are_refused(sim: SimProcess) -> None:
    conn = Conn(sim.ports[0])
    try:
        assert isinstance(conn.init("early"), InitCommandAck)
        # no session: SessionNotOpen, and a data-in operation still gets its (empty) data container
        assert conn.call(0x1015, 0xDF24) == Reply(0x2003, (), b"")
        assert conn.call(0x100E, 0, 0) == Reply(0x2003, (), None)
        assert conn.call(0x1002, 1).code == OK
        assert conn.call(0x1002, 1) == Reply(0x201E, (1,), None)  # SessionAlreadyOpen
        assert conn.call(0x101C, 0, 0).code == 0x2019  # DeviceBusy before DF01 and DF24
        assert conn.call(0x1016, 0xDF24, data=bytes.fromhex("01000200")).code == 0x2019
        assert conn.call(0x1016, 0xDF01, data=b"\x04\x00").code == 0x201C  # only remote mode (5)
        assert conn.call(0x1016, 0xDF01, data=b"\x05\x00").code == OK
        assert conn.call(0x101C, 0, 0).code == 0x2019  # DF24 not written yet
        assert conn.call(0x100E, 0, 0).code == 0x2019  # no capture before remote mode
        assert conn.call(0x9022) == Reply(0x2019, (), b"")
        assert conn.call(0x1016, 0xD001, data=b"\x01\x00").code == 0x2019  # no set before remote mode
        assert conn.call(0x1016, 0xDF24, data=bytes.fromhex("01000200")).code == OK
        assert conn.call(0x101C, 0, 0).code == OK
        assert conn.call(0x1016, 0xD001, data=b"\x01\x00").code == OK
    finally:
        conn.close()


def test_data_in_refusals_carry_an_empty_data_container(remote: Conn) -> None:
    assert remote.call(0x1007, 0xFFFF_FFFF, 0, 0xFFFF_FFFF) == Reply(0x2005, (), b"")  # not supported
    assert remote.call(0x1015, 0x1234) == Reply(0x200A, (), b"")  # unknown property
    assert remote.call(0x1014, 0x1234) == Reply(OK, (), b"")  # "no data, no error" (FUJI.md §6.3)
    assert remote.call(0x9022) == Reply(0x2002, (), b"")  # no preview waiting
    assert remote.call(0x1016, 0x5001, data=b"\x01").code == 0x200F  # read-only, no data phase back


# ------------------------------------------------------------------------------------------------------
# The README captures, and consistency after a set
# ------------------------------------------------------------------------------------------------------


def test_default_lists_are_the_readme_captures_and_follow_a_set() -> None:
    readme_902b, readme_d212 = (
        seed_payload("seed_opreq_0x902B.txt"),
        seed_payload("seed_opreq_0x1015_0xD212.txt"),
    )
    with running_sim("fuji") as camera:
        conn = Conn(camera.ports[0])
        try:
            conn.remote_mode()
            assert conn.call(0x902B) == Reply(OK, (), readme_902b)
            assert conn.call(0x1015, 0xD212) == Reply(OK, (), readme_d212)
            assert conn.call(0x1016, 0xD02A, data=struct.pack("<I", 800)).code == OK  # ISO 800
            assert conn.call(0x1016, 0xD001, data=struct.pack("<H", 11)).code == OK  # Classic Chrome
            state = conn.call(0x1015, 0xD212).data
            listed = conn.call(0x902B).data
        finally:
            conn.close()
    assert state is not None and listed is not None
    entries = {
        struct.unpack_from("<H", state, 2 + 6 * i)[0]: struct.unpack_from("<I", state, 4 + 6 * i)[0]
        for i in range(struct.unpack_from("<H", state)[0])
    }
    assert (entries[0xD02A], entries[0xD001]) == (800, 11)
    # only those two values differ from the capture, in place
    changed = [i for i, (a, b) in enumerate(zip(state, readme_d212, strict=True)) if a != b]
    assert len(state) == len(readme_d212) and len(changed) <= 6
    # in the 0x902B list the current value follows the factory default: ISO (u32) and film (u16)
    iso_entry = readme_902b.index(bytes.fromhex("2ad00600"))
    assert listed[iso_entry + 9 : iso_entry + 13] == struct.pack("<I", 800)
    film_entry = readme_902b.index(bytes.fromhex("01d00400"))
    assert listed[film_entry + 7 : film_entry + 9] == struct.pack("<H", 11)
    assert len(listed) == len(readme_902b)


# ------------------------------------------------------------------------------------------------------
# Event and live-view ports
# ------------------------------------------------------------------------------------------------------


def test_event_and_stream_ports_listen_only_in_remote_mode(sim: SimProcess) -> None:
    _, event, stream = sim.ports
    assert refused(event) and refused(stream)
    conn = Conn(sim.ports[0])
    try:
        assert isinstance(conn.init("ports"), InitCommandAck)
        assert conn.call(0x1002, 1).code == OK
        assert conn.call(0x1016, 0xDF01, data=b"\x05\x00").code == OK
        assert conn.call(0x1016, 0xDF24, data=bytes.fromhex("01000200")).code == OK
        assert refused(event) and refused(stream)  # the whole sequence but InitiateOpenCapture
        assert conn.call(0x101C, 0, 0).code == OK
        assert not refused(event) and not refused(stream)
        assert conn.call(0x1003).code == OK  # CloseSession: remote mode is over
        assert refused(event) and refused(stream)
    finally:
        conn.close()
    again = Conn(sim.ports[0])
    try:
        again.remote_mode()
        evt = socket.create_connection((HOST, event), timeout=TIMEOUT)
    finally:
        again.close()  # the client goes away: its event connection is closed, the ports stop listening
    try:
        assert closed_by_peer(evt)
    finally:
        evt.close()
    assert refused(event) and refused(stream)


# ------------------------------------------------------------------------------------------------------
# Capture
# ------------------------------------------------------------------------------------------------------


def event_frame(code: int, tid: int, value: int = 0) -> bytes:
    """The 28-byte event of FUJI.md §7: u32 28, u16 4, u16 code, u32 1, u32 tid, u32 tid, u32 value, u32 0."""
    return struct.pack("<IHHIIIII", 28, 4, code, 1, tid, tid, value, 0)


def test_capture_events_preview_and_ignored_second_capture(remote: Conn, sim: SimProcess) -> None:
    evt = socket.create_connection((HOST, sim.ports[1]), timeout=TIMEOUT)
    try:
        shot = remote.send(0x100E, 0, 0)
        assert remote.reply(shot) == Reply(OK, (), None)
        assert recv_frame(evt) == event_frame(0xC004, shot)
        available = recv_frame(evt)
        size = struct.unpack_from("<I", available, 20)[0]
        assert available == event_frame(0xC001, shot, size)
        ignored = remote.send(0x100E, 0, 0)  # the preview has not been fetched: accepted, ignored
        assert remote.reply(ignored) == Reply(OK, (), None)
        fetch = remote.send(0x9022)
        preview = remote.reply(fetch)
        assert preview.code == OK and preview.data is not None and len(preview.data) == size
        assert 70_000 <= size <= 90_000
        with Image.open(io.BytesIO(preview.data)) as image:
            image.load()
            assert (image.format, image.size) == ("JPEG", (640, 480))
        # the next event is CaptureComplete, not a C004 of the ignored capture
        assert recv_frame(evt) == event_frame(0x400D, fetch)
        again = remote.send(0x100E, 0, 0)
        assert remote.reply(again).code == OK
        assert recv_frame(evt) == event_frame(0xC004, again)
        second_size = struct.unpack_from("<I", recv_frame(evt), 20)[0]
        second = remote.call(0x9022)
        assert second.data is not None and len(second.data) == second_size and second.data != preview.data
        assert recv_frame(evt)[6:8] == b"\x0d\x40"
    finally:
        evt.close()


def test_shutter_pressed_on_the_body_sends_the_capture_events(remote: Conn, sim: SimProcess) -> None:
    """SIGUSR1 presses the X-T1's shutter: C004 and C001 as for InitiateCapture, with no transaction."""
    evt = socket.create_connection((HOST, sim.ports[1]), timeout=TIMEOUT)
    try:
        sim.proc.send_signal(signal.SIGUSR1)
        assert recv_frame(evt) == event_frame(0xC004, 0xFFFF_FFFF)
        available = recv_frame(evt)
        size = struct.unpack_from("<I", available, 20)[0]
        assert available == event_frame(0xC001, 0xFFFF_FFFF, size)
        fetch = remote.send(0x9022)
        preview = remote.reply(fetch)
        assert preview.code == OK and preview.data is not None and len(preview.data) == size
        assert recv_frame(evt) == event_frame(0x400D, fetch)
    finally:
        evt.close()


def test_shutter_pressed_outside_remote_mode_does_nothing() -> None:
    with running_sim("fuji", "--accept-any-client") as process:
        process.proc.send_signal(signal.SIGUSR1)
        wait_for_log(process, "shutter pressed on the body: nothing happens")
        conn = Conn(process.ports[0])
        try:
            conn.remote_mode()
            assert conn.call(0x9022).code == 0x2002  # no preview waits: the press took no picture
        finally:
            conn.close()


# ------------------------------------------------------------------------------------------------------
# Live view
# ------------------------------------------------------------------------------------------------------


def live_counter(frame: bytes) -> int:
    assert frame[4:8] == bytes(4) and frame[18:20] == b"\xff\xd8"  # FUJI.md §13
    return int(struct.unpack_from("<I", frame, 8)[0])


def test_live_view_rate_layout_and_pacing(remote: Conn, sim: SimProcess) -> None:
    stream = socket.create_connection((HOST, sim.ports[2]), timeout=TIMEOUT)
    try:
        first = recv_frame(stream)
        start = time.monotonic()
        counters = [live_counter(first)]
        stamps = [frame_stamp(first[18:])]
        while (elapsed := time.monotonic() - start) < 1.5:
            frame = recv_frame(stream)
            counters.append(live_counter(frame))
            stamps.append(frame_stamp(frame[18:]))
    finally:
        stream.close()
    delivered = len(counters) - 1
    assert delivered >= 0.7 * FPS * elapsed, (delivered, elapsed)
    assert delivered <= FPS * elapsed + 3, (delivered, elapsed)
    assert all(b > a for a, b in itertools.pairwise(counters))
    # paced by the clock: frame n is produced at t0 + n / fps. A late wake-up sends the newest due frame, so
    # a frame is never more than about one interval late, and lateness does not grow over the run (drift).
    assert all(s is not None for s in stamps)
    t0 = stamps[0].monotonic - counters[0] / FPS  # type: ignore[union-attr]
    lateness = [s.monotonic - (t0 + c / FPS) for s, c in zip(stamps, counters, strict=True)]  # type: ignore[union-attr]
    assert min(lateness) > -0.01, lateness
    on_time = [late for late in lateness if late < 1 / FPS + 0.03]
    assert len(on_time) >= 0.8 * len(lateness), lateness
    assert stamps[-1].frame == counters[-1]  # type: ignore[union-attr]


def test_live_view_drops_frames_for_a_slow_reader(remote: Conn, sim: SimProcess) -> None:
    stream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # keep our own kernel buffer small
    stream.settimeout(TIMEOUT)
    try:
        stream.connect((HOST, sim.ports[2]))
        first = live_counter(recv_frame(stream))
        time.sleep(1.0)  # the slow reader: reads nothing while FPS frames fall due
        stale = 0
        while True:
            frame = recv_frame(stream)
            stamp = frame_stamp(frame[18:])
            assert stamp is not None
            if time.monotonic() - stamp.monotonic < 0.2:
                break
            stale += 1
            assert stale <= 6, "old frames were queued for the slow reader"
        assert live_counter(frame) - first >= FPS * 0.75  # the frames due meanwhile were dropped
    finally:
        stream.close()


# ------------------------------------------------------------------------------------------------------
# In-process, and under the daemon
# ------------------------------------------------------------------------------------------------------


async def test_start_simulator_in_process_with_fuji_options() -> None:
    import asyncio

    from ptpipd.sim.server import start_simulator

    server = await start_simulator("fuji", HOST, port=0, accept_any_client=True, confirm_delay=0.5, fps=25)
    try:
        command, event, stream = server.ports
        assert (event, stream) == (command + 1, command + 2)
        body = server.body
        assert isinstance(body, FujiBody)
        assert (body.model.accept_any_client, body.confirm_delay, body.fps) == (True, 0.5, 25)
        reader, writer = await asyncio.open_connection(HOST, command)
        request = encode_init_command_request(GUID, "in-process", fixed_length=True)
        writer.write(request)
        head = await asyncio.wait_for(reader.readexactly(8), TIMEOUT)
        assert struct.unpack("<II", head)[1] == 2
        writer.close()
    finally:
        await server.close()


def test_daemon_simulate_fuji_connects(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "daemon", "--simulate", "fuji") as daemon:
        status = daemon.wait_connected(timeout=30)
        assert status["state"] == "connected"
        assert status["vendor"] == "fuji"
        assert status["camera"]["model"] == "X-T1"
        command, event, stream = status["ports"]
        assert (event, stream) == (command + 1, command + 2)


def test_stop_summary() -> None:
    process = start_sim("fuji", "--accept-any-client")
    conn = Conn(process.ports[0])
    try:
        conn.remote_mode()
    finally:
        conn.close()
    err = process.stop()
    assert "sim: sessions=1 transactions=5 violations=0" in err


# ------------------------------------------------------------------------------------------------------
# The bodies after the X-T1 and the issue-13 switches, over the wire
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "name"), [("x-t4", "X-T4"), ("X-S10", "X-S10")])
def test_later_body_acks_with_its_model_and_sends_no_device_info(model: str, name: str) -> None:
    with running_sim("fuji", "--model", model, "--accept-any-client") as camera:
        conn = Conn(camera.ports[0])
        try:
            ack = conn.init("pytest")
            assert isinstance(ack, InitCommandAck) and ack.name == name
            assert ack.guid.startswith(f"FUJIFILM-{name}".encode()[:16])
            assert conn.call(0x1001).data == b""  # an empty data container, as the X-T4's
        finally:
            conn.close()


def test_ignore_device_info_drops_the_request_and_serves_the_next() -> None:
    with running_sim("fuji", "--ignore-device-info", "--accept-any-client") as camera:
        conn = Conn(camera.ports[0])
        try:
            assert isinstance(conn.init("pytest"), InitCommandAck)
            conn.send(0x1001, tid=1)
            # the camera answers in order: the first packet back is OpenSession's response, so GetDeviceInfo
            # got nothing at all (no data container either), and the camera read on
            assert conn.call(0x1002, 1, tid=2).code == OK
            wait_for_log(camera, "0x1001 (TID 1) ignored: no answer")
        finally:
            conn.close()
