"""The simulated X-T1: README bytes by construction, consistent sets, refusals, init steps, capture, names."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import FUJI_PROTOCOL_VERSION, FujiCodec
from ptpipd.ip.packets import Event
from ptpipd.ptp import DataType, DeviceInfo, DevicePropDesc, ResponseCode, encode_string, encode_value
from ptpipd.sim.fuji_model import AwaitConfirmation, FujiModel, Phase
from ptpipd.sim.responder import Outcome as Answer
from ptpipd.vendors.fuji_codes import (
    PROPERTY_LABELS,
    PROPERTY_TYPES,
    decode_desc_list,
    decode_state_list,
    split_desc_list,
    state_value,
)
from tests.vectors import load_vectors, vector

OK = ResponseCode.OK
NAME = "ptpipd-test"
README_902B = vector("xt1_902B_data").container_payload
README_D212 = vector("xt1_D212_data_readme").container_payload
#: Every property of FUJI.md §11.1 (0xD212 is the list itself).
SECTION_11_1 = (
    0x5001, 0x5003, 0x5005, 0x5007, 0x500A, 0x500C, 0x500D, 0x500E, 0x5010, 0x5012, 0xD001, 0xD018,
    0xD019, 0xD01D, 0xD028, 0xD02A, 0xD02B, 0xD170, 0xD174, 0xD17C, 0xD209, 0xD21B, 0xD220, 0xD222,
    0xD226, 0xD227, 0xD228, 0xD229, 0xD22A, 0xD240, 0xD241, 0xD242, 0xD500, 0xDF00, 0xD400, 0xD401,
    0xD52F, 0xDF01, 0xDF21, 0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF31,
)  # fmt: skip


def answer(result: Answer | AwaitConfirmation) -> Answer:
    assert isinstance(result, Answer), result
    return result


def code_of(result: Answer | AwaitConfirmation) -> int:
    return answer(result).code


def small_preview(shot: int) -> bytes:
    return b"\xff\xd8" + bytes([shot]) * 1000 + b"\xff\xd9"


class Session:
    """Runs operations against a model with increasing TIDs, starting at 1 like malc0mn."""

    def __init__(self, model: FujiModel) -> None:
        self.model = model
        self.tid = 0

    def __call__(self, code: int, *params: int, data: bytes | None = None) -> Answer | AwaitConfirmation:
        self.tid += 1
        return self.model.handle(code, self.tid, params, data)

    def set(self, code: int, data: bytes) -> Answer | AwaitConfirmation:
        return self(0x1016, code, data=data)

    def init(self) -> None:
        """FUJI.md §4 for a trusted client, 0x902B included."""
        assert self.model.accept_connection(NAME) is None
        assert code_of(self(0x1002, 1)) == OK
        assert code_of(self.set(0xDF01, b"\x05\x00")) == OK
        version = answer(self(0x1015, 0xDF24)).data
        assert version == bytes.fromhex("01000200")
        assert code_of(self.set(0xDF24, version)) == OK
        assert code_of(self(0x902B)) == OK
        assert code_of(self(0x101C, 0, 0)) == OK


@pytest.fixture
def model() -> FujiModel:
    return FujiModel(known_client=NAME, preview=small_preview)


@pytest.fixture
def remote(model: FujiModel) -> Session:
    s = Session(model)
    s.init()
    return s


# ------------------------------------------------------------------------------------------------ README bytes


def test_default_payloads_are_the_readme_captures(model: FujiModel) -> None:
    assert model.properties.payload_902b() == README_902B
    assert model.properties.payload_d212() == README_D212


def test_the_answers_carry_the_readme_payloads(remote: Session) -> None:
    assert answer(remote(0x902B)).data == README_902B
    assert answer(remote(0x1015, 0xD212)).data == README_D212


def d02a_offsets() -> tuple[int, int]:
    """Where the ISO current value sits in the README's 0x902B payload and in its 0xD212 payload."""
    offset = 4
    for raw in split_desc_list(README_902B):
        if raw[:2] == b"\x2a\xd0":
            in_list = offset + 4 + 5 + 4  # size field, code/type/GetSet, factory default
            break
        offset += 4 + len(raw)
    codes = [item.code for item in decode_state_list(README_D212)]
    in_state = 2 + 6 * codes.index(0xD02A) + 2
    return in_list, in_state


