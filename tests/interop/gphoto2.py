"""Running Debian's gphoto2 against a PTP/IP responder, and reading the responder back over a raw socket.

Every gphoto2 run gets its own HOME (gphoto2 writes ``$HOME/.gphoto/settings`` on every run) holding a fixed
initiator GUID, and is wrapped in ``timeout``: gphoto2 waits forever for capture events that never come
(ORACLES.md §1 quirk 3). :class:`RawCamera` checks what gphoto2 did without our own initiator, so a bug in
``ptpipd.ip.transport`` cannot hide one in the simulator or the other way round.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from types import TracebackType

from ptpipd.ip.codec import Role
from ptpipd.ip.generic import GenericCodec
from ptpipd.ip.packets import (
    Data,
    DataPhase,
    EndData,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    OperationRequest,
    OperationResponse,
    Packet,
    StartData,
    encode,
)

GPHOTO2 = shutil.which("gphoto2")
#: The initiator GUID gphoto2 uses, from its settings file (ORACLES.md §1: the only way to fix it).
GUID = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
TIMEOUT = 30


def gphoto2(
    port: int,
    *args: str,
    home: Path,
    cwd: Path | None = None,
    timeout: int = TIMEOUT,
    camera: str = "PTP/IP Camera",
    settings: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Runs ``timeout T gphoto2 --port ptpip:127.0.0.1:PORT:PORT --camera CAMERA ARGS``.

    The event port must be repeated: gphoto2 connects its event channel to 15740 otherwise. ``settings``
    are more lines of ``$HOME/.gphoto/settings`` (``ptp2=capturetarget=card``).
    """
    path = home / ".gphoto" / "settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in (f"ptp2_ip=guid={GUID}", *settings)))
    command = ["timeout", str(timeout), "gphoto2", "--port", f"ptpip:127.0.0.1:{port}:{port}"]
    command += ["--camera", camera, *args]
    env = dict(os.environ, HOME=str(home), LANG="C", LC_ALL="C")
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=cwd or home, timeout=timeout + 10, check=False
    )


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the responder closed the connection")
        data += chunk
    return bytes(data)


class RawCamera:
    """A minimal PTP/IP initiator over plain sockets: handshake, OpenSession, then one call at a time."""

    def __init__(self, port: int, timeout: float = 10.0, guid: bytes = bytes(16)) -> None:
        self.cmd = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.evt: socket.socket | None = None
        self.codec = GenericCodec(Role.INITIATOR)
        self.cmd.sendall(encode(InitCommandRequest(guid, "raw-check")))
        ack = self._recv()
        assert isinstance(ack, InitCommandAck), ack
        self.evt = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.evt.sendall(encode(InitEventRequest(ack.connection_number)))
        assert _recv_exactly(self.evt, 8) == encode(InitEventAck())
        self.tid = 0
        code, _ = self.call(0x1002, 1)
        assert code == 0x2001, hex(code)

    def _recv(self) -> Packet:
        while (packet := self.codec.next_event()) is None:
            data = self.cmd.recv(1 << 20)
            if not data:
                raise EOFError("the responder closed the connection")
            self.codec.receive_data(data)
        return packet

    def call(self, code: int, *params: int) -> tuple[int, bytes | None]:
        """Runs one data-in (or no-data) operation; returns the response code and the data, if any."""
        tid, self.tid = self.tid, self.tid + 1
        self.cmd.sendall(encode(OperationRequest(DataPhase.NoDataOrDataIn, code, tid, params)))
        data: bytearray | None = None
        while True:
            packet = self._recv()
            if isinstance(packet, StartData):
                data = bytearray()
            elif isinstance(packet, Data | EndData):
                assert data is not None
                data += packet.payload  # copied at once: the payload is a view of the receive buffer
            else:
                assert isinstance(packet, OperationResponse) and packet.transaction_id == tid, packet
                return packet.code, bytes(data) if data is not None else None

    def call_out(self, code: int, data: bytes, *params: int) -> int:
        """Runs one data-out operation (StartData, EndData with all of ``data``); returns the response code."""
        tid, self.tid = self.tid, self.tid + 1
        self.cmd.sendall(encode(OperationRequest(DataPhase.DataOut, code, tid, params)))
        self.cmd.sendall(encode(StartData(tid, len(data))))
        self.cmd.sendall(encode(EndData(tid, data)))
        packet = self._recv()
        assert isinstance(packet, OperationResponse) and packet.transaction_id == tid, packet
        return packet.code

    def data(self, code: int, *params: int) -> bytes:
        """The data of an operation that must succeed."""
        result, data = self.call(code, *params)
        assert result == 0x2001 and data is not None, hex(result)
        return data

    def close(self) -> None:
        for sock in (self.cmd, self.evt):
            if sock is not None:
                sock.close()

    def __enter__(self) -> RawCamera:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
