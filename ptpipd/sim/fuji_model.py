"""A simulated Fujifilm body in Wi-Fi remote mode: a pure state machine, no I/O.

The X-T1 (firmware 5.51) by default; a later body (X-T2, X-T4, X-T5, X-S10) from its
:class:`~ptpipd.vendors.fuji_body_codes.BodyProfile`, one model for all (the properties of each body are
:mod:`ptpipd.sim.fuji_props`', the card of those with full-size files :mod:`ptpipd.sim.fuji_card`'s).
The responder that drives it decodes the containers and calls :meth:`FujiModel.accept_connection` for the
init request, :meth:`FujiModel.handle` for every operation (with the data container of a data-out
operation, see :meth:`FujiModel.needs_data`) and :meth:`FujiModel.end_session` when the client goes away.
An :class:`~ptpipd.sim.responder.Outcome` says what to send: a data container (code = the opcode) when
``data`` is not None, then the response container, then ``events`` on the event port.
:class:`AwaitConfirmation` means: hold the answer until the user confirms on the camera (the Yes/No dialog),
then send :meth:`FujiModel.confirm_pairing`'s. An operation :meth:`FujiModel.ignores` gets no answer at all.

Session steps and what is refused before them (FUJI.md §4; no source shows the real refusals, so these
are choices):

=============================  =========================================================================
operation                      refused with
=============================  =========================================================================
GetDeviceInfo 0x1001           never (allowed outside a session, as in PTP); a later body answers no data
anything else, no session      0x2003 SessionNotOpen
OpenSession, session open      0x201E SessionAlreadyOpen (Param1 = the open session's ID)
get/describe, 0x902B, files    never once the session is open
set 0xDF01 = 5                 the answer waits for the user's confirmation when the client is new;
                               0x2019 DeviceBusy on a later body in another Wi-Fi function (0xDF00 ≠ 6)
set 0xDF24                     0x2019 DeviceBusy before 0xDF01 = 5; 0x201C below the body's own version;
                               0x200A on a body without remote mode
InitiateOpenCapture 0x101C     0x2019 DeviceBusy until 0xDF01 and 0xDF24 have been written
other sets, capture, 0x90xx    0x2019 DeviceBusy until InitiateOpenCapture has succeeded
=============================  =========================================================================

Capture: InitiateCapture answers OK, then C004 and C001 (preview size at byte 20) on the event port;
0x9022 sends the preview JPEG and then CaptureComplete 0x400D with the 0x9022 TID (the shape of
malc0mn's mock). Another InitiateCapture while a preview waits is answered OK and otherwise ignored,
as on the X-T1. 0x9022 without a preview answers 0x2002 GeneralError. A body with full-size files also
stores the picture on its card (0xD222 ObjectCount and 0xD229 in its events list). The shutter pressed on
the body in remote mode does what InitiateCapture does on the X-T1, its events carrying TID 0xFFFFFFFF (no
transaction; no source shows what a real X-T1 sends then); on a body with full-size files it stores a
picture, which its events list tells (no source shows event-port traffic of the later bodies).

Focus: what the sources give the X-T1 over Wi-Fi is its focus mode (0x500A: manual, AF-S, AF-C), the focus
point (0xD17C, set with 0x9026, which also locks focus, 0xD209 = 1) and 0x9027 (release the lock). No
public source shows an X-T1 operation or property that drives the focus distance, so the model has none.

GetDeviceInfo of the X-T1 returns a DeviceInfo naming FUJIFILM X-T1 5.51 (the real X-T1's answer is not in
the sources; the X-T4 sends an empty one, as the simulated later bodies do), so gphoto2 --summary has
something to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from ptpipd.ip.fuji import FUJI_PROTOCOL_VERSION
from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import (
    DeviceInfo,
    EnumForm,
    EventCode,
    ObjectFormat,
    OperationCode,
    ResponseCode,
    VendorExtensionID,
)
from ptpipd.sim.fuji_card import OPERATIONS as CARD_OPERATIONS
from ptpipd.sim.fuji_card import CardAnswer, FujiCard
from ptpipd.sim.fuji_props import FujiProperties, Quirks
from ptpipd.sim.pictures import Caption, photo
from ptpipd.sim.responder import Outcome
from ptpipd.vendors.fuji_body_codes import XT1, BodyProfile, BodyProperty
from ptpipd.vendors.fuji_codes import (
    EVENT_FIRST_WORD,
    INIT_SEQUENCE_REMOTE,
    FujiEvent,
    FujiOperation,
    FujiProperty,
    capture_event_params,
)

OK = ResponseCode.OK
PREVIEW_WIDTH, PREVIEW_HEIGHT, PREVIEW_SIZE = 640, 480, 80_000


@dataclass(frozen=True, slots=True)
class AwaitConfirmation:
    """The camera shows its pairing prompt: answer nothing until :meth:`FujiModel.confirm_pairing`."""

    transaction_id: int
    client: str


class Phase(IntEnum):
    """How far the init sequence of FUJI.md §4 has got in the current session."""

    CLOSED = 0
    SESSION = 1
    MODE_SET = 2  # 0xDF01 = 5 written (and confirmed)
    VERSION_SET = 3  # 0xDF24 written
    REMOTE = 4  # InitiateOpenCapture done


def preview_jpeg(shot: int, seed: int = 0, model: str = XT1.model) -> bytes:
    """The 80 kB VGA preview of shot ``shot`` taken by ``model``."""
    return photo(seed, Caption(shot, f"{model} #{shot}"), PREVIEW_WIDTH, PREVIEW_HEIGHT, PREVIEW_SIZE)


class FujiModel:
    """One body's state and its answers (see the module docstring for the rules).

    ``profile`` is the body (the X-T1 unless told), ``quirks`` how it departs from it. ``known_client``
    is the friendly name the camera already trusts (None: none yet; the first client that completes the
    pairing prompt is remembered). With ``accept_any_client`` every name connects and no prompt is shown.
    ``seed`` draws the pictures; ``preview`` makes the preview JPEG of shot ``n`` (tests may pass a cheap
    one).
    """

    def __init__(
        self,
        *,
        profile: BodyProfile = XT1,
        quirks: Quirks | None = None,
        known_client: str | None = None,
        accept_any_client: bool = False,
        seed: int = 0,
        preview: Callable[[int], bytes] | None = None,
    ) -> None:
        self.profile = profile
        self.quirks = quirks or Quirks()
        self.known_client = known_client
        self.accept_any_client = accept_any_client
        self.serial = f"SIMULATED-{profile.model}"
        self._preview_maker = preview or (lambda shot: preview_jpeg(shot, seed, profile.model))
        self.client: str | None = None
        self.phase = Phase.CLOSED
        self.session_id = 0
        self.list_served = False
        self.preview: bytes | None = None
        self.shots = 0
        self.recording: int | None = None
        self._pending_pairing: AwaitConfirmation | None = None
        self.properties = FujiProperties(profile, self.quirks)
        self.defs, self.values = self.properties.defs, self.properties.values
        #: The files of a body that hands out full-size files (None: preview only, as the X-T1)
        self.card = FujiCard(profile, seed) if profile.full_size else None

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo this model sends for GetDeviceInfo 0x1001."""
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=VendorExtensionID.Fuji,
            vendor_extension_version=100,
            vendor_extension_desc="fujifilm.co.jp: 1.0; ",
            functional_mode=0,
            operations_supported=(OperationCode.GetDeviceInfo, OperationCode.OpenSession, *_HANDLERS),
            events_supported=(EventCode.CaptureComplete, FujiEvent.PreviewAvailable, FujiEvent.ObjectAdded),
            device_properties_supported=tuple(self.properties.codes),
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.EXIF_JPEG,),
            manufacturer="FUJIFILM",
            model=self.profile.model,
            device_version="5.51",
            serial_number=self.serial,
        )

    # -------------------------------------------------------------- connection

    def accept_connection(self, name: str, version: int = FUJI_PROTOCOL_VERSION) -> int | None:
        """None to accept an init request, else the InitFail reason (0x201D version, 0x2019 other name)."""
        if version != FUJI_PROTOCOL_VERSION:
            return ResponseCode.InvalidParameter
        if self.known_client is not None and name != self.known_client and not self.accept_any_client:
            return ResponseCode.DeviceBusy
        self.client = name
        return None

    def end_session(self) -> None:
        """The client went away or closed the session: back to no session (the preview is dropped)."""
        self.phase = Phase.CLOSED
        self.session_id = 0
        self.list_served = False
        self.preview = None
        self.recording = None
        self._pending_pairing = None
        if self.card is not None:
            self.card.end_session()

    def ignores(self, code: int) -> bool:
        """True for an operation the body never answers (``--ignore-device-info``): the next is served."""
        return code == OperationCode.GetDeviceInfo and self.quirks.ignore_device_info

    @staticmethod
    def needs_data(code: int) -> bool:
        """True when the operation has a data-out phase: wait for its data container before :meth:`handle`."""
        return code == OperationCode.SetDevicePropValue

    def confirm_pairing(self, accepted: bool = True) -> Outcome:
        """The user answered the prompt: OK (the client name is remembered) or, refused, DeviceBusy."""
        pending, self._pending_pairing = self._pending_pairing, None
        if pending is None:
            raise RuntimeError("no pairing prompt is open")
        if not accepted:
            return Outcome(ResponseCode.DeviceBusy)
        if self.known_client is None:
            self.known_client = pending.client
        self.values[FujiProperty.InitSequence] = INIT_SEQUENCE_REMOTE
        self.phase = max(self.phase, Phase.MODE_SET)
        return Outcome(OK)

    # -------------------------------------------------------------- operations

    def handle(
        self, code: int, transaction_id: int, params: Sequence[int] = (), data: bytes | None = None
    ) -> Outcome | AwaitConfirmation | CardAnswer:
        """The camera's answer to one operation (``data``: the data-out payload of SetDevicePropValue)."""
        if code == OperationCode.GetDeviceInfo:
            return Outcome(OK, data=b"" if self.profile.device_info_empty else self.device_info().encode())
        if code == OperationCode.OpenSession:
            return self._open_session(params)
        if self.phase is Phase.CLOSED:
            return Outcome(ResponseCode.SessionNotOpen)
        if self.card is not None and code in CARD_OPERATIONS:
            return self.card.handle(code, params, self.values.get(BodyProperty.EnableCorrectFileSize) == 1)
        handler = _HANDLERS.get(code)
        if handler is None:
            return Outcome(ResponseCode.OperationNotSupported)
        if code in _REMOTE_ONLY and self.phase is not Phase.REMOTE:
            return Outcome(ResponseCode.DeviceBusy)
        if code in _NEEDS_PARAM and not params:
            return Outcome(ResponseCode.InvalidParameter)
        return handler(self, transaction_id, params, data)

    def _open_session(self, params: Sequence[int]) -> Outcome:
        if self.phase is not Phase.CLOSED:
            return Outcome(ResponseCode.SessionAlreadyOpen, (self.session_id,))
        if not params or params[0] == 0:
            return Outcome(ResponseCode.InvalidParameter)
        self.phase = Phase.SESSION
        self.session_id = params[0]
        self.list_served = False
        self.properties.start_session()
        return Outcome(OK)

    def _close_session(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        self.end_session()
        return Outcome(OK)

    def _device_prop_list(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        self.list_served = True
        return Outcome(OK, data=self.properties.payload_902b())

    def _set_value(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome | AwaitConfirmation:
        code = params[0]
        value = self.properties.parse(code, data or b"")
        if isinstance(value, Outcome):
            return value
        if code == FujiProperty.InitSequence and value == INIT_SEQUENCE_REMOTE:
            return self._set_mode(tid)
        if code == FujiProperty.InitSequence:
            self.properties.set(code, value)  # another client state (a later body): no remote mode
            return Outcome(OK)
        if code == FujiProperty.AppVersion:
            if self.phase < Phase.MODE_SET:
                return Outcome(ResponseCode.DeviceBusy)
            self.phase = max(self.phase, Phase.VERSION_SET)
        elif self.phase < Phase.REMOTE:
            return Outcome(ResponseCode.DeviceBusy)
        self.properties.set(code, value)
        return Outcome(OK)

    def _set_mode(self, tid: int) -> Outcome | AwaitConfirmation:
        if not self.properties.remote_allowed:
            return Outcome(ResponseCode.DeviceBusy)  # the camera is in another Wi-Fi function
        trusted = self.accept_any_client or (self.client is not None and self.client == self.known_client)
        if not trusted:
            self._pending_pairing = AwaitConfirmation(tid, self.client or "")
            return self._pending_pairing
        self.values[FujiProperty.InitSequence] = INIT_SEQUENCE_REMOTE
        self.phase = max(self.phase, Phase.MODE_SET)
        return Outcome(OK)

    def _open_capture(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if self.phase < Phase.VERSION_SET:
            return Outcome(ResponseCode.DeviceBusy)
        self.phase = Phase.REMOTE
        self.properties.announce_remote()
        return Outcome(OK)

    # -------------------------------------------------------------- capture

    def _capture(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if self.preview is not None:
            return Outcome(OK)  # the X-T1 accepts and ignores a shot while the last preview waits
        return Outcome(OK, events=self._shoot(tid), capture=0.0)

    def _shoot(self, tid: int) -> tuple[Event, ...]:
        """Takes a picture: the preview waits for 0x9022; returns the C004 and C001 events."""
        self._store_picture()
        self.preview = self._preview_maker(self.shots)
        size = len(self.preview)
        return (
            Event(FujiEvent.ObjectAdded, EVENT_FIRST_WORD, capture_event_params(tid)),
            Event(FujiEvent.PreviewAvailable, EVENT_FIRST_WORD, capture_event_params(tid, size)),
        )

    def _store_picture(self) -> None:
        """One picture more: fewer remaining and, on a body with full-size files, a new file on its card."""
        self.shots += 1
        remaining = self.values[FujiProperty.CapturesRemaining]
        if isinstance(remaining, int) and remaining > 0:
            self.properties.set(FujiProperty.CapturesRemaining, remaining - 1)
        if self.card is not None:
            count = self.card.add()
            for code in (BodyProperty.ObjectCount, BodyProperty.ObjectCount2):
                if code in self.values:
                    self.properties.set(code, count)

    def press_shutter(self) -> list[Event]:
        """The shutter pressed on the body: on the X-T1 in remote mode, a shot as InitiateCapture takes
        one; on a body with full-size files, a new file (its events list tells), session or not."""
        if self.card is not None:
            self._store_picture()
            return []
        if self.phase is not Phase.REMOTE or self.preview is not None:
            return []
        return list(self._shoot(NO_TRANSACTION))

    def turn_dial(self) -> list[Event]:
        """The exposure-compensation dial turned on the body, one step (back down at the top), which a
        later body's next events list tells (nothing goes on the event port: no source shows it); the
        X-T1's stays as captured."""
        if self.card is not None:
            before = self.values[0x5010]
            if self._step(0x5010, (1,)).code == OK and self.values[0x5010] == before:
                self._step(0x5010, (0,))
        return []

    def drain_battery(self) -> list[Event]:
        """The battery lost 1 % (the X-T1's stays the README capture's); the events list tells, nothing
        goes on the event port."""
        self.properties.drain_battery()
        return []

    @staticmethod
    def finish_capture() -> list[Event]:
        """A Fuji's capture events are the InitiateCapture outcome's own: nothing more."""
        return []

    def _get_preview(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if self.preview is None:
            return Outcome(ResponseCode.GeneralError)
        jpeg, self.preview = self.preview, None
        done = Event(EventCode.CaptureComplete, EVENT_FIRST_WORD, capture_event_params(tid))
        return Outcome(OK, data=jpeg, events=(done,))

    # -------------------------- focus, stepping and movie recording (FUJI.md §12): buttons and dials

    def _set_focus_point(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if not self.defs[FujiProperty.FocusPoint].allows(params[0]):
            return Outcome(ResponseCode.InvalidParameter)
        self.properties.set(FujiProperty.FocusPoint, params[0])
        self.properties.set(FujiProperty.FocusLock, 1)
        return Outcome(OK)

    def _reset_focus_point(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        self.properties.set(FujiProperty.FocusLock, 0)
        return Outcome(OK)

    def _step(self, code: int, params: Sequence[int]) -> Outcome:
        """0x902D/0x902E: one step along the property's enumeration (Param1 1 = up, 0 = down)."""
        form, current = self.defs[code].form, self.values[code]
        if params[0] not in (0, 1) or not isinstance(form, EnumForm):
            return Outcome(ResponseCode.InvalidParameter)
        steps = sorted(v for v in form.values if isinstance(v, int) and v != 0xFFFF)
        if current not in steps:
            return Outcome(ResponseCode.DeviceBusy)  # automatic: nothing to step
        index = steps.index(current) + (1 if params[0] else -1)
        self.properties.set(code, steps[max(0, min(len(steps) - 1, index))])
        return Outcome(OK)

    def _step_shutter(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        # The modelled camera is in program mode (0xD240 reads "not available"): nothing to step.
        return Outcome(OK)

    def _start_movie(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if self.values[FujiProperty.RecMode] != 1 or self.recording is not None:
            return Outcome(ResponseCode.DeviceBusy)
        self.recording = tid
        return Outcome(OK)

    def _stop_movie(self, tid: int, params: Sequence[int], data: bytes | None) -> Outcome:
        if self.recording is None or not params or params[0] != self.recording:
            return Outcome(ResponseCode.InvalidParameter)
        self.recording = None
        return Outcome(OK)


_Handler = Callable[[FujiModel, int, Sequence[int], bytes | None], "Outcome | AwaitConfirmation"]
OC, FO = OperationCode, FujiOperation
#: The operations besides GetDeviceInfo and OpenSession, standard ones in DeviceInfo's order first.
_HANDLERS: dict[int, _Handler] = {
    OC.CloseSession: FujiModel._close_session,
    OC.InitiateCapture: FujiModel._capture,
    OC.GetDevicePropDesc: lambda m, t, p, d: m.properties.describe(p[0], m.list_served),
    OC.GetDevicePropValue: lambda m, t, p, d: m.properties.get(p[0]),
    OC.SetDevicePropValue: FujiModel._set_value,
    OC.InitiateOpenCapture: FujiModel._open_capture,
    FO.InitiateMovieCapture: FujiModel._start_movie,
    FO.TerminateMovieCapture: FujiModel._stop_movie,
    FO.GetCapturePreview: FujiModel._get_preview,
    FO.SetFocusPoint: FujiModel._set_focus_point,
    FO.ResetFocusPoint: FujiModel._reset_focus_point,
    FO.GetDeviceInfo: FujiModel._device_prop_list,
    FO.SetShutterSpeed: FujiModel._step_shutter,
    FO.SetAperture: lambda m, t, p, d: m._step(0x5007, p),
    FO.SetExposureCompensation: lambda m, t, p, d: m._step(0x5010, p),
}
#: Refused with InvalidParameter without a first parameter.
_NEEDS_PARAM = frozenset({OC.GetDevicePropDesc, OC.GetDevicePropValue, OC.SetDevicePropValue, FO.SetFocusPoint,
                          FO.SetAperture, FO.SetExposureCompensation})  # fmt: skip
#: Refused with DeviceBusy before InitiateOpenCapture.
_REMOTE_ONLY = frozenset({OC.InitiateCapture, FO.GetCapturePreview, FO.SetFocusPoint, FO.ResetFocusPoint,
                          FO.SetShutterSpeed, FO.SetAperture, FO.SetExposureCompensation, FO.InitiateMovieCapture})  # fmt: skip