def changed(before: bytes, after: bytes) -> list[int]:
    assert len(before) == len(after)
    return [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]


def test_setting_iso_800_changes_both_lists_at_the_iso_bytes_only(remote: Session) -> None:
    model = remote.model
    assert code_of(remote.set(0xD02A, encode_value(DataType.UINT32, 800))) == OK
    after_list, after_state = model.properties.payload_902b(), model.properties.payload_d212()
    in_list, in_state = d02a_offsets()
    assert set(changed(README_902B, after_list)) <= set(range(in_list, in_list + 4))
    assert set(changed(README_D212, after_state)) <= set(range(in_state, in_state + 4))
    assert (
        after_list[in_list : in_list + 4] == after_state[in_state : in_state + 4] == bytes.fromhex("20030000")
    )
    iso = next(d for d in decode_desc_list(after_list) if d.code == 0xD02A)
    assert iso.current == 800 and PROPERTY_LABELS[0xD02A].label(iso.current) == "800"
    state = {i.code: i.value for i in decode_state_list(after_state)}
    assert state[0xD02A] == 800
    assert answer(remote(0x1015, 0xD02A)).data == encode_value(DataType.UINT32, 800)
    assert answer(remote(0x1014, 0xD02A)).data == iso.encode()


def test_exposure_bias_is_int16_in_the_list_and_the_low_half_in_the_state(remote: Session) -> None:
    assert code_of(remote.set(0x5010, encode_value(DataType.INT16, -333))) == OK
    state = {i.code: i.value for i in decode_state_list(remote.model.properties.payload_d212())}
    assert state[0x5010] == 0xFEB3  # b3 fe 00 00, as in the docs capture
    assert state_value(DataType.INT16, state[0x5010]) == -333
    bias = next(d for d in decode_desc_list(remote.model.properties.payload_902b()) if d.code == 0x5010)
    assert bias.current == -333


def test_flash_mode_keeps_the_captures_disagreement_until_it_is_set(remote: Session) -> None:
    model = remote.model
    flash = next(d for d in decode_desc_list(model.properties.payload_902b()) if d.code == 0x500C)
    state = {i.code: i.value for i in decode_state_list(model.properties.payload_d212())}
    assert (flash.current, state[0x500C]) == (0x8009, 0x800A)
    assert code_of(remote.set(0x500C, b"\x09\x80")) == OK
    flash = next(d for d in decode_desc_list(model.properties.payload_902b()) if d.code == 0x500C)
    state = {i.code: i.value for i in decode_state_list(model.properties.payload_d212())}
    assert flash.current == state[0x500C] == 0x8009


# ------------------------------------------------------------------------------------------------ properties


def test_describe_before_0x902b_returns_the_captures_as_they_are(model: FujiModel) -> None:
    s = Session(model)
    s(0x1002, 1)
    for v in load_vectors("fuji_properties.json"):
        if v.name.startswith("xt1_GetDevicePropDesc_"):
            code = int(v.name.split("_")[2], 16)
            assert answer(s(0x1014, code)).data == v.container_payload, v.name
    battery = DevicePropDesc.decode(answer(s(0x1014, 0x5001)).data or b"")
    assert battery.current == 0  # incomplete before 0x902B, as malc0mn saw
    s(0x902B)
    battery = DevicePropDesc.decode(answer(s(0x1014, 0x5001)).data or b"")
    assert battery.current == 3


def test_every_section_11_property_is_described(remote: Session) -> None:
    opaque = {0x5003: "xt1_GetDevicePropDesc_5003_data", 0xD174: "xt1_GetDevicePropDesc_D174_data"}
    for code in SECTION_11_1:
        reply = answer(remote(0x1014, code))
        assert reply.code == OK
        if code == 0xD228:
            assert reply.data is None  # undescribable blob: OK without data (FUJI.md §6.3)
        elif code in opaque:
            assert reply.data == vector(opaque[code]).container_payload
        else:
            desc = DevicePropDesc.decode(reply.data or b"")
            assert desc.code == code
            if code in PROPERTY_TYPES:
                assert desc.datatype == PROPERTY_TYPES[code]


