"""The Nikon driver over real loopback TCP, against a scripted responder that answers literal bytes.

The simulated Nikon shares ``nikon_codes`` with the driver, so the driver is also checked here against
answers written out by hand from their sources (never produced by our encoders): the 0x90C7 event lists of
NIKON.md §3.1 (its worked example and the empty list of gphoto/gphoto2#635), a 0x90CA AUINT16 (libgphoto2
ptp.c reads it with its generic array unpacker), the 384-byte live-view header of NIKON.md §3.3
(digiCamControl NikonD500Base offsets), GetObjectSize's u64 and GetPartialObjectEx's split parameters
(libgphoto2 ptp.c/ptp.h), and the registration of N-link's ``StaHostRegistrar``. The responder records
every request, so the tests also check what the driver sent, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ptpipd.errors import CameraRefused, NotConnected, NotSupported, PairingFailed
from ptpipd.ip.generic import GENERIC
from ptpipd.ip.packets import (
    DataPhase,
    InitEventAck,
    InitEventRequest,
    InitFailReason,
    OperationRequest,
    encode,
)
from ptpipd.ip.transport import BytesSink, Timeouts
from ptpipd.ptp import DecodeError, DeviceInfo, ObjectInfo
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import CameraConfig, Ports
from ptpipd.vendors.nikon import NikonDriver
from tests.ip.scripted import Net, Session, within
from tests.vendors.test_nikon_codes import TINY_JPEG, WORKED_HEADER_BYTES

OK, BUSY = 0x2001, 0x2019
#: NIKON.md §3.1 worked example: ObjectAddedInSDRAM(0xFFFF0001), DevicePropChanged(0x500F).
WORKED_EVENTS = bytes.fromhex("020001c1 0100ffff0640 0f500000")
#: gphoto/gphoto2#635 (D3X): the payload of an empty GetEvent answer.
EMPTY_EVENTS = bytes.fromhex("0000")
#: A 0x90CA answer: AUINT16, count 3, then 0xD100, 0xD10B, 0xD1A2 (u32 count, u16 codes, little-endian).
VENDOR_CODES = bytes.fromhex("0300000000d10bd1a2d1")
Answer = tuple[int, bytes | None, tuple[int, ...]]


def device_info(
    *ops: int, vendor: int = 0xFFFF_FFFF, model: str = "Z 8", props: tuple[int, ...] = ()
) -> bytes:
    desc = "Microsoft.com/DeviceServices: 1.0" if vendor == 0xFFFF_FFFF else "microsoft.com: 1.0"
    return DeviceInfo(100, vendor, 110, desc, 0, ops, (0x4002, 0xC101), props, (0x3801,), (0x3801,),
                      "Nikon Corporation", model, "V1.00", "0001").encode()  # fmt: skip


FULL_OPS = (0x1001, 0x1002, 0x1003, 0x1007, 0x1008, 0x1009, 0x100B, 0x1014, 0x1015, 0x1016, 0x90C0, 0x90C7,
            0x90C8, 0x90CA, 0x9201, 0x9202, 0x9203, 0x9421, 0x9431)  # fmt: skip


@dataclass
class Script:
    """Answers by opcode: each opcode's answers in turn, the last one repeated."""

    answers: dict[int, list[Answer]]
    requests: list[OperationRequest] = field(default_factory=list)
    _next: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def answer(self, code: int) -> Answer:
        given = self.answers.get(code)
        if not given:
            return (0x2005, None, ())  # OperationNotSupported
        index = self._next[code]
        self._next[code] = min(index + 1, len(given) - 1)
        return given[index]

    async def serve(self, session: Session) -> None:
        evt = await session.evt_listener.accept()
        assert await evt.recv() == InitEventRequest(0x1234)
        await evt.send(encode(InitEventAck()))
        cmd = session.cmd
        while True:
            try:
                request = await cmd.recv(timeout=30)
            except (EOFError, ConnectionError):
                return
            assert isinstance(request, OperationRequest), request
            if request.data_phase == DataPhase.DataOut:
                await cmd.recv_data_out()
            self.requests.append(request)
            code, data, params = self.answer(request.code)
            if data is not None:
                await cmd.send_data(request.transaction_id, request.code, data)
            await cmd.respond(code, request.transaction_id, params)

    def sent(self) -> list[tuple[int, tuple[int, ...]]]:
        return [(r.code, r.params) for r in self.requests]


@contextlib.asynccontextmanager
async def nikon(answers: dict[int, list[Answer]]) -> AsyncIterator[tuple[NikonDriver, Script]]:
    net = Net()
    script = Script(answers)
    try:
        session = await net.connect(GENERIC, timeouts=Timeouts(transaction=5.0), events=False)
        serving = asyncio.create_task(script.serve(session))
        port = session.cmd_listener.port
        config = CameraConfig(
            host="127.0.0.1", vendor="nikon", port=port, pairing_timeout=5.0, capture_timeout=5.0
        )
        driver = NikonDriver(session.init, config, Ports(port, port))
        yield driver, script
    finally:
        await net.aclose()
        with contextlib.suppress(BaseException):
            await within(serving)


