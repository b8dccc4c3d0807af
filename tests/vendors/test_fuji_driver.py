"""The Fuji driver over real loopback TCP, against a scripted Fuji responder answering from the X-T1 model.

The responder speaks the Fuji framing with :class:`FujiCodec` in the responder role on three ports
(command, event, live view) and asks :class:`FujiModel` for every answer. It records what it received, so a
test can check that nothing was sent for a refused value. Nothing sleeps: the pairing prompt is an
asyncio.Event the test sets, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from ptpipd.camera import Camera, CameraEvent
from ptpipd.errors import CameraRefused, CameraTimeout, InvalidValue, NotSupported, PairingFailed
from ptpipd.ip.codec import Role
from ptpipd.ip.errors import InitFailed
from ptpipd.ip.fuji import FUJI, FujiCodec, FujiInitCommandRequest
from ptpipd.ip.fuji_liveview import encode_frame
from ptpipd.ip.packets import (
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitFail,
    OperationRequest,
    OperationResponse,
    StartData,
)
from ptpipd.ip.transport import Initiator, Timeouts
from ptpipd.ptp import DataType, EnumForm, NoForm, RangeForm, encode_value
from ptpipd.sim.fuji_model import AwaitConfirmation, FujiModel
from ptpipd.sim.pictures import live_jpeg
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import CameraConfig, VendorDriver
from ptpipd.vendors.fuji import FujiDriver
from ptpipd.vendors.fuji_body_codes import body

HOST = "127.0.0.1"
NAME = "ptpipd-test"
WAIT = 5.0
CAMERA_GUID = bytes(range(0xA0, 0xB0))
T = TypeVar("T")


async def within(aw: Awaitable[T], timeout: float = WAIT) -> T:
    return await asyncio.wait_for(aw, timeout)


def jpeg_preview(shot: int) -> bytes:
    return b"\xff\xd8" + bytes([shot]) * 5000 + b"\xff\xd9"


@dataclass(frozen=True)
class Received:
    code: int
    transaction_id: int
    params: tuple[int, ...]
    data: bytes | None = None


@dataclass
class ScriptedFuji:
    """A Fuji camera on three loopback ports, answering from ``model``."""

    model: FujiModel
    empty_device_info: bool = False
    undescribed: set[int] = field(default_factory=set)
    live_frames: int = 3
    #: Rewrites the preview size the C001 event announces (None: the real size); drop_events sends none.
    announced_size: int | None = None
    drop_events: bool = False
    received: list[Received] = field(default_factory=list)
    previews: list[bytes] = field(default_factory=list)
    prompt_shown: asyncio.Event = field(default_factory=asyncio.Event)
    confirm: asyncio.Event = field(default_factory=asyncio.Event)
    ports: tuple[int, int, int] = (0, 0, 0)
    _servers: list[asyncio.Server] = field(default_factory=list)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _events: asyncio.StreamWriter | None = None
    _queued: list[bytes] = field(default_factory=list)
    _event_codec: FujiCodec = field(default_factory=lambda: FujiCodec(Role.RESPONDER, containers=True))

    async def start(self) -> None:
        for handler in (self._command, self._event_port, self._stream_port):
            self._servers.append(await asyncio.start_server(handler, HOST, 0))
        command, event, stream = (s.sockets[0].getsockname()[1] for s in self._servers)
        self.ports = (command, event, stream)

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def config(self, **fields: Any) -> CameraConfig:
        command, event, stream = self.ports
        settings: dict[str, Any] = {
            "host": HOST,
            "vendor": "fuji",
            "port": command,
            "event_port": event,
            "stream_port": stream,
            "friendly_name": NAME,
            "timeouts": Timeouts(connect=WAIT, handshake=WAIT, transaction=WAIT),
            "pairing_timeout": WAIT,
            "capture_timeout": WAIT,
        }
        settings.update(fields)
        return CameraConfig(**settings)

    def sets(self) -> list[Received]:
        return [r for r in self.received if r.code == 0x1016]

    # -------------------------------------------------------------- command port

    async def _command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        codec = FujiCodec(Role.RESPONDER)
        waiting: OperationRequest | None = None
        payload = bytearray()
        try:
            while chunk := await reader.read(1 << 16):
                codec.receive_data(chunk)
                while (packet := codec.next_event()) is not None:
                    if isinstance(packet, FujiInitCommandRequest):
                        reason = self.model.accept_connection(packet.name, packet.version)
                        if reason is not None:
                            writer.write(codec.encode(InitFail(reason)))
                            await writer.drain()
                            return
                        writer.write(codec.encode(InitCommandAck(1, CAMERA_GUID, "X-T1", 0)))
                        codec.start_containers()
                    elif isinstance(packet, OperationRequest):
                        if self.model.needs_data(packet.code):
                            waiting, payload = packet, bytearray()
                        else:
                            await self._answer(writer, codec, packet, None)
                    elif isinstance(packet, Data | EndData):
                        payload += packet.payload
                        if isinstance(packet, EndData) and waiting is not None:
                            request, waiting = waiting, None
                            await self._answer(writer, codec, request, bytes(payload))
                    elif not isinstance(packet, StartData):
                        raise AssertionError(f"unexpected {packet!r}")
        except ConnectionError:
            pass
        finally:
            self.model.end_session()
            writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, codec: FujiCodec, request: OperationRequest, data: bytes | None
    ) -> None:
        code, tid = request.code, request.transaction_id
        self.received.append(Received(code, tid, request.params, data))
        result = self.model.handle(code, tid, request.params, data)
        if isinstance(result, AwaitConfirmation):
            self.prompt_shown.set()
            await within(self.confirm.wait())
            result = self.model.confirm_pairing()
        out = result.data
        if code == 0x1001 and self.empty_device_info:
            out = b""
        if code == 0x1014 and request.params and request.params[0] in self.undescribed:
            out = None
        if code == 0x9022 and out is not None:
            self.previews.append(out)
        if out is not None:
            for piece in codec.encode_data(tid, code, out):
                writer.write(piece)
        writer.write(codec.encode(OperationResponse(result.code, tid, result.params)))
        await writer.drain()
        for event in result.events:
            self._send_event(event)

    # -------------------------------------------------------------- event and live-view ports

    def _send_event(self, event: Event) -> None:
        if self.drop_events:
            return
        if event.code == 0xC001 and self.announced_size is not None:
            event = Event(event.code, event.transaction_id, (*event.params[:2], self.announced_size, 0))
        raw = self._event_codec.encode(Event(event.code, event.transaction_id, event.params))
        if self._events is None:
            self._queued.append(raw)
        else:
            self._events.write(raw)

    async def _event_port(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self._events = writer
        for raw in self._queued:
            writer.write(raw)
        self._queued.clear()
        with contextlib.suppress(ConnectionError):
            assert await reader.read() == b""  # the host sends nothing on this port

    async def _stream_port(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        for counter in range(self.live_frames):
            writer.write(encode_frame(counter, live_jpeg(counter, 160, 120)))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            await reader.read()


@pytest.fixture
async def camera_responder() -> AsyncIterator[ScriptedFuji]:
    responder = ScriptedFuji(FujiModel(known_client=NAME, preview=jpeg_preview))
    await responder.start()
    try:
        yield responder
    finally:
        await responder.stop()


@pytest.fixture
async def camera(camera_responder: ScriptedFuji) -> AsyncIterator[Camera]:
    cam = Camera(camera_responder.config())
    await within(cam.open())
    try:
        yield cam
    finally:
        await within(cam.close())


# ------------------------------------------------------------------------------------------------ table


def test_registered_with_the_fuji_ports() -> None:
    assert vendor_driver("fuji") is FujiDriver
    assert FujiDriver.dialect is FUJI
    assert (FujiDriver.default_ports.command, FujiDriver.default_ports.event) == (55740, 55741)
    assert FujiDriver.default_ports.stream == 55742


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("delay", 0x5012),
        ("effect", 0xD001),
        ("film", 0xD001),
        ("exposure", 0x500D),
        ("exp-bias", 0x5010),
        ("flashmode", 0x500C),
        ("focusmtr", 0xD17C),
        ("iso", 0xD02A),
        ("whitebalance", 0x5005),
        ("recmode", 0xD019),
        ("battery", 0x5001),
        ("imagesize", 0xD241),
        ("quality", 0xD018),
        ("fnumber", 0x5007),
        ("focusmode", 0x500A),
        ("program", 0x500E),
        ("commanddial", 0xD028),
        ("shutterspeed", 0x500D),  # the same meaning as on every camera (issue 15 item 5)
        ("shutterspeed-fuji", 0xD240),
        ("remaining", 0xD229),
        ("movie-remaining", 0xD22A),
        ("focuslock", 0xD209),
        ("device-error", 0xD21B),
        ("movie-iso", 0xD02B),
    ],
)
def test_unified_names(name: str, code: int) -> None:
    spec = FujiDriver.properties.by_name(name)
    assert spec is not None and spec.code == code


def test_event_names_and_init_failure_messages() -> None:
    assert FujiDriver.event_names[0xC001] == "Fuji_PreviewAvailable"
    assert FujiDriver.event_names[0xC004] == "Fuji_ObjectAdded"
    assert 0xC006 in FujiDriver.event_names
    config = CameraConfig(vendor="fuji", friendly_name="my-laptop")
    busy = FujiDriver.explain_init_failure(0x2019, config) or ""
    assert busy.startswith(
        "the camera refused this client name: choose 'change' on the camera, or use the name"
    )
    assert "'my-laptop'" in busy
    assert "protocol version" in (FujiDriver.explain_init_failure(0x201D, config) or "")
    assert FujiDriver.explain_init_failure(0x0001, config) is None


# ------------------------------------------------------------------------------------------------ init


async def test_init_sequence_waits_for_the_pairing_prompt() -> None:
    responder = ScriptedFuji(FujiModel(preview=jpeg_preview))  # a camera that knows no client yet
    await responder.start()
    cam = Camera(responder.config())
    try:
        opening = asyncio.ensure_future(cam.open())
        await within(responder.prompt_shown.wait())
        assert not opening.done()
        responder.confirm.set()
        summary = await within(opening)
        assert (summary.manufacturer, summary.model, summary.version) == ("FUJIFILM", "X-T1", "5.51")
        assert summary.serial == "SIMULATED-X-T1"
        assert responder.model.known_client == NAME
        steps = [(r.code, r.transaction_id, r.params, r.data) for r in responder.received]
        assert steps == [
            (0x1002, 1, (1,), None),
            (0x1016, 2, (0xDF01,), b"\x05\x00"),
            (0x1015, 3, (0xDF24,), None),
            (0x1016, 4, (0xDF24,), bytes.fromhex("01000200")),
            (0x902B, 5, (), None),
            (0x101C, 6, (0, 0), None),
            (0x1001, 7, (), None),
        ]
        assert cam.is_open
    finally:
        await within(cam.close())
        await responder.stop()


async def test_a_later_body_is_set_up_by_its_answers() -> None:
    """The X-T1's order, and where the X-T4's answers ask for more: its versions, its events list (the
    access entries of log-xt4 lines 76-82), Camera Connect's remote version, the shooting state."""
    responder = ScriptedFuji(FujiModel(profile=body("x-t4"), known_client=NAME, preview=jpeg_preview))
    await responder.start()
    cam = Camera(responder.config())
    try:
        summary = await within(cam.open())
        assert (summary.manufacturer, summary.model, summary.serial) == ("FUJIFILM", "X-T1", "")  # the ack's
        steps = [(r.code, r.transaction_id, r.params, r.data) for r in responder.received]
        assert steps == [
            (0x1002, 1, (1,), None),
            (0x1016, 2, (0xDF01,), b"\x05\x00"),
            (0x1015, 3, (0xDF24,), None),
            (0x1015, 4, (0xDF21,), None),
            (0x1015, 5, (0xDF22,), None),
            (0x1015, 6, (0xDF25,), None),
            (0x1015, 7, (0xD212,), None),
            (0x1016, 8, (0xDF24,), bytes.fromhex("0c000200")),  # 0x0002000C, what Camera Connect writes
            (0x902B, 9, (), None),
            (0x101C, 10, (0, 0), None),
            (0x1015, 11, (0xD212,), None),
            (0x1001, 12, (), None),
        ]
        caps = cam.capabilities
        assert (caps.events, caps.files, caps.partial_objects) == ("poll", True, True)
    finally:
        await within(cam.close())
        await responder.stop()


