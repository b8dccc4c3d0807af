"""A bare PTP/IP ingest initiator: the fewest steps any initiator must take, for ``bench/ingest.py``'s floor.

Run by the benchmark as a subprocess: ``python bench/bare_ingest.py --port P --dir OUT --hook-log LOG``.
It prints ``ready`` once its session is open, then, for every ObjectAdded on the event connection, does
only what tethered ingest cannot skip and ptpipd does too:

1. GetPartialObject (handle, offset 0, up to 1 MiB: the whole of the benchmark's pictures), received into a
   buffer allocated once;
2. hands the bytes to a thread that writes them to a temporary file and syncs it (``fdatasync``) while
   GetObjectInfo asks for the file name (ptpipd overlaps the same two);
3. links the synced file under the object's name (then removes the temporary name), appends
   ``<time> <name>`` to the hook log, as the benchmark's hook would, and prints ``stored <name>``.

No journal, no naming pattern, no service queue, no other clients, no hook process, no exactly-once index,
no error recovery (any surprise ends it): what is left is the simulator's work, the kernel's, the disk's
sync and a minimum of Python. It imports nothing from ptpipd (struct only, the layouts of PTPIP.md §4 and
PTP.md's ObjectInfo), so it is also one more initiator that our simulator must satisfy.
"""

from __future__ import annotations

import argparse
import os
import queue
import select
import socket
import struct
import sys
import threading
import time
from pathlib import Path

HEADER = struct.Struct("<II")  # length (header included), packet type
INIT_COMMAND_REQUEST, INIT_COMMAND_ACK, INIT_EVENT_REQUEST, INIT_EVENT_ACK = 1, 2, 3, 4
OPERATION_REQUEST, OPERATION_RESPONSE, EVENT, START_DATA, DATA, END_DATA = 6, 7, 8, 9, 10, 12
PROBE_REQUEST, PROBE_RESPONSE = 13, 14
OPEN_SESSION, GET_OBJECT_INFO, GET_PARTIAL_OBJECT = 0x1002, 0x1008, 0x101B
OBJECT_ADDED, OK = 0x4002, 0x2001
#: ObjectInfo: StorageID … SequenceNumber (fixed size), then the Filename string (u8 count, UTF-16LE).
FILENAME_AT = 52
PIECE = 1 << 20


class Link:
    """One TCP connection read into a buffer allocated once (packets are parsed in place)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buf = bytearray(PIECE + (1 << 16))
        self.view = memoryview(self.buf)
        self.start = self.end = 0

    def packet(self) -> tuple[int, memoryview]:
        """The next packet: its type and payload (a view, valid until the next call)."""
        self._need(8)
        length, kind = HEADER.unpack_from(self.buf, self.start)
        if not 8 <= length <= len(self.buf):
            raise SystemExit(f"bare initiator: a packet of {length} bytes")
        self._need(length)
        body = self.view[self.start + 8 : self.start + length]
        self.start += length
        return kind, body

    def _need(self, n: int) -> None:
        if self.end - self.start >= n:
            return
        if self.start:  # keep what is there at the front
            self.buf[: self.end - self.start] = self.buf[self.start : self.end]
            self.end -= self.start
            self.start = 0
        while self.end < n:
            got = self.sock.recv_into(self.view[self.end :])
            if not got:
                raise SystemExit("bare initiator: the camera closed the connection")
            self.end += got


class Initiator:
    """The session: handshake, OpenSession, then one data-in operation at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.cmd = Link(socket.create_connection((host, port), timeout=10))
        name = "bare".encode("utf-16-le") + b"\0\0"
        self._send(self.cmd, INIT_COMMAND_REQUEST, bytes(16) + name + struct.pack("<I", 0x00010000))
        kind, body = self.cmd.packet()
        if kind != INIT_COMMAND_ACK:
            raise SystemExit(f"bare initiator: packet type {kind} instead of InitCommandAck")
        connection = struct.unpack_from("<I", body)[0]
        self.evt = Link(socket.create_connection((host, port), timeout=10))
        self._send(self.evt, INIT_EVENT_REQUEST, struct.pack("<I", connection))
        if self.evt.packet()[0] != INIT_EVENT_ACK:
            raise SystemExit("bare initiator: no InitEventAck")
        self.tid = 0
        self.small = bytearray(1 << 16)
        if self.call(OPEN_SESSION, 1)[0] != OK:
            raise SystemExit("bare initiator: OpenSession refused")

    @staticmethod
    def _send(link: Link, kind: int, payload: bytes) -> None:
        link.sock.sendall(HEADER.pack(8 + len(payload), kind) + payload)

    def call(self, code: int, *params: int, into: bytearray | None = None) -> tuple[int, memoryview]:
        """One operation: its response code and its data (a view of ``into``, :attr:`small` by default)."""
        into = self.small if into is None else into
        tid, self.tid = self.tid, self.tid + 1
        self._send(self.cmd, OPERATION_REQUEST, struct.pack(f"<IHI{len(params)}I", 1, code, tid, *params))
        size = 0
        while True:
            kind, body = self.cmd.packet()
            if kind in (DATA, END_DATA):
                piece = len(body) - 4
                into[size : size + piece] = body[4:]
                size += piece
            elif kind == OPERATION_RESPONSE:
                return struct.unpack_from("<H", body)[0], memoryview(into)[:size]
            elif kind != START_DATA:
                raise SystemExit(f"bare initiator: packet type {kind} in a transaction")

    def next_object(self) -> int:
        """Waits for the next ObjectAdded: its handle (answers probes, ignores other events)."""
        while True:
            kind, body = self.evt.packet()
            if kind == PROBE_REQUEST:
                self._send(self.evt, PROBE_RESPONSE, b"")
            elif kind == EVENT and struct.unpack_from("<H", body)[0] == OBJECT_ADDED:
                return int(struct.unpack_from("<I", body, 6)[0])


def syncer(jobs: queue.SimpleQueue[tuple[Path, memoryview, threading.Event]]) -> None:
    """Writes and syncs each job's bytes to its path, then sets its event."""
    while True:
        path, data, done = jobs.get()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        done.set()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--hook-log", type=Path, required=True)
    args = parser.parse_args()
    camera = Initiator(args.host, args.port)
    jobs: queue.SimpleQueue[tuple[Path, memoryview, threading.Event]] = queue.SimpleQueue()
    pictures = bytearray(PIECE)  # the thread writes from it while GetObjectInfo fills camera.small
    threading.Thread(target=syncer, args=(jobs,), daemon=True).start()
    print("ready", flush=True)
    while select.select([camera.evt.sock], [], [])[0]:
        handle = camera.next_object()
        code, data = camera.call(GET_PARTIAL_OBJECT, handle, 0, PIECE, into=pictures)
        if code != OK:
            raise SystemExit(f"bare initiator: GetPartialObject answered 0x{code:04x}")
        tmp, done = args.dir / f".bare-{handle:08x}.part", threading.Event()
        jobs.put((tmp, data, done))
        code, info = camera.call(GET_OBJECT_INFO, handle)
        if code != OK:
            raise SystemExit(f"bare initiator: GetObjectInfo answered 0x{code:04x}")
        chars = info[FILENAME_AT]
        name = bytes(info[FILENAME_AT + 1 : FILENAME_AT + 1 + 2 * (chars - 1)]).decode("utf-16-le")
        if not done.wait(10):
            raise SystemExit("bare initiator: the sync took over 10 s")
        os.link(tmp, args.dir / name)
        os.unlink(tmp)
        with args.hook_log.open("a") as log:
            log.write(f"{time.time():.6f} {name}\n")
        print(f"stored {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