def test_values_at_their_natural_sizes(remote: Session) -> None:
    sizes = {0x5001: 1, 0x5005: 2, 0x5010: 2, 0xD02A: 4, 0xD17C: 4, 0xD241: 2, 0xDF24: 4, 0xD229: 4}
    for code, size in sizes.items():
        data = answer(remote(0x1015, code)).data
        assert data is not None and len(data) == size, hex(code)
    assert answer(remote(0x1015, 0xD240)).data == vector("xt1_GetDevicePropValue_D240_data").container_payload
    for code in (0x5003, 0xD174, 0xD228, 0xD500):
        data = answer(remote(0x1015, code)).data
        assert data == vector(f"xt1_GetDevicePropValue_{code:04X}_data").container_payload


def test_unknown_property_answers(remote: Session) -> None:
    assert answer(remote(0x1014, 0xD999)) == Answer(OK)  # no data, no error (FUJI.md §6.3)
    assert code_of(remote(0x1015, 0xD999)) == ResponseCode.DevicePropNotSupported


@pytest.mark.parametrize(
    ("code", "data", "expected"),
    [
        (0xD999, b"\x01\x00", ResponseCode.DevicePropNotSupported),
        (0x5001, b"\x02", ResponseCode.AccessDenied),
        (0xD229, b"\x00\x00\x00\x00", ResponseCode.AccessDenied),
        (0xD212, b"\x00\x00", ResponseCode.AccessDenied),
        (0x5005, b"\x03\x00", ResponseCode.InvalidDevicePropValue),  # not in the enumeration
        (0xD02A, encode_value(DataType.UINT32, 0x80003200), ResponseCode.InvalidDevicePropValue),
        (0xD17C, encode_value(DataType.UINT32, 0x20000000), ResponseCode.InvalidDevicePropValue),  # past max
        (0x5005, b"\x02", ResponseCode.InvalidDevicePropFormat),  # one byte of a UINT16
        (0x5003, b"L_3-2", ResponseCode.InvalidDevicePropFormat),  # opaque blob
        (0xDF24, encode_value(DataType.UINT32, 0x00010000), ResponseCode.InvalidDevicePropValue),
    ],
)
def test_set_refusals(remote: Session, code: int, data: bytes, expected: int) -> None:
    before = (remote.model.properties.payload_902b(), remote.model.properties.payload_d212())
    assert code_of(remote.set(code, data)) == expected
    assert (remote.model.properties.payload_902b(), remote.model.properties.payload_d212()) == before


def test_extra_data_bytes_are_ignored(remote: Session) -> None:
    # malc0mn sends every value as u32 + 16 zero bytes; the X-T1 took the first bytes (FUJI.md §6.2).
    assert code_of(remote.set(0x5005, struct.pack("<I", 4) + bytes(16))) == OK
    assert remote.model.values[0x5005] == 4


def test_geotag_takes_a_ptp_string(remote: Session) -> None:
    text = vector("set_prop_D500_data_ptp_string").container_payload
    assert code_of(remote.set(0xD500, text)) == OK
    assert answer(remote(0x1015, 0xD500)).data == encode_string(str(remote.model.values[0xD500]))
    assert str(remote.model.values[0xD500]).startswith("5229.131848,N")


# ------------------------------------------------------------------------------------------------ init steps


def test_everything_but_device_info_needs_a_session(model: FujiModel) -> None:
    s = Session(model)
    for code in (0x1015, 0x1014, 0x1016, 0x902B, 0x101C, 0x100E, 0x9022, 0x1003):
        assert code_of(s(code, 0xD212)) == ResponseCode.SessionNotOpen
    info = DeviceInfo.decode(answer(s(0x1001)).data or b"")
    assert (info.manufacturer, info.model, info.device_version) == ("FUJIFILM", "X-T1", "5.51")
    assert 0x902B in info.operations_supported and 0xD02A in info.device_properties_supported