async def test_pairing_callback_is_told_while_the_camera_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FujiDriver, "pairing_hint_delay", 0.0)
    responder = ScriptedFuji(FujiModel(preview=jpeg_preview))
    await responder.start()
    told: list[bool] = []

    def on_pairing() -> None:
        told.append(responder.prompt_shown.is_set())
        responder.confirm.set()  # the user presses OK

    cam = Camera(responder.config(), on_pairing=on_pairing)
    try:
        await within(cam.open())
        assert told and responder.model.known_client == NAME
    finally:
        await within(cam.close())
        await responder.stop()


async def test_other_client_name_is_refused_with_the_friendly_message() -> None:
    responder = ScriptedFuji(FujiModel(known_client="the-phone-app"))
    await responder.start()
    try:
        link = Initiator(FUJI, HOST, guid=bytes(16), name=NAME, timeouts=Timeouts(WAIT, WAIT, WAIT))
        with pytest.raises(InitFailed) as failed:
            await within(link.connect(responder.ports[0]))
        await link.close()
        assert failed.value.reason == 0x2019
        message = FujiDriver.explain_init_failure(failed.value.reason, responder.config())
        assert message is not None and "choose 'change' on the camera" in message and repr(NAME) in message
        cam = Camera(responder.config())
        with pytest.raises(PairingFailed) as refused:
            await within(cam.open())
        if hasattr(VendorDriver, "explain_init_failure"):  # once camera.py asks the driver (see the report)
            assert "choose 'change' on the camera" in str(refused.value)
        assert responder.received == []
    finally:
        await responder.stop()


