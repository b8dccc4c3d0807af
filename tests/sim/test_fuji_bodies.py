"""The simulated later Fuji bodies (X-T2, X-T4, X-T5, X-S10) against the logs of real ones, and the switches.

Expected bytes come from ``tests/data/fuji/*.json`` (petabyt/fudge ``docs/testsuite/fudge-log-*.txt``,
commit abc57242cb27; each vector names its log line), never from the simulator's own tables: a simulated
body must answer its version properties and its events lists as the real body did. The rest checks the
choices of BODIES.md §9 and the issue-13 switches (:class:`ptpipd.sim.fuji_props.Quirks`) on the model.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from ptpipd.ptp import DataType, ObjectInfo, ResponseCode, decode_uint32_array, encode_value
from ptpipd.sim.fuji_card import PHOTO_BYTES, STORAGE_ID
from ptpipd.sim.fuji_model import AwaitConfirmation, FujiModel, Phase
from ptpipd.sim.fuji_props import Quirks
from ptpipd.sim.responder import Hold, Outcome
from ptpipd.vendors.fuji_body_codes import (
    CAMERA_CONNECT_REMOTE_VERSION,
    MAX_PARTIAL_OBJECT,
    PLACEHOLDER_SIZE,
    PROBE_OBJECT_HANDLE,
    BodyProperty,
    CameraState,
    EventsList,
    body,
    partial_requests,
)

OK = ResponseCode.OK
DATA = Path(__file__).resolve().parents[1] / "data" / "fuji"
NAME = "ptpipd-test"
BODY_OF_LOG = {"X-T2": "x-t2", "X-T4": "x-t4", "X-T5": "x-t5"}


def vectors(name: str) -> dict[str, dict[str, Any]]:
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    return {v["name"]: v for v in doc["vectors"]}


EVENTS = vectors("events_lists.json")
VERSIONS = vectors("versions.json")
TRANSACTIONS = vectors("transactions.json")


def payload(v: dict[str, Any]) -> bytes:
    return bytes.fromhex(v["hex"])


class Session:
    """Operations against a model with increasing TIDs (OpenSession with TID 1, as libfuji)."""

    def __init__(self, model: FujiModel) -> None:
        self.model = model
        self.tid = 0

    def __call__(self, code: int, *params: int, data: bytes | None = None) -> Outcome:
        self.tid += 1
        result = self.model.handle(code, self.tid, params, data)
        assert isinstance(result, Outcome), result
        return result

    def get(self, code: int) -> bytes:
        reply = self(0x1015, code)
        assert reply.code == OK and reply.data is not None, reply
        return bytes(reply.data)

    def set(self, code: int, datatype: DataType, value: int) -> int:
        return self(0x1016, code, data=encode_value(datatype, value)).code

    def open(self) -> None:
        assert self.model.accept_connection(NAME) is None
        assert self(0x1002, 1).code == OK

    def remote(self, version: int = CAMERA_CONNECT_REMOTE_VERSION) -> None:
        """libfuji's order (BODIES.md §2): versions, ClientState 5, events, remote version, 0x902B, open."""
        self.open()
        self.get(0xD212)
        assert self.set(0xDF01, DataType.UINT16, 5) == OK
        assert self.set(0xDF24, DataType.UINT32, version) == OK
        assert self(0x902B).code == OK
        assert self(0x101C, 0, 0).code == OK


def trusted(key: str, quirks: Quirks | None = None) -> Session:
    return Session(
        FujiModel(profile=body(key), quirks=quirks, known_client=NAME, preview=lambda n: b"\xff\xd8")
    )


# ------------------------------------------------------------------------------------------------ the logs


@pytest.mark.parametrize("name", sorted(n for n, v in VERSIONS.items() if v["body"] in BODY_OF_LOG))
def test_version_answers_are_the_logged_ones(name: str) -> None:
    v = VERSIONS[name]
    session = trusted(BODY_OF_LOG[v["body"]])
    session.open()
    code = int(name.rsplit("_", 1)[1], 16)
    assert session.get(code) == payload(v), f"{name}: log line {v['lines']['payload']}"


@pytest.mark.parametrize(
    ("key", "after_open", "after_capture", "quiet"),
    [
        ("x-t2", "xt2_events_after_open_session", None, None),
        ("x-t4", "xt4_events_after_open_session", "xt4_events_after_open_capture", "xt4_events_none"),
        ("x-t5", "x5_events_after_open_session", "x5_events_after_open_capture", "x5_events_none"),
    ],
)
def test_events_lists_are_the_logged_ones(
    key: str, after_open: str, after_capture: str | None, quiet: str | None
) -> None:
    session = trusted(key)
    session.open()
    assert session.get(0xD212) == payload(EVENTS[after_open])
    assert session.get(0xD212) == b"\x00\x00"  # nothing changed since
    assert session.set(0xDF01, DataType.UINT16, 5) == OK
    assert session.set(0xDF24, DataType.UINT32, CAMERA_CONNECT_REMOTE_VERSION) == OK
    assert session(0x101C, 0, 0).code == OK
    listed = session.get(0xD212)
    if after_capture is not None:
        assert listed == payload(EVENTS[after_capture])
    else:  # the X-T2 log stops before; the choice is the X-T4's list without 0xD246
        assert EventsList.decode(listed).value(BodyProperty.BatteryLevel2) is None
    if quiet is not None:
        assert session.get(0xD212) == payload(EVENTS[quiet])


