"""Wireshark's PTP/IP dissector (tshark) decodes a live capture of our initiator talking to the simulator.

tshark is the independent oracle: every TCP segment that starts a PTP/IP packet must be dissected as
PTP/IP with the packet type, opcode and transaction ID we know were on the wire, and nothing may be
flagged malformed. The dissector does no TCP reassembly: it decodes the whole PDUs a segment starts
with, so the test also checks that every packet either started its own segment — which is what "each
packet written in one write" with TCP_NODELAY gives — or was decoded beside others in a segment the
kernel coalesced (TCP autocorking does that on a busy machine). Which segments start packets is worked
out here from the raw TCP payload (u32 length prefixes), independently of our codec.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import re
import selectors
import shutil
import signal
import struct
import subprocess
import time
from collections import defaultdict

import pytest

from ptpipd.camera import Camera
from tests.procs import running_sim

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("tshark") is None, reason="tshark is not installed (make test installs it as root)"
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="a live capture on lo needs root"),
]

FIELDS = [
    "frame.number",
    "tcp.stream",
    "tcp.srcport",
    "tcp.seq",
    "tcp.len",
    "tcp.payload",
    "ptpip.pktType",
    "ptpip.opcode",
    "ptpip.transactionID",
    "_ws.malformed",
]


class Lines:
    """Lines of a pipe read with os.read (no hidden buffering), each wait bounded."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.lines: list[str] = []

    def until(self, pattern: re.Pattern[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.fd, selectors.EVENT_READ)
            while not any(pattern.search(line) for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"tshark never printed {pattern.pattern!r}: {self.lines[-5:]}")
                if sel.select(left):
                    chunk = os.read(self.fd, 1 << 16)
                    if not chunk:
                        raise RuntimeError(f"tshark exited before {pattern.pattern!r}: {self.lines[-5:]}")
                    self.buffer += chunk
                    *complete, self.buffer = self.buffer.split(b"\n")
                    self.lines += [c.decode() for c in complete]


def split_pdus(stream: bytes) -> list[tuple[int, bytes]]:
    """(offset, packet) for each length-prefixed packet of a byte stream."""
    out, pos = [], 0
    while pos + 8 <= len(stream):
        length = struct.unpack_from("<I", stream, pos)[0]
        assert length >= 8, f"bad length {length} at {pos}"
        out.append((pos, stream[pos : pos + length]))
        pos += length
    assert pos == len(stream), f"the stream ends inside a packet ({pos} != {len(stream)})"
    return out


def _rebuild(segs: list[dict[str, str]]) -> tuple[bytes, dict[int, dict[str, str]]]:
    """One direction's byte stream from its segments placed by sequence number, and the segment that
    starts at each offset. A segment sent again (a TCP tail-loss probe or retransmission, seen on a busy
    machine when an ACK is late) carries bytes already placed: it must repeat them exactly, and it starts
    nothing new."""
    segs = sorted(segs, key=lambda s: int(s["tcp.seq"]))
    base = int(segs[0]["tcp.seq"])
    stream, starts = b"", {}
    for seg in segs:
        at, payload = int(seg["tcp.seq"]) - base, bytes.fromhex(seg["tcp.payload"].replace(":", ""))
        if at < len(stream):
            assert at + len(payload) <= len(stream), f"a segment at {at} overlaps the stream's end"
            assert stream[at : at + len(payload)] == payload, f"a segment sent again at {at} differs"
            continue
        assert at == len(stream), f"bytes {len(stream)}..{at} of the stream were not captured"
        starts[at] = seg
        stream += payload
    return stream, starts


async def _talk(host: str, port: int, sent: list[tuple[int, int]]) -> None:
    """A session of our initiator; records (opcode, TID) of every transaction it starts."""
    async with Camera(host=host, port=port, vendor="generic") as cam:
        link = cam._link
        assert link is not None
        transaction = link.transaction

        async def recording(code: int, params: tuple[int, ...] | list[int] = (), **kw: object):  # type: ignore[no-untyped-def]
            sent.append((code, link.next_transaction_id))
            return await transaction(code, params, **kw)  # type: ignore[arg-type]

        link.transaction = recording  # type: ignore[method-assign]
        await cam.get("iso")
        await cam.set("iso", "800")
        await cam.describe("whitebalance")
        await cam.capture()
        await cam.opreq(0x1001)
        await cam.files()


def test_tshark_dissects_every_packet() -> None:
    sent: list[tuple[int, int]] = []
    with running_sim("generic", "--battery-interval", "0") as sim:
        # Live dissection with one line per frame as soon as it is captured (-l): the test waits for the
        # session's last packet in tshark's own output rather than guessing when the capture is complete.
        tshark = subprocess.Popen(
            [
                *(
                    "tshark",
                    "-i",
                    "lo",
                    "-f",
                    f"tcp port {sim.port}",
                    "-l",
                    "-d",
                    f"tcp.port=={sim.port},ptpip",
                ),
                *("-T", "fields", "-E", "separator=|", *[arg for f in FIELDS for arg in ("-e", f)]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert tshark.stdout is not None and tshark.stderr is not None
        out, err = Lines(tshark.stdout.fileno()), Lines(tshark.stderr.fileno())
        try:
            err.until(re.compile(r"Capture started"), 30)  # dumpcap's own signal, relayed by tshark
            asyncio.run(_talk(sim.host, sim.port, sent))
            close_code, close_tid = sent[-1]
            assert close_code == 0x1003  # CloseSession: its response is the last PTP/IP packet
            out.until(re.compile(rf"\|0x00000007\|0x2001\|0x{close_tid:08x}\|"), 30)
        finally:
            tshark.send_signal(signal.SIGINT)
            tshark.wait(15)
            tshark.stdout.close()
            tshark.stderr.close()

    segments = [dict(zip(FIELDS, row.split("|"), strict=True)) for row in out.lines]
    segments = [s for s in segments if s["tcp.len"] and int(s["tcp.len"]) > 0]
    assert not [s for s in segments if s["_ws.malformed"]], "tshark flagged malformed packets"

    # Rebuild each direction's byte stream and find where each packet starts.
    by_direction: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for seg in segments:
        by_direction[(seg["tcp.stream"], seg["tcp.srcport"])].append(seg)
    requests_seen: list[tuple[int, int]] = []
    checked = 0
    initiator_ports = {
        s["tcp.srcport"] for s in segments if s["ptpip.pktType"] in ("0x00000001", "0x00000003")
    }
    for direction, segs in by_direction.items():
        stream, starts = _rebuild(segs)
        segment_starts = sorted(starts)
        previous = b""
        at_in_segment: dict[int, int] = defaultdict(int)  # segment start -> PDUs already met in it
        for pos, packet in split_pdus(stream):
            seg_start = segment_starts[bisect.bisect_right(segment_starts, pos) - 1]
            seg = starts[seg_start]
            index = at_in_segment[seg_start]
            at_in_segment[seg_start] += 1
            dissected = seg["ptpip.pktType"].split(",") if seg["ptpip.pktType"] else []
            if pos != seg_start and not (seg_start in starts and index < len(dissected) and index > 0):
                # A packet that starts inside a segment the dissector (no reassembly) did not decode it
                # in: only the camera side may send one, right after a big data packet whose tail and the
                # next packet were queued together under flow control and left as one segment.
                big_data_before = (
                    struct.unpack_from("<I", previous, 4)[0] in (10, 12) and len(previous) > 65536
                )
                assert direction[1] not in initiator_ports and big_data_before, (
                    f"{direction}: the packet at stream offset {pos} shares a segment with another"
                )
                previous = packet
                continue
            # Several whole packets in one segment (the kernel may coalesce small writes, e.g. TCP
            # autocorking on a busy machine): the dissector lists each one's fields, comma-separated.
            previous = packet
            first = {name: seg[name].split(",")[0] for name in FIELDS[6:9]}
            every = {name: seg[name].split(",") for name in FIELDS[6:9]}
            ptype = struct.unpack_from("<I", packet, 4)[0]
            assert int(dissected[index], 16) == ptype, (seg, packet[:16].hex())
            if ptype == 6:  # OperationRequest: opcode at 12, TID at 14
                code, tid = struct.unpack_from("<HI", packet, 12)
                requests_seen.append((code, tid))
            elif ptype in (7, 8):  # response / event: code at 8, TID at 10
                code, tid = struct.unpack_from("<HI", packet, 8)
            elif ptype in (9, 10, 12):  # data packets: TID at 8
                code, tid = -1, struct.unpack_from("<I", packet, 8)[0]
            else:
                checked += 1
                continue
            if index == 0:  # the segment's first packet: its fields come first in every list
                assert int(first["ptpip.transactionID"], 16) == tid, (seg, packet[:16].hex())
                if ptype in (6, 7):  # 4.0.17 shows a response code as opcode
                    assert int(first["ptpip.opcode"], 16) == code, (seg, packet[:16].hex())
            else:  # a later packet of a coalesced segment: its values are among the listed ones
                assert f"0x{tid:08x}" in every["ptpip.transactionID"], (seg, packet[:16].hex())
                if ptype in (6, 7):
                    assert f"0x{code:04x}" in every["ptpip.opcode"], (seg, packet[:16].hex())
            checked += 1
    # the dissector saw the session open as the standard says (OpenSession with TID 0, then 1, 2, …), then
    # exactly the operations our initiator says it sent, in order, with their TIDs
    assert requests_seen[:2] == [(0x1002, 0), (0x1001, 1)]
    assert requests_seen[2:] == sent
    assert [tid for _, tid in requests_seen] == list(range(len(requests_seen)))
    assert len(sent) >= 10 and checked > 3 * len(sent)