async def test_empty_device_info_falls_back_to_fujifilm(camera_responder: ScriptedFuji) -> None:
    camera_responder.empty_device_info = True
    cam = Camera(camera_responder.config())
    try:
        summary = await within(cam.open())
        assert (summary.manufacturer, summary.model, summary.serial, summary.version) == (
            "FUJIFILM",
            "X-T1",
            "",
            "",
        )
        info = await within(cam.info())
        assert info.device["device_info"] == "empty (synthesised)"
    finally:
        await within(cam.close())


# ------------------------------------------------------------------------------------------------ info, state


async def test_info_comes_from_0x902b(camera: Camera) -> None:
    info = await within(camera.info())
    assert info.device["model"] == "X-T1"
    assert info.device["properties"] == [
        f"0x{c:04x}" for c in (0x5012, 0x500C, 0x5005, 0x5010, 0xD001, 0xD02A, 0xD019, 0xD17C)
    ]
    labels = {p.current.prop: p.current.label for p in info.properties}
    assert labels == {
        "delay": "off",
        "flashmode": "disabled",
        "whitebalance": "auto",
        "exp-bias": "0",
        "effect": "Velvia",
        "iso": "S6400",
        "recmode": "available",
        "focusmtr": "4x4",
    }


async def test_state_with_labels(camera: Camera) -> None:
    state = {e.prop: e.label for e in await within(camera.state())}
    assert state["iso"] == "S6400"
    assert state["effect"] == "Velvia"
    assert state["focusmtr"] == "4x4"
    assert state["battery"] == "3/3"
    assert state["imagesize"] == "L 3:2"
    assert state["flashmode"] == "enabled"
    assert state["remaining"] == "1431"
    assert len(state) == 17


