"""A simulated Fujifilm X-T1 (firmware 5.51) in Wi-Fi remote mode: a pure state machine, no I/O.

The responder that drives it decodes the containers and calls :meth:`XT1Model.accept_connection` for the
init request, :meth:`XT1Model.handle` for every operation (with the data container of a data-out
operation, see :meth:`XT1Model.needs_data`) and :meth:`XT1Model.end_session` when the client goes away.
An :class:`Answer` says what to send: a data container (``data``, code = the opcode) when ``data`` is not
None, then the response container, then ``events`` on the event port. :class:`AwaitConfirmation` means:
hold the answer until the user confirms on the camera, then send :meth:`XT1Model.confirm_pairing`'s.

The default state is built from the two captures of malc0mn's README (the 0x902B list and the 0xD212
list, kept below as bytes), so the first 0x902B and 0xD212 answers are those captures byte for byte, and a
set changes a property's DevicePropDesc in the 0x902B list and its 0xD212 entry together. The two
captures disagree on one value, FlashMode 0x500C (0x8009 in 0x902B, 0x800A in 0xD212: they were
taken at different moments); the model keeps the 0x902B one as a stale description until 0x500C is set.

Session steps and what is refused before them (FUJI.md §4; no source shows the real refusals, so these
are choices):

=============================  =========================================================================
operation                      refused with
=============================  =========================================================================
GetDeviceInfo 0x1001           never (allowed outside a session, as in PTP)
anything else, no session      0x2003 SessionNotOpen
OpenSession, session open      0x201E SessionAlreadyOpen (Param1 = the open session's ID)
get/describe, 0x902B           never once the session is open
set 0xDF01 (= 5 only)          the answer waits for the user's confirmation when the client is new
set 0xDF24                     0x2019 DeviceBusy before 0xDF01 = 5; 0x201C below the camera's 0x00020001
InitiateOpenCapture 0x101C     0x2019 DeviceBusy until 0xDF01 and 0xDF24 have been written
other sets, capture, 0x90xx    0x2019 DeviceBusy until InitiateOpenCapture has succeeded
=============================  =========================================================================

Property refusals: unknown code 0x200A, read-only (and the 0xD212 list) 0x200F, fewer data bytes than the
type's size or an undecodable string 0x201B (more bytes are fine: the first N are the value, FUJI.md
§6.2), a value outside the enumeration or range 0x201C. The opaque blobs 0x5003, 0xD174 and 0xD228 cannot
be set (0x201B: the model does not know their format). A describe of an unknown property answers OK with
no data (FUJI.md §6.3); a get of one answers 0x200A. Until 0x902B has run in a session, describes of the
properties malc0mn captured return those captures as they are, stale current values included (§6.3 says
describes are incomplete before 0x902B); afterwards they carry the live values.

Capture: InitiateCapture answers OK, then C004 and C001 (preview size at byte 20) on the event port;
0x9022 sends the preview JPEG and then CaptureComplete 0x400D with the 0x9022 TID (the shape of
malc0mn's mock). Another InitiateCapture while a preview waits is answered OK and otherwise ignored,
as on the X-T1. 0x9022 without a preview answers 0x2002 GeneralError.

GetDeviceInfo returns a DeviceInfo naming FUJIFILM X-T1 5.51 (the real X-T1's answer is not in the
sources; the X-T4 sends an empty one), so gphoto2 --summary has something to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from ptpipd.ip.fuji import FUJI_PROTOCOL_VERSION
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    EncodeError,
    EnumForm,
    EventCode,
    Form,
    NoForm,
    ObjectFormat,
    OperationCode,
    RangeForm,
    ResponseCode,
    Value,
    VendorExtensionID,
    decode_string,
    decode_value,
    encode_string,
    encode_value,
)
from ptpipd.sim.jpeg import photo
from ptpipd.vendors.fuji_codes import (
    EVENT_FIRST_WORD,
    IMAGE_SIZES,
    INIT_SEQUENCE_REMOTE,
    ISO_AUTO,
    PROPERTY_TYPES,
    XT1_APP_VERSION,
    FujiEvent,
    FujiOperation,
    FujiProperty,
    capture_event_params,
    decode_desc_list,
    decode_state_list,
    encode_desc_list,
    encode_state_list,
    state_value,
    state_word,
)

OK = ResponseCode.OK
PREVIEW_WIDTH, PREVIEW_HEIGHT, PREVIEW_SIZE = 640, 480, 80_000


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """An event for the event port: ``transaction_id`` is the word at offset 8 (1 on the X-T1)."""

    code: int
    transaction_id: int
    params: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send for one operation: data (if not None), the response, then events on the event port."""

    code: int
    params: tuple[int, ...] = ()
    data: bytes | None = None
    events: tuple[ModelEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class AwaitConfirmation:
    """The camera shows its pairing prompt: answer nothing until :meth:`XT1Model.confirm_pairing`."""

    transaction_id: int
    client: str


class Phase(IntEnum):
    """How far the init sequence of FUJI.md §4 has got in the current session."""

    CLOSED = 0
    SESSION = 1
    MODE_SET = 2  # 0xDF01 = 5 written (and confirmed)
    VERSION_SET = 3  # 0xDF24 written
    REMOTE = 4  # InitiateOpenCapture done


@dataclass(frozen=True, slots=True)
class PropDef:
    """A property's fixed part: type, writability, factory default and form."""

    code: int
    datatype: DataType
    writable: bool
    default: Value
    form: Form

    def describe(self, current: Value) -> DevicePropDesc:
        """The DevicePropDesc with ``current`` as its current value."""
        return DevicePropDesc(self.code, self.datatype, int(self.writable), self.default, current, self.form)

    @classmethod
    def of(cls, desc: DevicePropDesc) -> PropDef:
        """The fixed part of a captured description."""
        return cls(desc.code, desc.datatype, desc.writable, desc.factory_default, desc.form)


def _ro(code: int, value: int = 0) -> tuple[PropDef, int]:
    return PropDef(code, PROPERTY_TYPES[code], False, value, NoForm()), value


def _invented_defs() -> dict[int, tuple[PropDef, Value]]:
    """Properties of FUJI.md §11.1 with no captured description: their definitions and start values.

    Values come from malc0mn's GetDevicePropValue captures where they exist. Types follow FUJI.md §11.1;
    writability and forms are choices: counters, status words and the app versions of the other modes are
    read-only without a form; movie ISO takes auto and 200..6400; 0xD241 its nine sizes; 0xDF01 only 5
    (remote mode, the one the model implements); 0xDF24 any version from the camera's minimum up; 0xD500 a
    PTP string, as Fuji's app writes it; 0xD242 mirrors the README battery level 3.
    """
    u16, u32 = DataType.UINT16, DataType.UINT32
    movie_isos = (
        ISO_AUTO,
        200,
        250,
        320,
        400,
        500,
        640,
        800,
        1000,
        1250,
        1600,
        2000,
        2500,
        3200,
        4000,
        5000,
        6400,
    )
    out: dict[int, tuple[PropDef, Value]] = {
        FujiProperty.MovieISO: (PropDef(0xD02B, u32, True, ISO_AUTO, EnumForm(movie_isos)), ISO_AUTO),
        FujiProperty.FocusLock: (PropDef(0xD209, u16, False, 0, EnumForm((0, 1))), 0),
        FujiProperty.ImageAspectRatio: (PropDef(0xD241, u16, True, 10, EnumForm(tuple(IMAGE_SIZES))), 10),
        FujiProperty.InitSequence: (PropDef(0xDF01, u16, True, 0, EnumForm((INIT_SEQUENCE_REMOTE,))), 0),
        FujiProperty.AppVersion: (
            PropDef(0xDF24, u32, True, XT1_APP_VERSION, RangeForm(XT1_APP_VERSION, 0xFFFF_FFFF, 1)),
            XT1_APP_VERSION,
        ),
        FujiProperty.GeoTag: (PropDef(0xD500, DataType.STR, True, "", NoForm()), ""),
    }
    for code, value in (
        (0xD227, 0),
        (0xD229, 0),
        (0xD22A, 0),
        (0xD240, 0xFFFF_FFFF),
        (0xD242, 3),
        (0xD400, 0),
        (0xD401, 0),
        (0xD52F, 0),
        (0xDF00, 0),
        (0xDF21, 3),
        (0xDF22, 3),
        (0xDF23, 1),
        (0xDF25, 1),
        (0xDF31, 2),
    ):
        out[code] = _ro(code, value)
    return out


class XT1Model:
    """The X-T1's state and its answers (see the module docstring for the rules).

    ``known_client`` is the friendly name the camera already trusts (None: none yet; the first client
    that completes the pairing prompt is remembered). With ``accept_any_client`` every name connects
    and no prompt is shown. ``preview`` makes the preview JPEG of shot ``n`` (tests may pass a cheap one).
    """

    def __init__(
        self,
        *,
        known_client: str | None = None,
        accept_any_client: bool = False,
        serial: str = "SIMULATED-X-T1",
        preview: Callable[[int], bytes] | None = None,
    ) -> None:
        self.known_client = known_client
        self.accept_any_client = accept_any_client
        self.serial = serial
        self._preview_maker = preview or _default_preview
        self.client: str | None = None
        self.phase = Phase.CLOSED
        self.session_id = 0
        self.list_served = False
        self.preview: bytes | None = None
        self.shots = 0
        self.recording: int | None = None
        self._pending_pairing: AwaitConfirmation | None = None
        readme_list = decode_desc_list(README_902B)
        readme_state = decode_state_list(README_D212)
        self.list_order = tuple(d.code for d in readme_list)
        self.state_order = tuple(item.code for item in readme_state)
        self.captured_descs = {code: bytes.fromhex(text) for code, text in CAPTURED_DESCS_HEX.items()}
        self.blob_values = {code: bytes.fromhex(text) for code, text in CAPTURED_VALUES_HEX.items()}
        self.defs: dict[int, PropDef] = {}
        self.values: dict[int, Value] = {}
        for code, raw in self.captured_descs.items():
            try:
                desc = DevicePropDesc.decode(raw)
            except DecodeError:
                continue  # 0x5003, 0xD174: opaque blobs, served as captured
            self.defs[code], self.values[code] = PropDef.of(desc), desc.current
        for code, (definition, value) in _invented_defs().items():
            self.defs[code], self.values[code] = definition, value
        for desc in readme_list:
            self.defs[desc.code], self.values[desc.code] = PropDef.of(desc), desc.current
        #: Current values the 0x902B list and describes still report although the state says otherwise.
        self.stale: dict[int, Value] = {}
        for item in readme_state:
            value = state_value(self.defs[item.code].datatype, item.value)
            if item.code in self.list_order and self.values[item.code] != value:
                self.stale[item.code] = self.values[item.code]
            self.values[item.code] = value

    # -------------------------------------------------------------- payloads

    def desc(self, code: int) -> DevicePropDesc:
        """The live description of a defined property (with its stale current value, if it has one)."""
        definition = self.defs[code]
        return definition.describe(self.stale.get(code, self.values[code]))

    def payload_902b(self) -> bytes:
        """The 0x902B answer: the README's eight properties with their current descriptions."""
        return encode_desc_list([self.desc(code) for code in self.list_order])

    def payload_d212(self) -> bytes:
        """The 0xD212 answer: the README's seventeen entries with their current values."""
        entries = []
        for code in self.state_order:
            value = self.values[code]
            assert isinstance(value, int)
            entries.append((code, state_word(self.defs[code].datatype, value)))
        return encode_state_list(entries)

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo this model sends for GetDeviceInfo 0x1001."""
        operations = (
            *(op.value for op in _OPERATIONS),
            *(op.value for op in _FUJI_OPERATIONS),
        )
        properties = sorted({*self.defs, *self.blob_values, FujiProperty.CurrentState})
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=VendorExtensionID.Fuji,
            vendor_extension_version=100,
            vendor_extension_desc="fujifilm.co.jp: 1.0; ",
            functional_mode=0,
            operations_supported=operations,
            events_supported=(EventCode.CaptureComplete, FujiEvent.PreviewAvailable, FujiEvent.ObjectAdded),
            device_properties_supported=tuple(properties),
            capture_formats=(ObjectFormat.EXIF_JPEG,),
            image_formats=(ObjectFormat.EXIF_JPEG,),
            manufacturer="FUJIFILM",
            model="X-T1",
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

    @staticmethod
    def needs_data(code: int) -> bool:
        """True when the operation has a data-out phase: wait for its data container before :meth:`handle`."""
        return code == OperationCode.SetDevicePropValue

    @property
    def pairing_pending(self) -> bool:
        """True while the pairing prompt waits for the user."""
        return self._pending_pairing is not None

    def confirm_pairing(self, accepted: bool = True) -> Answer:
        """The user answered the prompt: OK (the client name is remembered) or, refused, DeviceBusy."""
        pending, self._pending_pairing = self._pending_pairing, None
        if pending is None:
            raise RuntimeError("no pairing prompt is open")
        if not accepted:
            return Answer(ResponseCode.DeviceBusy)
        if self.known_client is None:
            self.known_client = pending.client
        self.values[FujiProperty.InitSequence] = INIT_SEQUENCE_REMOTE
        self.phase = max(self.phase, Phase.MODE_SET)
        return Answer(OK)

    # -------------------------------------------------------------- operations

    def handle(
        self, code: int, transaction_id: int, params: Sequence[int] = (), data: bytes | None = None
    ) -> Answer | AwaitConfirmation:
        """The camera's answer to one operation (``data``: the data-out payload of SetDevicePropValue)."""
        if code == OperationCode.GetDeviceInfo:
            return Answer(OK, data=self.device_info().encode())
        if code == OperationCode.OpenSession:
            return self._open_session(params)
        if self.phase is Phase.CLOSED:
            return Answer(ResponseCode.SessionNotOpen)
        handler = _HANDLERS.get(code)
        if handler is None:
            return Answer(ResponseCode.OperationNotSupported)
        return handler(self, transaction_id, params, data)

    def _open_session(self, params: Sequence[int]) -> Answer:
        if self.phase is not Phase.CLOSED:
            return Answer(ResponseCode.SessionAlreadyOpen, (self.session_id,))
        if not params or params[0] == 0:
            return Answer(ResponseCode.InvalidParameter)
        self.phase = Phase.SESSION
        self.session_id = params[0]
        self.list_served = False
        return Answer(OK)

    def _close_session(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        self.end_session()
        return Answer(OK)

    def _device_prop_list(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        self.list_served = True
        return Answer(OK, data=self.payload_902b())

    def _get_desc(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not params:
            return Answer(ResponseCode.InvalidParameter)
        code = params[0]
        captured = self.captured_descs.get(code)
        if captured is not None and (not self.list_served or code not in self.defs):
            return Answer(OK, data=captured)
        if code in self.defs:
            return Answer(OK, data=self.desc(code).encode())
        return Answer(OK)  # FUJI.md §6.3: no data and no error for a property the camera cannot describe

    def _get_value(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not params:
            return Answer(ResponseCode.InvalidParameter)
        code = params[0]
        if code == FujiProperty.CurrentState:
            return Answer(OK, data=self.payload_d212())
        if code in self.blob_values:
            return Answer(OK, data=self.blob_values[code])
        if code in self.defs:
            return Answer(OK, data=encode_value(self.defs[code].datatype, self.values[code]))
        return Answer(ResponseCode.DevicePropNotSupported)

    def _set_value(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer | AwaitConfirmation:
        if not params:
            return Answer(ResponseCode.InvalidParameter)
        code = params[0]
        if code == FujiProperty.CurrentState:
            return Answer(ResponseCode.AccessDenied)
        if code in self.blob_values and code not in self.defs:
            return Answer(ResponseCode.InvalidDevicePropFormat)
        definition = self.defs.get(code)
        if definition is None:
            return Answer(ResponseCode.DevicePropNotSupported)
        if not definition.writable:
            return Answer(ResponseCode.AccessDenied)
        value = _value_from(definition.datatype, data or b"")
        if value is None:
            return Answer(ResponseCode.InvalidDevicePropFormat)
        if not definition.describe(definition.default).allows(value):
            return Answer(ResponseCode.InvalidDevicePropValue)
        if code == FujiProperty.InitSequence:
            return self._set_mode(tid)
        if code == FujiProperty.AppVersion:
            if self.phase < Phase.MODE_SET:
                return Answer(ResponseCode.DeviceBusy)
            self.phase = max(self.phase, Phase.VERSION_SET)
        elif self.phase < Phase.REMOTE:
            return Answer(ResponseCode.DeviceBusy)
        self.set_value(code, value)
        if code == FujiProperty.GeoTag:
            assert isinstance(value, str)
            self.blob_values[code] = encode_string(value)
        return Answer(OK)

    def set_value(self, code: int, value: Value) -> None:
        """Changes a property as the camera itself would (no checks): 0x902B and 0xD212 follow."""
        self.values[code] = value
        self.stale.pop(code, None)

    def _set_mode(self, tid: int) -> Answer | AwaitConfirmation:
        trusted = self.accept_any_client or (self.client is not None and self.client == self.known_client)
        if not trusted:
            self._pending_pairing = AwaitConfirmation(tid, self.client or "")
            return self._pending_pairing
        self.values[FujiProperty.InitSequence] = INIT_SEQUENCE_REMOTE
        self.phase = max(self.phase, Phase.MODE_SET)
        return Answer(OK)

    def _open_capture(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if self.phase < Phase.VERSION_SET:
            return Answer(ResponseCode.DeviceBusy)
        self.phase = Phase.REMOTE
        return Answer(OK)

    def _remote(self) -> bool:
        return self.phase is Phase.REMOTE

    def _capture(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not self._remote():
            return Answer(ResponseCode.DeviceBusy)
        if self.preview is not None:
            return Answer(OK)  # the X-T1 accepts and ignores a shot while the last preview waits
        self.shots += 1
        self.preview = self._preview_maker(self.shots)
        remaining = self.values[FujiProperty.CapturesRemaining]
        if isinstance(remaining, int) and remaining > 0:
            self.set_value(FujiProperty.CapturesRemaining, remaining - 1)
        return Answer(
            OK,
            events=(
                ModelEvent(FujiEvent.ObjectAdded, EVENT_FIRST_WORD, capture_event_params(tid)),
                ModelEvent(
                    FujiEvent.PreviewAvailable, EVENT_FIRST_WORD, capture_event_params(tid, len(self.preview))
                ),
            ),
        )

    def _get_preview(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not self._remote():
            return Answer(ResponseCode.DeviceBusy)
        if self.preview is None:
            return Answer(ResponseCode.GeneralError)
        jpeg, self.preview = self.preview, None
        done = ModelEvent(EventCode.CaptureComplete, EVENT_FIRST_WORD, capture_event_params(tid))
        return Answer(OK, data=jpeg, events=(done,))

    def _set_focus_point(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not self._remote():
            return Answer(ResponseCode.DeviceBusy)
        if not params or not self.defs[FujiProperty.FocusPoint].describe(0).allows(params[0]):
            return Answer(ResponseCode.InvalidParameter)
        self.set_value(FujiProperty.FocusPoint, params[0])
        self.set_value(FujiProperty.FocusLock, 1)
        return Answer(OK)

    def _reset_focus_point(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not self._remote():
            return Answer(ResponseCode.DeviceBusy)
        self.set_value(FujiProperty.FocusLock, 0)
        return Answer(OK)

    def _step(self, code: int, params: Sequence[int]) -> Answer:
        """0x902D/0x902E: one step along the property's enumeration (Param1 1 = up, 0 = down)."""
        if not self._remote():
            return Answer(ResponseCode.DeviceBusy)
        form = self.defs[code].form
        current = self.values[code]
        if not params or params[0] not in (0, 1) or not isinstance(form, EnumForm):
            return Answer(ResponseCode.InvalidParameter)
        steps = sorted(v for v in form.values if isinstance(v, int) and v != 0xFFFF)
        if current not in steps:
            return Answer(ResponseCode.DeviceBusy)  # automatic: nothing to step
        index = steps.index(current) + (1 if params[0] else -1)
        self.set_value(code, steps[max(0, min(len(steps) - 1, index))])
        return Answer(OK)

    def _step_aperture(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        return self._step(0x5007, params)

    def _step_bias(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        return self._step(0x5010, params)

    def _step_shutter(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        # The modelled camera is in program mode (0xD240 reads "not available"): nothing to step.
        return Answer(OK) if self._remote() else Answer(ResponseCode.DeviceBusy)

    def _start_movie(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if not self._remote() or self.values[FujiProperty.RecMode] != 1 or self.recording is not None:
            return Answer(ResponseCode.DeviceBusy)
        self.recording = tid
        return Answer(OK)

    def _stop_movie(self, tid: int, params: Sequence[int], data: bytes | None) -> Answer:
        if self.recording is None or not params or params[0] != self.recording:
            return Answer(ResponseCode.InvalidParameter)
        self.recording = None
        return Answer(OK)


def _value_from(datatype: DataType, data: bytes) -> Value | None:
    """The value at the start of a SetDevicePropValue payload (extra bytes ignored, FUJI.md §6.2)."""
    try:
        if datatype is DataType.STR:
            return decode_string(data)[0]
        size = datatype.size
        if size is None or len(data) < size:
            return None
        return decode_value(datatype, data[:size])[0]
    except (DecodeError, EncodeError):
        return None


def _default_preview(shot: int) -> bytes:
    return photo(shot, f"X-T1 #{shot}", PREVIEW_WIDTH, PREVIEW_HEIGHT, target_size=PREVIEW_SIZE)


_Handler = Callable[[XT1Model, int, Sequence[int], bytes | None], "Answer | AwaitConfirmation"]
_HANDLERS: dict[int, _Handler] = {
    OperationCode.CloseSession: XT1Model._close_session,
    OperationCode.GetDevicePropDesc: XT1Model._get_desc,
    OperationCode.GetDevicePropValue: XT1Model._get_value,
    OperationCode.SetDevicePropValue: XT1Model._set_value,
    OperationCode.InitiateOpenCapture: XT1Model._open_capture,
    OperationCode.InitiateCapture: XT1Model._capture,
    FujiOperation.GetDeviceInfo: XT1Model._device_prop_list,
    FujiOperation.GetCapturePreview: XT1Model._get_preview,
    FujiOperation.SetFocusPoint: XT1Model._set_focus_point,
    FujiOperation.ResetFocusPoint: XT1Model._reset_focus_point,
    FujiOperation.SetShutterSpeed: XT1Model._step_shutter,
    FujiOperation.SetAperture: XT1Model._step_aperture,
    FujiOperation.SetExposureCompensation: XT1Model._step_bias,
    FujiOperation.InitiateMovieCapture: XT1Model._start_movie,
    FujiOperation.TerminateMovieCapture: XT1Model._stop_movie,
}
_OPERATIONS = (
    OperationCode.GetDeviceInfo,
    OperationCode.OpenSession,
    OperationCode.CloseSession,
    OperationCode.InitiateCapture,
    OperationCode.GetDevicePropDesc,
    OperationCode.GetDevicePropValue,
    OperationCode.SetDevicePropValue,
    OperationCode.InitiateOpenCapture,
)
_FUJI_OPERATIONS = tuple(op for op in FujiOperation if op in _HANDLERS)

# ------------------------------------------------------------------------------------------------ captures
# Bytes recorded from a real X-T1 fw 5.51 by malc0mn (README.md and docs/fuji_x-t1_known-properties.md),
# as in tests/data/vectors; they are the model's starting state and its opaque answers.

#: README ``opreq 0x902B``: the data payload (bytes 12.. of the 356-byte data container).
README_902B = bytes.fromhex(
    "0800000016000000125004000100000000020300000002000400140000000c500400010200098002020009800a802400"
    "0000055004000102000200020a0002000400068001800280038006000a800b800c803600000010500300010000000002"
    "130048f495f5e3f630f87df9cbfa18fc65fdb3fe00004d019b02e80335058306d0071d096b0ab80b2600000001d00400"
    "0101000200020b000100020003000400050006000700080009000a000b00780000002ad0060001ffffffff0019008002"
    "1900900100802003008040060080800c00800019008064000040c8000000fa0000004001000090010000f40100008002"
    "000020030000e8030000e204000040060000d0070000c4090000800c0000a00f00008813000000190000003200400064"
    "004000c800401400000019d004000101000100020200000001001e0000007cd106000100000000040402030100000000"
    "0707091001000000"
)
#: README ``opreq 0x1015 0xD212``: the data payload (17 entries).
README_D212 = bytes.fromhex(
    "110001500300000041d20a0000000550020000000a50018000000c500a8000000e500200000010500000000012500000"
    "000001d00200000018d00400000028d0000000002ad0001900807cd10404020309d2000000001bd20000000029d29705"
    "00002ad28f060000"
)
#: GetDevicePropDesc data payloads (0x5003 and 0xD174 are not standard DevicePropDescs).
CAPTURED_DESCS_HEX: dict[int, str] = {
    0x5001: "0150020000000001000301",
    0x5003: (
        "0350ffff014c5f342d330000000000000000000000000000000000000000000000ffffffff010000000100000000"
        "00000030750000010000000000000007070910010000000000020004000000030000000100020003000400050006"
        "000700080009000a000b000c000d000e000f001000000000003075000000000000ffffffff01000000303030302e"
        "3030303030302c4e30303030302e3030303030304c5f342d33000000000000000000000000000000000000000000"
        "000033323078323830006400000006000000640016009416cb010000010013000000ec12cb01050000003c19cb01"
        "380000009011cb0103000000681ecb0103000000c818cb0109000000781ccb010500000034828b01050000004982"
        "8b011f0000004e828b010300020002003030ffffffffffffffffffffffffffffffffff01535f342d330000000000"
        "0000000000000000000000535f332d3200000000000000000000000000000000535f31362d390000000000000000"
        "00000000000000535f312d31000000000000000000000000000000004d5f342d3300000000000000000000000000"
        "0000004d5f332d32000000000000000000000000000000004d5f31362d390000000000000000000000000000004d"
        "5f312d31000000000000000000000000000000004c5f342d33000000000000000000000000000000004c5f332d32"
        "000000000000000000000000000000004c5f31362d390000000000000000000000000000004c5f312d3100000000"
        "000000000000000000000000415f342d3300000000000000000000000000000000415f332d320000000000000000"
        "0000000000000000415f31362d39000000000000000000000000000000415f312d31000000000000000000000000"
        "00000000"
    ),
    0x5005: "055004000102000200020a0002000400068001800280038006000a800b800c80",
    0x5007: "07500400015e0100000207005e011202c602e8034c044006ffff",
    0x500A: "0a5004000101800000020300010001800280",
    0x500C: "0c500400010200098002020009800a80",
    0x500D: "0d50060001020000000000000002030002000000e0930400ffffffff",
    0x500E: "0e5004000106000000020d000100020003000400060001800280038004800580068007800880",
    0x5010: (
        "10500300010000000002130048f495f5e3f630f87df9cbfa18fc65fdb3fe00004d019b02e80335058306d0071d096b0ab80b"
    ),
    0x5012: "125004000100000000020300000002000400",
    0xD001: "01d004000101000100020b000100020003000400050006000700080009000a000b00",
    0xD018: "18d00400010100010002050001000200030004000500",
    0xD019: "19d00400010100010002020000000100",
    0xD01D: "1dd004000101000100020000",
    0xD028: "28d0040001000000000204000000010002000300",
    0xD02A: (
        "2ad0060001ffffffff00190080021900900100802003008040060080800c00800019008064000040c8000000fa00"
        "00004001000090010000f40100008002000020030000e8030000e204000040060000d0070000c4090000800c0000"
        "a00f00008813000000190000003200400064004000c80040"
    ),
    0xD170: "70d10400010100010001010027000100",
    0xD174: (
        "74d1ffff013332307832383000000000000000000000000000000000000000010002000300040005000600070008"
        "0009000a000b001100000000000100020003000600000001dc060000000000000000000000000000000000000000"
        "0001000000000000000000000000000033323078323830006400000006000000640016009416cb01000001001300"
        "0000ec12cb01050000003c19cb01380000009011cb0103000000681ecb0103000000c818cb0109000000781ccb01"
        "0500000034828b010500000049828b011f0000004e828b0103000202000033323078323830000000000000000000"
        "00000000003634307834383000000000000000000000000000003132383078393630000000000000000000000000"
        "00"
    ),
    0xD17C: "7cd1060001000000000207020301000000000707091001000000",
    0xD21B: "1bd204000100000000020f0000000100020003000400050006000700080009000a000b000c000d000e00",
    0xD220: "20d2060001000000000000000001000000000100000001000000",
    0xD222: "22d2060001000000000000000001000000003075000000000000",
    0xD226: "26d20400010000000002020000000100",
}
#: GetDevicePropValue payloads of the four opaque properties (FUJI.md §11.4).
CAPTURED_VALUES_HEX: dict[int, str] = {
    0x5003: (
        "4c5f342d330000000000000000000000000000000000000000000000333230783238300064000000060000006400"
        "16009416cb010000010013000000ec12cb01050000003c19cb01380000009011cb0103000000681ecb0103000000"
        "c818cb0109000000781ccb010500000034828b010500000049828b011f0000004e828b010300020002003030ffff"
        "ffffffffffffffffffffffffffffff"
    ),
    0xD174: (
        "33323078323830006400000006000000640016009416cb010000010013000000ec12cb01050000003c19cb013800"
        "00009011cb0103000000681ecb0103000000c818cb0109000000781ccb010500000034828b010500000049828b01"
        "1f0000004e828b01030002"
    ),
    0xD228: (
        "20302f30000000008f060000000000000000000002000000020702030a000200ffffffff00000000582d54310000"
        "000000000000000000000000000000352e3531"
    ),
    0xD500: (
        "303030302e3030303030302c4e30303030302e3030303030302c4530303030302e30302c4d203030302e302c4b30"
        "3030303a30303a303030303a30303a30302e30303000000000000000000000000000000000000000000000000000"
        "0000000000"
    ),
}