def test_the_probe_and_the_empty_device_info_are_the_logged_ones() -> None:
    session = trusted("x-t4")
    session.open()
    probe = session(
        0x1008, PROBE_OBJECT_HANDLE
    )  # transactions.json xt4_object_info_probe (log-xt4 l. 117-121)
    assert f"0x{probe.code:04X}" == TRANSACTIONS["xt4_object_info_probe"]["response_code"]
    assert session(0x1001).data == b""  # the X-T4 answers GetDeviceInfo with an empty data container


def test_x_t2_reports_no_storage_but_has_its_files() -> None:
    session = trusted("x-t2")
    session.remote()
    ids = session(0x1004)  # transactions.json xt2_storage_ids_none: 4 bytes, a count of 0
    assert ids.data == bytes(TRANSACTIONS["xt2_storage_ids_none"]["data_payload_length"])
    assert decode_uint32_array(session(0x1007, 0xFFFF_FFFF, 0, 0xFFFF_FFFF).data or b"")[0] == ()
    assert session(0x1008, 123).code == OK and session(0x1008, 124).code == ResponseCode.InvalidObjectHandle


def test_object_info_has_the_x_t4_layout_and_the_size_flag() -> None:
    session = trusted("x-t4")
    session.remote()
    raw = session(0x1008, 1).data
    logged = vectors_object_info()
    assert raw is not None and len(raw) == logged["payload_length"]  # 142 bytes, as log-xt4 line 226
    info = ObjectInfo.decode(raw)
    for field in ("storage_id", "parent_object", "object_format", "protection_status", "modification_date",
                  "keywords"):  # fmt: skip
        assert getattr(info, field) == logged["fields"][field], field
    assert info.compressed_size == PLACEHOLDER_SIZE  # 0xD227 is 0
    assert session.set(0xD227, DataType.UINT16, 1) == OK
    real = ObjectInfo.decode(session(0x1008, 1).data or b"").compressed_size
    assert PHOTO_BYTES[0] <= real <= PHOTO_BYTES[1] and real != PLACEHOLDER_SIZE
    assert session.set(0xD227, DataType.UINT16, 0) == OK
    assert ObjectInfo.decode(session(0x1008, 1).data or b"").compressed_size == PLACEHOLDER_SIZE


def vectors_object_info() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "transactions.json").read_text(encoding="utf-8"))
    return dict(doc["object_info"])


# ------------------------------------------------------------------------------------------------ files


def test_partial_pieces_add_up_to_get_object_and_carry_their_length() -> None:
    session = trusted("x-t5")
    session.remote()
    assert decode_uint32_array(session(0x1004).data or b"")[0] == (STORAGE_ID,)
    handles = decode_uint32_array(session(0x1007, STORAGE_ID, 0, 0xFFFF_FFFF).data or b"")[0]
    assert handles == tuple(range(1, 159))  # 0xD222 = 158 in the X-T5's first events list
    assert session.set(0xD227, DataType.UINT16, 1) == OK
    size = ObjectInfo.decode(session(0x1008, 7).data or b"").compressed_size
    pieces = bytearray()
    for offset, length in partial_requests(size):
        reply = session(0x101B, 7, offset, length)
        assert reply.code == OK and reply.params == (length,) and len(reply.data or b"") == length
        pieces += reply.data or b""
    assert len(pieces) == size > MAX_PARTIAL_OBJECT and bytes(pieces) == bytes(session(0x1009, 7).data or b"")
    assert pieces[:2] == b"\xff\xd8" and pieces[-2:] == b"\xff\xd9"


def test_thumb_waits_for_object_info_on_bodies_above_2_6() -> None:
    session = trusted("x-t4")
    session.remote()
    result = session.model.handle(0x100A, 99, (3,))
    assert isinstance(result, Hold) and result.resolve().code == ResponseCode.GeneralError
    session(0x1008, 3)
    thumb = session(0x100A, 3)
    assert thumb.code == OK and (thumb.data or b"")[:2] == b"\xff\xd8"


def test_capture_and_body_shutter_store_files_and_the_list_tells() -> None:
    session = trusted("x-t4")
    session.remote()
    session.get(0xD212)  # the shooting state
    assert session(0x100E, 0, 0).code == OK
    changed = EventsList.decode(session.get(0xD212)).latest()
    assert changed == {0xD229: 906, 0xD222: 45, 0xD401: 45}
    assert session(0x1008, 45).code == OK
    assert session.model.press_shutter() == []  # no event-port traffic: the list tells
    assert EventsList.decode(session.get(0xD212)).latest() == {0xD229: 905, 0xD222: 46, 0xD401: 46}