async def test_values_come_from_the_state_list_when_they_are_in_it(
    camera: Camera, camera_responder: ScriptedFuji
) -> None:
    start = len(camera_responder.received)
    assert (await within(camera.get("battery"))).label == "3/3"
    assert (await within(camera.get("focusmode"))).label == "AF-S"  # GetDevicePropValue would say 0
    asked = [(r.code, r.params) for r in camera_responder.received[start:]]
    assert (0x1015, (0xD212,)) in asked and (0x1015, (0x5001,)) not in asked
    start = len(camera_responder.received)
    assert (await within(camera.get("fnumber"))).value == 0
    assert (0x1015, (0x5007,)) in [(r.code, r.params) for r in camera_responder.received[start:]]


async def test_description_without_data_is_synthesised(camera_responder: ScriptedFuji) -> None:
    camera_responder.undescribed = {0xD229, 0xD228}
    cam = Camera(camera_responder.config())
    try:
        await within(cam.open())
        remaining = await within(cam.describe("remaining"))
        assert remaining.current.value == 1431 and not remaining.current.writable
        assert isinstance(remaining.desc.form, NoForm)
        with pytest.raises(CameraRefused, match="cannot describe"):
            await within(cam.describe("version-blob"))
        with pytest.raises(NotSupported):
            await within(cam.describe("ptp-imagesize"))  # 0x5003: not a standard DevicePropDesc
    finally:
        await within(cam.close())