def test_steps_are_refused_out_of_order(model: FujiModel) -> None:
    s = Session(model)
    assert model.accept_connection(NAME) is None
    assert code_of(s(0x1002, 0)) == ResponseCode.InvalidParameter
    assert code_of(s(0x1002, 1)) == OK
    assert answer(s(0x1002, 1)) == Answer(ResponseCode.SessionAlreadyOpen, (1,))
    assert code_of(s(0x101C, 0, 0)) == ResponseCode.DeviceBusy
    assert code_of(s.set(0xDF24, bytes.fromhex("01000200"))) == ResponseCode.DeviceBusy
    assert code_of(s.set(0xD02A, encode_value(DataType.UINT32, 800))) == ResponseCode.DeviceBusy
    assert code_of(s.set(0xDF01, b"\x04\x00")) == ResponseCode.InvalidDevicePropValue
    assert code_of(s.set(0xDF01, b"\x05\x00" + bytes(18))) == OK  # malc0mn's 20-byte form
    assert model.phase is Phase.MODE_SET
    assert code_of(s(0x101C, 0, 0)) == ResponseCode.DeviceBusy
    assert code_of(s(0x100E, 0, 0)) == ResponseCode.DeviceBusy
    assert code_of(s.set(0xDF24, bytes.fromhex("02000200"))) == OK  # the app's 0x00020002 is fine
    assert answer(s(0x1015, 0xDF01)).data == b"\x05\x00"
    assert code_of(s(0x101C, 0, 0)) == OK
    assert model.phase is Phase.REMOTE
    assert code_of(s(0x9999)) == ResponseCode.OperationNotSupported
    assert code_of(s(0x1003)) == OK
    assert model.phase is Phase.CLOSED


# ------------------------------------------------------------------------------------------------ client names


def test_first_name_is_remembered_after_the_prompt() -> None:
    model = FujiModel()
    s = Session(model)
    assert model.accept_connection("first") is None
    s(0x1002, 1)
    pending = s.set(0xDF01, b"\x05\x00")
    assert pending == AwaitConfirmation(2, "first")
    assert model.known_client is None
    assert model.confirm_pairing() == Answer(OK)  # raises RuntimeError unless the prompt is open
    assert model.known_client == "first" and model.phase is Phase.MODE_SET
    model.end_session()
    assert model.accept_connection("second") == ResponseCode.DeviceBusy
    assert model.accept_connection("first") is None
    s(0x1002, 1)
    assert code_of(s.set(0xDF01, b"\x05\x00")) == OK  # no prompt for the known name


def test_refused_prompt_remembers_nothing() -> None:
    model = FujiModel()
    s = Session(model)
    model.accept_connection("first")
    s(0x1002, 1)
    assert isinstance(s.set(0xDF01, b"\x05\x00"), AwaitConfirmation)
    assert model.confirm_pairing(accepted=False) == Answer(ResponseCode.DeviceBusy)
    assert model.known_client is None and model.phase is Phase.SESSION


def test_accept_any_client_and_protocol_version() -> None:
    model = FujiModel(known_client="owner", accept_any_client=True)
    assert model.accept_connection("stranger") is None
    s = Session(model)
    s(0x1002, 1)
    assert code_of(s.set(0xDF01, b"\x05\x00")) == OK
    assert model.known_client == "owner"
    assert model.accept_connection("owner", version=0x00010000) == ResponseCode.InvalidParameter
    assert model.accept_connection("owner", version=FUJI_PROTOCOL_VERSION) is None


# ------------------------------------------------------------------------------------------------ capture


def event_bytes(event: Answer, index: int) -> bytes:
    e = event.events[index]
    return FujiCodec(Role.RESPONDER, containers=True).encode(Event(e.code, e.transaction_id, e.params))