def test_sets_and_battery_show_in_the_next_list_only() -> None:
    session = trusted("x-t5")
    session.remote()
    session.get(0xD212)
    assert session.set(0xD02A, DataType.UINT32, 800) == OK
    assert session.get(0xD212) == struct.pack("<HHI", 1, 0xD02A, 800)
    assert session.get(0xD212) == b"\x00\x00"
    session.model.drain_battery()  # 60 % -> 59 %: still three bars of five (9)
    assert session.get(0xD212) == b"\x00\x00"
    for _ in range(19):
        session.model.drain_battery()
    assert EventsList.decode(session.get(0xD212)).latest() == {0xD242: 8, 0xD246: 8}


# ------------------------------------------------------------------------------------------------ set-up


def test_the_dialog_holds_client_state_for_a_new_client() -> None:
    model = FujiModel(profile=body("x-s10"))
    session = Session(model)
    session.open()
    pending = model.handle(0x1016, 2, (0xDF01,), b"\x05\x00")
    assert isinstance(pending, AwaitConfirmation)
    # raises RuntimeError unless the prompt is open
    assert model.confirm_pairing().code == OK and model.known_client == NAME
    assert model.phase is Phase.MODE_SET


def test_remote_version_writes() -> None:
    session = trusted("x-s10")
    session.open()
    assert session.set(0xDF01, DataType.UINT16, 5) == OK
    assert session.set(0xDF24, DataType.UINT32, 0x0002_0009) == ResponseCode.InvalidDevicePropValue
    assert session.set(0xDF24, DataType.UINT32, 0x0002_000B) == OK  # what Camera Connect wrote
    assert session.get(0xDF24) == (0x0002_000B).to_bytes(4, "little")


def test_other_client_states_are_taken_without_remote_mode() -> None:
    session = trusted("x-t4")
    session.open()
    assert session.set(0xDF01, DataType.UINT16, 2) == OK  # libfuji's tester wrote 2 (log-xt4 l. 107-110)
    assert session.model.phase is Phase.SESSION
    assert session(0x101C, 0, 0).code == ResponseCode.DeviceBusy


# ------------------------------------------------------------------------------------------------ switches


def test_refuse_desc() -> None:
    session = trusted("x-t1", Quirks(refuse_desc=True))
    session.remote(0x0002_0001)
    assert session(0x1014, 0xD02A).code == ResponseCode.OperationNotSupported
    assert session.get(0xD02A) == (0x8000_1900).to_bytes(4, "little")  # values still answer


@pytest.mark.parametrize("key", ["x-t1", "x-t4"])
def test_empty_value_keeps_the_list_and_the_versions(key: str) -> None:
    session = trusted(key, Quirks(empty_value=True))
    session.open()
    assert session.get(0x5012) == b"" and session.get(0xD02A) == b""
    assert len(session.get(0xDF24)) == 4 and len(session.get(0xDF21)) == 4
    assert len(session.get(0xD212)) > 2


def test_ignore_device_info() -> None:
    model = FujiModel(quirks=Quirks(ignore_device_info=True))
    assert model.ignores(0x1001) and not model.ignores(0x1002)
    assert not FujiModel().ignores(0x1001)


@pytest.mark.parametrize("key", ["x-t1", "x-t4"])
def test_no_remote(key: str) -> None:
    session = trusted(key, Quirks(no_remote=True))
    session.open()
    if key != "x-t1":  # a body without remote mode can at best be browsed
        assert EventsList.decode(session.get(0xD212)).camera_state == CameraState.FULL_ACCESS
    assert session.set(0xDF01, DataType.UINT16, 5) == OK
    assert session.get(0xDF24) == b""
    assert session.set(0xDF24, DataType.UINT32, 0x0002_0001) == ResponseCode.DevicePropNotSupported
    assert session(0x101C, 0, 0).code == ResponseCode.DeviceBusy


def test_wifi_mode_other_than_remote() -> None:
    session = trusted("x-t5", Quirks(camera_state=CameraState.MULTIPLE_TRANSFER))
    session.open()
    assert EventsList.decode(session.get(0xD212)).camera_state == CameraState.MULTIPLE_TRANSFER
    assert session.set(0xDF01, DataType.UINT16, 5) == ResponseCode.DeviceBusy
    assert session(0x101C, 0, 0).code == ResponseCode.DeviceBusy


def test_the_dial_turned_on_a_later_body_shows_in_its_list() -> None:
    session = trusted("x-t5")
    session.remote()
    session.get(0xD212)
    session.model.turn_dial()  # -2/3 (0xFD65 in the X-T5's list) → -1/3
    assert session.get(0xD212) == struct.pack("<HHI", 1, 0x5010, 0xFEB3)
    xt1 = trusted("x-t1")
    xt1.remote(0x0002_0001)
    before = xt1.get(0xD212)
    xt1.model.turn_dial()
    assert xt1.get(0xD212) == before