# ------------------------------------------------------------------------------------------------ set


def other_value(form: object, current: object, datatype: DataType) -> int | str:
    """A value the form allows that differs from ``current``."""
    if datatype is DataType.STR:
        return "5229.131848,N 01322.842972,E"
    if isinstance(form, EnumForm):
        return next(v for v in form.values if v != current and isinstance(v, int))
    assert isinstance(form, RangeForm)
    if form.maximum == 0x10090707:  # the focus point: its label keeps x and y only, so stay at tail 02 03
        return 0x03020203 if current != 0x03020203 else 0x03020405
    assert isinstance(form.minimum, int) and isinstance(form.maximum, int) and isinstance(form.step, int)
    return form.maximum if current != form.maximum else form.minimum


async def test_get_and_set_every_writable_property(camera: Camera, camera_responder: ScriptedFuji) -> None:
    model = camera_responder.model
    checked = []
    for spec in FujiDriver.properties.specs:
        definition = model.defs.get(spec.code)
        if definition is None or not definition.writable:
            continue
        desc = await within(camera.describe(spec.name))
        assert desc.current.writable
        if isinstance(desc.desc.form, EnumForm) and len(desc.desc.form.values) < 2:
            continue  # 0xD01D (no values) and 0xDF01 (5 only): nothing else to choose
        before = await within(camera.get(spec.name))
        target = other_value(desc.desc.form, before.value, desc.desc.datatype)
        label = spec.labels.label(target) if isinstance(target, int) else target
        by_label = await within(camera.set(spec.name, label))
        assert by_label.value == target == model.values[spec.code], spec.name
        sent = camera_responder.sets()[-1]
        assert sent.params == (spec.code,)
        if isinstance(target, int):
            assert sent.data == encode_value(desc.desc.datatype, target)
            number = other_value(desc.desc.form, target, desc.desc.datatype)
            by_number = await within(camera.set(spec.name, number))
            assert by_number.value == number == model.values[spec.code], spec.name
            assert camera_responder.sets()[-1].data == encode_value(desc.desc.datatype, number)
            assert by_label.label == label
        checked.append(spec.name)
    assert set(checked) >= {
        "delay", "effect", "exposure", "exp-bias", "flashmode", "focusmtr", "iso", "whitebalance", "recmode",
        "imagesize", "quality", "fnumber", "focusmode", "program", "commanddial", "movie-iso", "geotag",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("prop", "text", "value"),
    [
        ("iso", "S 6400", 0x80001900),
        ("iso", "800", 800),
        ("iso", "L100", 0x40000064),
        ("iso", "h12800", 0x40003200),
        ("iso", "auto", None),  # not in the X-T1's list
        ("film", "classic chrome", 11),
        ("exp-bias", "-2 2/3", -2667),
        ("exp-bias", "+1/3", 333),
        ("focusmtr", "2x3", 0x03020203),
        ("whitebalance", "temperature", 0x800B),
        ("flash", "enabled", 0x800A),
        ("delay", "10s", 4),
        ("imagesize", "M 16:9", 7),
        ("quality", "RAW + JPEG normal", 5),
        ("fnumber", "f/7.1", 710),
        ("program", "aperture priority", 3),
        ("commanddial", "none", 3),
        ("focusmode", "AF-C", 0x8002),
    ],
)
async def test_set_by_label(
    camera: Camera, camera_responder: ScriptedFuji, prop: str, text: str, value: int | None
) -> None:
    if value is None:
        with pytest.raises(InvalidValue):
            await within(camera.set(prop, text))
        return
    result = await within(camera.set(prop, text))
    assert result.value == value
    spec = FujiDriver.properties.by_name(prop)
    assert spec is not None and camera_responder.model.values[spec.code] == value


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("iso", "S12800"),
        ("iso", 123),
        ("iso", "bogus"),
        ("effect", "ETERNA"),  # a film simulation the X-T1 does not list
        ("exp-bias", "+4"),
        ("focusmtr", 0x20000000),
        ("battery", "2/3"),  # read-only
        ("remaining", 12),
        ("macro", 1),  # an enumeration without values
    ],
)
async def test_invalid_values_are_refused_before_anything_is_sent(
    camera: Camera, camera_responder: ScriptedFuji, prop: str, value: int | str
) -> None:
    sets = len(camera_responder.sets())
    with pytest.raises(InvalidValue):
        await within(camera.set(prop, value))
    assert len(camera_responder.sets()) == sets