def opened(*ops: int, **more: list[Answer]) -> dict[int, list[Answer]]:
    """Answers of a body that opens: OpenSession, its DeviceInfo, 0x90CA, DeviceReady busy once, then OK."""
    answers: dict[int, list[Answer]] = {
        0x1002: [(OK, None, ())],
        0x1001: [(OK, device_info(*(ops or FULL_OPS), props=(0x500F, 0x5004)), ())],
        0x90CA: [(OK, VENDOR_CODES, ())],
        0x90C8: [(BUSY, None, ()), (OK, None, ())],
    }
    answers.update({int(code[1:], 16): value for code, value in more.items()})
    return answers


async def test_a_z8_like_body_opens_as_a_nikon() -> None:
    async with nikon(opened()) as (driver, script):
        summary = await within(driver.open())
        assert (summary.manufacturer, summary.model) == ("Nikon Corporation", "Z 8")
        # MTP's VendorExtensionID with a Nikon Manufacturer is a Nikon (libgphoto2 #605/#1135)
        assert driver.supported_properties() == {0x500F, 0x5004, 0xD100, 0xD10B, 0xD1A2}
        table = driver.body_properties()
        assert table.resolve("exposure", driver.supported_properties()).code == 0xD100
        assert table.resolve("capturetarget", None).code == 0xD10B
        assert table.resolve("imagequality", None).labels.label(4) == "JPEG fine"  # the Z numbering
        assert driver.model == "z6"
        assert script.sent() == [(0x1002, (1,)), (0x1001, ()), (0x90CA, ()), (0x90C8, ()), (0x90C8, ())]
        info = await within(driver.device_info())
        assert (info["vendor_extension_id"], info["reported_vendor_extension_id"]) == (0x0A, 0xFFFF_FFFF)
        assert "GetEvent" in info["operations"] and "0xd100" in info["properties"]


async def test_events_come_from_the_literal_lists() -> None:
    async with nikon(opened(x90C7=[(OK, WORKED_EVENTS, ()), (OK, EMPTY_EVENTS, ())])) as (driver, _):
        await within(driver.open())
        events = await within(driver.poll_events())
        assert [(e.code, e.params) for e in events] == [(0xC101, (0xFFFF_0001,)), (0x4006, (0x500F,))]
        assert await within(driver.poll_events()) == []


async def test_a_broken_event_list_is_an_error() -> None:
    async with nikon(opened(x90C7=[(OK, bytes.fromhex("020001c1 0100ffff"), ())])) as (driver, _):
        await within(driver.open())
        with pytest.raises(DecodeError, match="count 2 needs 12 bytes"):
            await within(driver.poll_events())


async def test_capture_to_sdram_downloads_and_frees_it() -> None:
    jpeg = b"\xff\xd8" + bytes(range(256)) * 4 + b"\xff\xd9"
    info = ObjectInfo(0, 0x3801, 0, len(jpeg), 0, 0, 0, 0, 640, 480, 24, 0, 0, 0, 0, "DSC_0042.JPG",
                      "20240601T120000", "20240601T120000", "").encode()  # fmt: skip
    answers = opened(
        x90C0=[(BUSY, None, ()), (OK, None, ())],
        x90C7=[(OK, EMPTY_EVENTS, ()), (OK, WORKED_EVENTS, ()), (OK, EMPTY_EVENTS, ())],
        x1008=[(OK, info, ())],
        x1009=[(OK, jpeg, ())],
        x100B=[(OK, None, ())],
    )
    async with nikon(answers) as (driver, script):
        await within(driver.open())
        sink = BytesSink()
        transfer = await within(driver.capture(sink))
        assert (transfer.filename, transfer.size, transfer.handle) == ("DSC_0042.JPG", len(jpeg), None)
        assert bytes(sink.buffer) == jpeg
        sent = script.sent()[5:]
        assert sent == [
            (0x90C0, (0xFFFF_FFFF,)),  # busy: asked again
            (0x90C0, (0xFFFF_FFFF,)),
            (0x90C8, ()),
            (0x90C7, ()),  # nothing yet
            (0x90C7, ()),  # ObjectAddedInSDRAM
            (0x1008, (0xFFFF_0001,)),
            (0x1009, (0xFFFF_0001,)),
            (0x100B, (0xFFFF_0001, 0)),
        ]
        # the events the capture saw reach the listeners with the next poll
        events = await within(driver.poll_events())
        assert [e.code for e in events] == [0xC101, 0x4006]


