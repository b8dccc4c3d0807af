"""Setting up a session with a Fujifilm body: what it is, what it allows, and remote mode.

One order for every body, the seed tool's and gphoto2's (FUJI.md §4), so the X-T1 sees the bytes it always
saw; what a later body needs comes in where its answers ask for it (tests/data/fuji/BODIES.md §2, §4, §6).
The driver reads no model name: a body that answers like a known one works like it::

    step                          X-T1                      a body whose remote version is above 2.1
    OpenSession(1)                0x201E SessionAlreadyOpen counts as success
    0xDF01 ClientState := u16 5   held by the camera's Yes/No dialog for a new client (status: pairing);
                                  refused: the events list's 0xDF00 says which Wi-Fi function it is in
    0xDF24 RemoteVersion read     0x00020001                2.4 … 2.11; no data: no remote mode at all
    0xDF21, 0xDF22, 0xDF25        -                         read for ``info`` (0xDF25 ≥ 2: full-size files)
    0xD212 events list            -                         0xDF00 CameraState: 0 → polled every 100 ms
                                                            until the user allows access; 1, 2, 3 → the
                                                            wrong Wi-Fi function; carries 0xDF00: the list
                                                            tells changes, and is polled from now on
    0xDF24 := v                   v (echoed)                max(v, 0x0002000C), what Camera Connect writes
    0x902B                        the DevicePropDesc list: ``info``, and describes are complete after it
    InitiateOpenCapture(0, 0)     hands control to us; the camera opens its event and live-view ports
    0xD212 events list            -                         the whole shooting state
    event port                    connected, nothing sent on it
    GetDeviceInfo 0x1001          optional: given up after 5 s of silence (the connection stays), empty
                                  or refused → FUJIFILM and the name of the InitCommandAck

Each step waits at most the transaction timeout (0xDF01 the pairing timeout); a step the camera does not
answer ends the set-up with one sentence that names it (:meth:`~ptpipd.vendors.fuji_body_codes.Step.stalled`,
"the camera did not answer 0x1002 OpenSession within 10 s"), which the service logs and shows as
``status.last_error``. A camera that cannot be remote-controlled now gets the sentence of
:func:`~ptpipd.vendors.fuji_body_codes.explain_camera_state` (what to set on the camera).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ptpipd.errors import CameraRefused, CameraTimeout, NotSupported, PairingFailed
from ptpipd.ip.errors import TransactionTimeout
from ptpipd.ip.packets import Buffer
from ptpipd.ip.transport import Reply
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    OperationCode,
    ResponseCode,
    code_name,
    encode_value,
)
from ptpipd.vendors.base import Capabilities, DeviceSummary, EventDelivery, VendorDriver
from ptpipd.vendors.fuji_body_codes import (
    CAMERA_CONNECT_REMOTE_VERSION,
    CLIENT_STATE,
    DEVICE_INFO,
    EVENT_PORT,
    NO_REMOTE_MODE,
    OPEN_CAPTURE,
    OPEN_SESSION,
    POLL_ACCESS,
    POLL_EVENTS,
    PROPERTY_LIST,
    READ_VERSIONS,
    REMOTE_VERSION,
    WRONG_MODE,
    BodyProperty,
    CameraState,
    EventsList,
    EventsMode,
    Step,
    decode_version,
    explain_camera_state,
    version_text,
)
from ptpipd.vendors.fuji_codes import INIT_SEQUENCE_REMOTE, XT1_APP_VERSION, FujiOperation, split_desc_list
from ptpipd.vendors.fuji_events import EventsCache

log = logging.getLogger("ptpipd.vendors.fuji")

SESSION_ID = 1
#: The longest wait for GetDeviceInfo, which some bodies may leave unanswered (issue 13).
DEVICE_INFO_WAIT = 5.0
#: How often the events list is read while the camera still asks its user to allow access (libfuji).
ACCESS_POLL = 0.1
#: 0xDF25 RemoteGetObjectVersion from which a body hands out full-size files (the X-T1 reports 1).
FULL_SIZE_FROM = 2
_OTHER_VERSIONS = (
    BodyProperty.ImageGetVersion,
    BodyProperty.GetObjectVersion,
    BodyProperty.RemoteGetObjectVersion,
)


@dataclass(slots=True)
class BodyFacts:
    """What the set-up learnt about the connected body."""

    remote_version: int = XT1_APP_VERSION
    versions: dict[int, int | None] = field(default_factory=dict)
    events: EventsMode = EventsMode.STATE
    camera_state: int | None = None

    @property
    def later(self) -> bool:
        """A body after the X-T1: a remote protocol above 2.1."""
        return self.remote_version > XT1_APP_VERSION

    @property
    def full_size(self) -> bool:
        """The body hands out full-size files in remote mode (0xDF25 RemoteGetObjectVersion ≥ 2)."""
        version = self.versions.get(BodyProperty.RemoteGetObjectVersion)
        return self.later and version is not None and version >= FULL_SIZE_FROM

    def describe(self) -> dict[str, Any]:
        """The facts as JSON, for ``info``."""
        state = self.camera_state
        return {
            "remote_version": version_text(self.remote_version),
            "versions": {f"0x{code:04x}": value for code, value in self.versions.items()},
            "camera_state": None if state is None else _state_name(state),
            "events": self.events.value,
            "full_size": self.full_size,
        }


def _state_name(state: int) -> str:
    try:
        return CameraState(state).name.lower().replace("_", " ")
    except ValueError:
        return f"0x{state:04x}"


class FujiSession(VendorDriver):
    """The Fuji driver's session set-up (the order above); :class:`~ptpipd.vendors.fuji_files.FujiFiles`
    adds the files, :class:`~ptpipd.vendors.fuji.FujiDriver` the properties, capture and live view."""

    #: After this long without an answer to 0xDF01 the camera is taken to show its Yes/No dialog.
    pairing_hint_delay: ClassVar[float] = 0.5

    device: DeviceInfo | None = None
    summary: DeviceSummary | None = None
    _listed = False  # an events list has been read in this session

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._descs: dict[int, DevicePropDesc] = {}
        self._list: list[DevicePropDesc] = []
        self.events = EventsCache()
        self.body = BodyFacts()

    def body_capabilities(self) -> Capabilities:
        """A body whose events list tells changes is polled; one with full-size files lists and downloads
        them."""
        caps, body = self.capabilities, self.body
        return replace(
            caps,
            events=EventDelivery.POLL if self._changes else caps.events,
            files=body.full_size,
            partial_objects=body.full_size,
        )

    # -------------------------------------------------------------- steps

    async def _step(
        self,
        step: Step,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data_out: Buffer | None = None,
        timeout: float | None = None,
        optional: bool = False,
    ) -> Reply:
        """One set-up transaction; silence becomes :class:`CameraTimeout` naming the step."""
        limit = self.config.timeouts.transaction if timeout is None else timeout
        try:
            return await self.link.transaction(
                code, params, data_out=data_out, timeout=limit, optional=optional
            )
        except TransactionTimeout as exc:
            raise CameraTimeout(step.stalled(limit), timeout_s=limit, opcode=code) from exc

    async def _ok(self, step: Step, code: int, params: tuple[int, ...] = (), **kw: Any) -> Reply:
        reply = await self._step(step, code, params, **kw)
        if reply.code != ResponseCode.OK:
            raise self.refused(reply.code, code)
        return reply

    @property
    def _changes(self) -> bool:
        """The body's events list tells changes (it is polled)."""
        return self.body.events is EventsMode.CHANGES

    async def read_list(self, step: Step = POLL_EVENTS, *, announce: bool | None = None) -> EventsList:
        """GetDevicePropValue 0xD212, fed to the events cache: its changes become events with ``announce``,
        by default on a body whose list tells changes."""
        reply = await self._ok(step, OperationCode.GetDevicePropValue, (BodyProperty.EventsList,))
        listed = EventsList.decode(reply.data or b"")
        self.events.feed(listed, announce=self._changes if announce is None else announce)
        self._listed = True
        if listed.camera_state is not None:
            self.body.camera_state = listed.camera_state
        return listed

    # -------------------------------------------------------------- the set-up

    async def open(self) -> DeviceSummary:
        reply = await self._step(OPEN_SESSION, OperationCode.OpenSession, (SESSION_ID,))
        if reply.code not in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
            raise self.refused(reply.code, OperationCode.OpenSession)
        await self._client_state()
        version = await self._remote_version()
        if self.body.later:
            await self._later_body()
            version = max(version, CAMERA_CONNECT_REMOTE_VERSION)
        data = encode_value(DataType.UINT32, version)
        await self._ok(
            REMOTE_VERSION, OperationCode.SetDevicePropValue, (BodyProperty.RemoteVersion,), data_out=data
        )
        await self._load_list()
        await self._ok(OPEN_CAPTURE, OperationCode.InitiateOpenCapture, (0, 0))
        if self._changes:
            await self.read_list(announce=False)  # the whole shooting state
        try:
            await self.link.open_events(self.ports.event)
        except TransactionTimeout as exc:
            raise CameraTimeout(EVENT_PORT.stalled(exc.timeout), timeout_s=exc.timeout) from exc
        self.summary = await self._summary()
        return self.summary

    async def _client_state(self) -> None:
        """0xDF01 = 5. A new client name makes the camera show its Yes/No dialog and hold the answer."""
        data = encode_value(DataType.UINT16, INIT_SEQUENCE_REMOTE)
        transaction = asyncio.ensure_future(
            self._step(
                CLIENT_STATE,
                OperationCode.SetDevicePropValue,
                (BodyProperty.ClientState,),
                data_out=data,
                timeout=self.config.pairing_timeout,
            )
        )
        try:
            done, _ = await asyncio.wait({transaction}, timeout=self.pairing_hint_delay)
            if not done:
                log.info("waiting for the connection to be confirmed on the camera")
                self.pairing()
            reply = await transaction
        except asyncio.CancelledError:
            transaction.cancel()
            raise
        if reply.code != ResponseCode.OK:
            raise PairingFailed(await self._why_refused(reply.code))

    async def _why_refused(self, response: int) -> str:
        """The sentence for a refused 0xDF01: the Wi-Fi function the events list names, else the code."""
        try:
            state = (await self.read_list(POLL_ACCESS, announce=False)).camera_state
        except (CameraRefused, DecodeError):
            state = None
        sentence = WRONG_MODE.get(state) if state is not None else None
        return sentence or (
            f"the camera did not enter remote mode for {self.config.friendly_name!r}: "
            f"{code_name(ResponseCode, response)} (0x{response:04X}); confirm the connection on the camera"
        )

    async def _remote_version(self) -> int:
        """0xDF24; no data is a body without remote mode (one sentence, not a decoding error)."""
        reply = await self._ok(READ_VERSIONS, OperationCode.GetDevicePropValue, (BodyProperty.RemoteVersion,))
        data = reply.data or b""
        version = decode_version(data[:4] if len(data) > 4 else data)
        if version is None:
            raise NotSupported(NO_REMOTE_MODE, vendor=self.name)
        self.body.remote_version = version
        self.body.versions[BodyProperty.RemoteVersion] = version
        return version

    async def _later_body(self) -> None:
        """The other versions, then the events list: who may do what, and whether it tells changes."""
        for code in _OTHER_VERSIONS:
            reply = await self._step(READ_VERSIONS, OperationCode.GetDevicePropValue, (code,))
            data = reply.data or b""
            ok = reply.code == ResponseCode.OK and len(data) in (0, 4)
            self.body.versions[code] = decode_version(data) if ok else None
        listed = await self.read_list(POLL_ACCESS, announce=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.pairing_timeout
        while listed.camera_state == CameraState.WAIT_FOR_ACCESS:
            if loop.time() >= deadline:
                limit = self.config.pairing_timeout
                raise CameraTimeout(POLL_ACCESS.stalled(limit), timeout_s=limit)
            self.pairing()
            await asyncio.sleep(ACCESS_POLL)
            listed = await self.read_list(POLL_ACCESS, announce=False)
        sentence = explain_camera_state(self.body.camera_state, self.body.remote_version)
        if sentence is not None:
            raise PairingFailed(sentence)
        if listed.camera_state is not None:
            self.body.events = EventsMode.CHANGES

    async def _load_list(self) -> list[DevicePropDesc]:
        """Runs 0x902B and refreshes the description cache from it (undecodable entries are skipped)."""
        reply = await self._ok(PROPERTY_LIST, FujiOperation.GetDeviceInfo)
        descs = []
        for index, raw in enumerate(split_desc_list(reply.data or b"")):
            try:
                descs.append(DevicePropDesc.decode(raw))
            except DecodeError as exc:
                log.info("0x902B entry %d is not a standard DevicePropDesc: %s", index, exc)
        self._list = descs
        self._descs.update((d.code, d) for d in descs)
        return descs

    async def _summary(self) -> DeviceSummary:
        """GetDeviceInfo when the camera fills it; else FUJIFILM and the name from its InitCommandAck."""
        limit = min(DEVICE_INFO_WAIT, self.config.timeouts.transaction)
        try:
            reply = await self._step(DEVICE_INFO, OperationCode.GetDeviceInfo, timeout=limit, optional=True)
        except CameraTimeout as exc:
            log.warning("%s; going on without its DeviceInfo", exc)
        else:
            if reply.code == ResponseCode.OK and reply.data:
                try:
                    self.device = DeviceInfo.decode(reply.data)
                except DecodeError as exc:
                    log.info("the camera's DeviceInfo is not standard, ignoring it: %s", exc)
        d = self.device
        if d is not None:
            return DeviceSummary(d.manufacturer or "FUJIFILM", d.model, d.serial_number, d.device_version)
        ack = self.link.ack
        model = ack.name if ack is not None and ack.name else "unknown"
        return DeviceSummary("FUJIFILM", model, "", "")