# ------------------------------------------------------------------------------------------------ capture, live view


async def test_capture_returns_the_preview(camera: Camera, camera_responder: ScriptedFuji) -> None:
    events: list[CameraEvent] = []
    camera.add_event_listener(events.append)
    for shot in (1, 2):
        done = asyncio.Event()
        camera.add_event_listener(lambda e, done=done: done.set() if e.code == 0x400D else None)
        capture = await within(camera.capture())
        assert capture.data == camera_responder.previews[-1] == jpeg_preview(shot)
        assert (capture.transfer.format, capture.transfer.size) == ("jpeg", len(jpeg_preview(shot)))
        await within(done.wait())
    names = [e.name for e in events]
    assert names == ["Fuji_ObjectAdded", "Fuji_PreviewAvailable", "CaptureComplete"] * 2
    assert events[1].params[2] == len(jpeg_preview(1))
    ops = [r.code for r in camera_responder.received if r.code in (0x100E, 0x9022)]
    assert ops == [0x100E, 0x9022, 0x100E, 0x9022]
    assert camera_responder.model.preview is None


async def test_live_view_frames(camera: Camera) -> None:
    frames = camera.liveview()
    try:
        first = await within(anext(frames))
        assert first.jpeg.startswith(b"\xff\xd8") and first.jpeg.endswith(b"\xff\xd9")
    finally:
        await within(frames.aclose())  # type: ignore[attr-defined]  # an async generator


async def test_keepalive(camera: Camera, camera_responder: ScriptedFuji) -> None:
    await within(camera.keepalive())
    assert camera_responder.received[-1].code == 0x1015


async def test_capture_warns_when_the_preview_size_differs(
    camera: Camera, camera_responder: ScriptedFuji, caplog: pytest.LogCaptureFixture
) -> None:
    camera_responder.announced_size = 1234
    with caplog.at_level(logging.WARNING, logger="ptpipd.vendors.fuji"):
        capture = await within(camera.capture())
    assert capture.data == jpeg_preview(1)
    assert any("announced 1234" in r.getMessage() for r in caplog.records)


async def test_capture_without_events_times_out(camera_responder: ScriptedFuji) -> None:
    camera_responder.drop_events = True
    cam = Camera(camera_responder.config(capture_timeout=0.2))
    try:
        await within(cam.open())
        with pytest.raises(CameraTimeout, match="PreviewAvailable"):
            await within(cam.capture())
        assert [r.code for r in camera_responder.received][-1] == 0x100E  # no 0x9022 was sent
    finally:
        await within(cam.close())