async def test_live_view_cuts_the_worked_header() -> None:
    frame = WORKED_HEADER_BYTES + TINY_JPEG
    answers = opened(
        x90CA=[(OK, bytes.fromhex("01000000a4d1"), ())],  # LiveViewProhibitCondition
        x1015=[(OK, bytes.fromhex("00000000"), ())],  # nothing prohibits live view
        x9201=[(OK, None, ())],
        x9203=[(OK, frame, ())],
        x9202=[(OK, None, ())],
    )
    async with nikon(answers) as (driver, script):
        await within(driver.open())
        view = await within(driver.open_liveview())
        assert (await within(view.next_frame())).jpeg == TINY_JPEG
        await within(view.close())
        assert [c for c, _ in script.sent()[5:]] == [0x1015, 0x9201, 0x90C8, 0x9203, 0x9202]


async def test_live_view_refusal_names_the_reasons() -> None:
    # 0xD1A4 = bits 8 and 20: battery exhausted, card unformatted (libgphoto2 library.c's messages)
    answers = opened(
        x90CA=[(OK, bytes.fromhex("01000000a4d1"), ())], x1015=[(OK, bytes.fromhex("00011000"), ())]
    )
    async with nikon(answers) as (driver, script):
        await within(driver.open())
        with pytest.raises(CameraRefused, match="battery exhausted; card unformatted"):
            await within(driver.open_liveview())
        assert 0x9201 not in [c for c, _ in script.sent()]


async def test_a_locked_object_comes_with_partial_object_ex() -> None:
    """libgphoto2#976: GetObjectInfo and GetObject answer AccessDenied; 0x9421 and 0x9431 work."""
    answers = opened(
        x1008=[(0x200F, None, ())],
        x9421=[(OK, bytes.fromhex("0a00000000000000"), ())],  # u64 10
        x9431=[(OK, b"0123456789", (10, 0)), (OK, b"234", (3, 0))],  # the bytes sent, as (low, high)
    )
    async with nikon(answers) as (driver, script):
        await within(driver.open())
        sink = BytesSink()
        transfer = await within(driver.download(0x1234, sink))
        assert (transfer.size, transfer.filename, bytes(sink.buffer)) == (
            10,
            "object-00001234",
            b"0123456789",
        )
        assert script.sent()[5:] == [
            (0x1008, (0x1234,)),
            (0x9421, (0x1234,)),
            (0x9421, (0x1234,)),
            (0x9431, (0x1234, 0, 0, 10, 0)),  # handle, offset low/high, size low/high
        ]
        part = BytesSink()
        assert await within(driver.download_part(0x1234, 0x1_0000_0002, 3, part)) == 3
        assert bytes(part.buffer) == b"234"
        assert script.sent()[-1] == (0x9431, (0x1234, 2, 1, 3, 0))


RESTRICTED = (0x1001, 0x1002, 0x1003, 0x952B, 0x935A)


async def test_registration_in_the_wizard() -> None:
    answers: dict[int, list[Answer]] = {
        0x1002: [(OK, None, ())],
        0x1001: [(OK, device_info(*RESTRICTED), ())],
        0x952B: [(OK, None, ())],
        0x935A: [(BUSY, None, ()), (OK, None, ())],  # CamCon: 0x2019 = waiting for the user
    }
    async with nikon(answers) as (driver, script):
        paired: list[bool] = []
        driver._on_pairing = lambda: paired.append(True)
        with pytest.raises(NotConnected, match=r"registered with the Z 8 as 'ptpipd'.*reconnecting"):
            await within(driver.open())
        assert paired == [True]
        assert script.sent() == [(0x1002, (1,)), (0x1001, ()), (0x952B, ()), (0x935A, (0x2001,)),
                                 (0x935A, (0x2001,))]  # fmt: skip


async def test_registration_outside_the_wizard_says_so() -> None:
    answers: dict[int, list[Answer]] = {
        0x1002: [(OK, None, ())],
        0x1001: [(OK, device_info(*RESTRICTED), ())],
        0x952B: [(0x201F, None, ())],  # N-link: TransactionCancelled = not in the wizard
    }
    async with nikon(answers) as (driver, _):
        with pytest.raises(PairingFailed, match="not in its connect-to-computer wizard"):
            await within(driver.open())


async def test_a_body_that_is_no_nikon_is_refused() -> None:
    answers = opened()
    answers[0x1001] = [
        (OK, DeviceInfo(100, 0, 0, "", 0, FULL_OPS, (), (), (), (), "ptpipd", "sim", "1", "1").encode(), ())
    ]
    async with nikon(answers) as (driver, _):
        with pytest.raises(NotSupported, match="not a Nikon"):
            await within(driver.open())


def test_init_fail_is_explained_with_what_to_do() -> None:
    config = CameraConfig(vendor="nikon", friendly_name="studio", guid=bytes(range(16)))
    text = vendor_driver("nikon").explain_init_failure(InitFailReason.RejectedInitiator, config)
    assert text is not None
    assert "connect-to-computer wizard" in text and "'waiting for computer' screen" in text
    assert "'studio'" in text and "000102030405060708090a0b0c0d0e0f" in text
    assert vendor_driver("nikon").explain_init_failure(InitFailReason.Busy, config) is None