def test_capture_events_have_the_captured_shape() -> None:
    model = FujiModel(known_client=NAME, preview=lambda shot: b"\xff\xd8" + bytes(0xF129 - 4) + b"\xff\xd9")
    s = Session(model)
    s.init()
    s.tid = 5  # malc0mn's capture is TID 6 (its init has no 0x902B, ours took TID 5)
    shot = answer(s(0x100E, 0, 0))
    assert shot.code == OK and shot.data is None
    assert event_bytes(shot, 0) == vector("event_C004_object_added").data
    assert event_bytes(shot, 1) == vector("event_C001_preview_available").data
    preview = answer(s(0x9022))
    assert preview.code == OK and preview.data is not None and len(preview.data) == 0xF129
    assert event_bytes(preview, 0) == vector("event_400D_capture_complete").data


def test_capture_waits_for_the_preview_to_be_read(remote: Session) -> None:
    remaining = remote.model.values[0xD229]
    assert isinstance(remaining, int)
    first = answer(remote(0x100E, 0, 0))
    assert [e.code for e in first.events] == [0xC004, 0xC001]
    assert first.events[1].params[2] == len(small_preview(1))
    ignored = answer(remote(0x100E, 0, 0))
    assert ignored == Answer(OK)  # accepted and ignored while the preview waits
    got = answer(remote(0x9022))
    assert got.data == small_preview(1) and [e.code for e in got.events] == [0x400D]
    assert got.events[0].params[:2] == (remote.tid, remote.tid)
    assert code_of(remote(0x9022)) == ResponseCode.GeneralError
    second = answer(remote(0x100E, 0, 0))
    assert second.events[1].params[2] == len(small_preview(2))
    assert remote.model.values[0xD229] == remaining - 2
    state = {i.code: i.value for i in decode_state_list(remote.model.properties.payload_d212())}
    assert state[0xD229] == remaining - 2


def test_session_end_drops_the_preview(remote: Session) -> None:
    remote(0x100E, 0, 0)
    remote.model.end_session()
    assert remote.model.preview is None and remote.model.phase is Phase.CLOSED


def test_default_preview_is_an_80_kb_vga_jpeg() -> None:
    model = FujiModel(known_client=NAME)
    s = Session(model)
    s.init()
    s(0x100E, 0, 0)
    jpeg = answer(s(0x9022)).data or b""
    assert 72_000 <= len(jpeg) <= 88_000
    image = Image.open(io.BytesIO(jpeg))
    assert (image.format, image.size) == ("JPEG", (640, 480))


# ------------------------------------------------------------------------------------------------ Fuji ops


def test_focus_point_and_lock(remote: Session) -> None:
    assert code_of(remote(0x9026, 0x03020305)) == OK
    assert remote.model.values[0xD17C] == 0x03020305 and remote.model.values[0xD209] == 1
    assert PROPERTY_LABELS[0xD17C].label(0x03020305) == "3x5"
    assert code_of(remote(0x9027)) == OK
    assert remote.model.values[0xD209] == 0
    assert code_of(remote(0x9026, 0x7FFFFFFF)) == ResponseCode.InvalidParameter


def test_stepping_exposure_bias_and_aperture(remote: Session) -> None:
    assert code_of(remote(0x902E, 1)) == OK
    assert remote.model.values[0x5010] == 333
    assert code_of(remote(0x902E, 0)) == OK and code_of(remote(0x902E, 0)) == OK
    assert remote.model.values[0x5010] == -333
    assert code_of(remote.set(0x5007, encode_value(DataType.UINT16, 530))) == OK
    assert code_of(remote(0x902D, 1)) == OK
    assert remote.model.values[0x5007] == 710
    assert code_of(remote(0x902C, 1)) == OK


def test_movie_start_and_stop(remote: Session) -> None:
    assert code_of(remote(0x9020, 0, 0)) == OK
    started = remote.tid
    assert code_of(remote(0x9021, started + 5)) == ResponseCode.InvalidParameter
    assert code_of(remote(0x9021, started)) == OK
    assert code_of(remote.set(0xD019, b"\x00\x00")) == OK
    assert code_of(remote(0x9020, 0, 0)) == ResponseCode.DeviceBusy
