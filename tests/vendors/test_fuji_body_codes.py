"""The later Fuji bodies' records against the fudge test-suite logs (``tests/data/fuji``): every events list
and version answer decodes to what the log printed and re-encodes byte for byte, the byte counts the logs
give fit our container codec, the body profiles say what the logs say, and malformed input is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ip.fuji import Container, ContainerKind, encode_container, encode_init_command_request
from ptpipd.ptp import DecodeError, EncodeError, ObjectFormat, ObjectInfo
from ptpipd.vendors.fuji_body_codes import (
    BODIES,
    DEFAULT_BODY,
    DEVICE_INFO,
    LATER_SETUP,
    MAX_OBJECT_COUNT,
    MAX_PARTIAL_OBJECT,
    NO_REMOTE_MODE,
    PLACEHOLDER_SIZE,
    WRONG_MODE,
    XT1_SETUP,
    BodyProperty,
    CameraState,
    ChangeJournal,
    EventsList,
    EventsMode,
    body,
    decode_version,
    explain_camera_state,
    orientation_keywords,
    partial_requests,
    reported_size,
    synthetic_handles,
    version_text,
)
from ptpipd.vendors.fuji_codes import StateItem

DATA = Path(__file__).parent.parent / "data" / "fuji"


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return doc


EVENTS = {v["name"]: v for v in load("events_lists.json")["vectors"]}
VERSIONS = load("versions.json")["vectors"]
TRANSACTIONS = load("transactions.json")
BODY_KEYS = {"X-T2": "x-t2", "X-T4": "x-t4", "X-T5": "x-t5"}


def payload(v: dict[str, Any]) -> bytes:
    return bytes.fromhex(v["hex"])


def entries(v: dict[str, Any]) -> list[tuple[int, int]]:
    return [(int(e["code"], 16), int(e["value"], 16)) for e in v["meaning"]["Entries (u16 code, u32 value)"]]


def reply_size(data: int | None, response_params: int) -> int:
    """What an initiator reads for one transaction, from our codec: data container (if any) + response."""
    size = len(
        encode_container(Container.with_params(ContainerKind.Response, 0x2001, 7, (0,) * response_params))
    )
    if data is not None:
        size += len(encode_container(Container(ContainerKind.Data, 0x1015, 7, bytes(data))))
    return size


# ------------------------------------------------------------------------------------------------ events


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_events_list_decodes_to_the_logged_entries_and_back(name: str) -> None:
    v = EVENTS[name]
    decoded = EventsList.decode(payload(v))
    assert [(e.code, e.value) for e in decoded.entries] == entries(v)
    assert len(decoded.entries) == v["meaning"]["Count (u16)"]
    assert decoded.encode() == payload(v)
    assert EventsList.of(entries(v)).encode() == payload(v)


@pytest.mark.parametrize("name", sorted(n for n, v in EVENTS.items() if "bytes_read" in v))
def test_events_list_transaction_size_matches_the_log(name: str) -> None:
    v = EVENTS[name]
    assert reply_size(len(payload(v)), 0) == v["bytes_read"]


def test_the_literal_x_t2_dump_reads_as_the_log_lines_above_it() -> None:
    # line 27 is printed bytes, lines 19-25 the logger's own decode of them
    listed = EventsList.decode(payload(EVENTS["xt2_events_after_open_session"]))
    assert listed.camera_state == CameraState.REMOTE_ACCESS
    assert listed.value(BodyProperty.ObjectCount) == 123
    assert listed.value(BodyProperty.ObjectCount2) == 123
    assert listed.value(0x5001) is None


def test_events_list_refuses_malformed_payloads() -> None:
    good = payload(EVENTS["xt4_events_after_client_state_11"])
    for bad in (b"", b"\x01", good[:-1], good + b"\x00", b"\xff\xff" + bytes(6)):
        with pytest.raises(DecodeError):
            EventsList.decode(bad)
    with pytest.raises(EncodeError):
        EventsList.of([(0x1_0000, 0)]).encode()


def test_the_last_entry_of_a_code_wins() -> None:
    listed = EventsList.of([(0xDF00, 0), (0xDF00, 6)])
    assert listed.camera_state == 6
    assert listed.latest() == {0xDF00: 6}


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF)), max_size=40))
def test_events_list_round_trips(pairs: list[tuple[int, int]]) -> None:
    encoded = EventsList.of(pairs).encode()
    assert EventsList.decode(encoded).entries == tuple(StateItem(c, v) for c, v in pairs)


def test_change_journal_replays_the_x_t4_log() -> None:
    journal = ChangeJournal()
    for code, value in entries(EVENTS["xt4_events_after_open_session"]):
        journal.set(code, value)
    assert journal.poll().encode() == payload(EVENTS["xt4_events_after_open_session"])
    assert journal.poll().encode() == payload(EVENTS["xt4_events_none"])  # 00 00: nothing changed
    state = entries(EVENTS["xt4_events_after_open_capture"])
    for code, value in state:
        journal.set(code, value)
    journal.poll()
    journal.announce(code for code, _ in state)  # the whole state again after InitiateOpenCapture
    assert journal.poll().encode() == payload(EVENTS["xt4_events_after_open_capture"])
    journal.set(BodyProperty.CameraState, CameraState.REMOTE_IMAGE_VIEW)
    journal.set(BodyProperty.CameraState, CameraState.REMOTE_IMAGE_VIEW)  # no change, no second entry
    journal.announce([BodyProperty.ObjectCount])
    assert journal.poll().encode() == payload(EVENTS["xt4_events_after_client_state_11"])


def test_change_journal_refuses_what_the_list_cannot_carry() -> None:
    journal = ChangeJournal()
    with pytest.raises(EncodeError):
        journal.set(0xD212, 1 << 32)
    with pytest.raises(KeyError, match="0xD222"):
        journal.announce([0xD222])


# ------------------------------------------------------------------------------------------------ versions


@pytest.mark.parametrize("v", VERSIONS, ids=lambda v: v["name"])
def test_version_answer_decodes_and_encodes(v: dict[str, Any]) -> None:
    data = payload(v)
    if v["meaning"]["size"] == 2:  # 0xDF00/0xDF01 are u16 state properties, not versions
        assert int.from_bytes(data, "little") == int(v["meaning"]["value"], 16)
        return
    value = decode_version(data)
    expected = v["meaning"]["value"]
    assert value == (None if expected is None else int(expected, 16))
    if "bytes_read" in v:
        assert reply_size(len(data), 0) == v["bytes_read"]


def test_remote_versions_of_the_logged_bodies() -> None:
    found = {v["body"]: decode_version(payload(v)) for v in VERSIONS if v["property"].startswith("0xDF24")}
    assert found == {"X-T2": 0x0002_0004, "X-T20": 0x0002_0004, "X-T4": 0x0002_000A, "X-T5": 0x0002_000B}
    assert version_text(0x0002_000A) == "2.10"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_version_answer_of_another_size_is_refused(size: int) -> None:
    with pytest.raises(DecodeError, match=f"{size} bytes"):
        decode_version(bytes(size))


# ------------------------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("t", TRANSACTIONS["vectors"], ids=lambda t: t["name"])
def test_logged_byte_counts_fit_the_container_codec(t: dict[str, Any]) -> None:
    if "opcode" in t and "bytes_sent" in t:
        command = Container.with_params(
            ContainerKind.Command, int(t["opcode"], 16), 7, (0,) * t["request_params"]
        )
        assert len(encode_container(command)) == t["bytes_sent"]
    if "data_out_payload_length" in t:
        data = Container(ContainerKind.Data, int(t["opcode"], 16), 7, bytes(t["data_out_payload_length"]))
        assert len(encode_container(data)) == t["data_out_bytes_sent"]
    if "bytes_read" in t:
        assert reply_size(t["data_payload_length"], t["response_params"]) == t["bytes_read"]
    if t["name"] == "x5_init_request":
        assert len(encode_init_command_request(bytes(16), "fuji_test", fixed_length=True)) == t["bytes_sent"]


def test_the_x_t4_object_info_is_the_standard_dataset() -> None:
    o = TRANSACTIONS["object_info"]
    f = o["fields"]
    info = ObjectInfo(
        f["storage_id"],
        f["object_format"],
        f["protection_status"],
        f["compressed_size"],
        ObjectFormat.EXIF_JPEG,
        0,
        0,
        0,
        f["image_width"],
        f["image_height"],
        0,
        f["parent_object"],
        0,
        0,
        0,
        f["filename"],
        f["capture_date"],
        f["modification_date"],
        f["keywords"],
    )
    assert len(info.encode()) == o["payload_length"]
    assert orientation_keywords(1) == f["keywords"]
    assert BODIES["x-t4"].storage_ids == (f["storage_id"],)


def test_orientation_keywords_bounds() -> None:
    with pytest.raises(EncodeError):
        orientation_keywords(9)


def test_partial_requests_cover_the_object_in_gphoto2s_pieces() -> None:
    # gphoto2 2.5.30 fetching a 3 MiB + 4 byte file from a simulated newer body (BODIES.md §3)
    assert list(partial_requests(3 * 1024 * 1024 + 4)) == [
        (0, 0x100000),
        (0x100000, 0x100000),
        (0x200000, 0x100000),
        (0x300000, 4),
    ]
    assert list(partial_requests(0)) == []
    assert list(partial_requests(16384, 0x4000)) == [(0, 16384)]  # the X-T4 log's EXIF read


@pytest.mark.parametrize(("size", "piece"), [(-1, 1), (1 << 32, 1), (10, 0), (10, MAX_PARTIAL_OBJECT + 1)])
def test_partial_requests_refuse_what_u32_offsets_cannot_say(size: int, piece: int) -> None:
    with pytest.raises(EncodeError):
        list(partial_requests(size, piece))


def test_reported_size_hides_the_real_size_until_the_flag_is_set() -> None:
    assert reported_size(3_000_000, correct_size=False) == PLACEHOLDER_SIZE
    assert reported_size(3_000_000, correct_size=True) == 3_000_000
    with pytest.raises(EncodeError):
        reported_size(1 << 32, correct_size=True)


def test_synthetic_handles() -> None:
    assert list(synthetic_handles(3)) == [1, 2, 3]
    assert list(synthetic_handles(0)) == []
    with pytest.raises(DecodeError):
        synthetic_handles(MAX_OBJECT_COUNT + 1)


# ------------------------------------------------------------------------------------------------ bodies


@pytest.mark.parametrize("v", [v for v in VERSIONS if v["body"] in BODY_KEYS], ids=lambda v: v["name"])
def test_profiles_report_the_logged_versions(v: dict[str, Any]) -> None:
    profile = BODIES[BODY_KEYS[v["body"]]]
    code = int(v["property"][:6], 16)
    if code in (BodyProperty.CameraState, BodyProperty.ClientState):
        return
    assert decode_version(payload(v)) == profile.version(code)


@pytest.mark.parametrize(
    ("key", "first", "remote"),
    [
        ("x-t2", "xt2_events_after_open_session", None),
        ("x-t4", "xt4_events_after_open_session", "xt4_events_after_open_capture"),
        ("x-t5", "x5_events_after_open_session", "x5_events_after_open_capture"),
    ],
)
def test_profiles_report_the_logged_events(key: str, first: str, remote: str | None) -> None:
    profile = BODIES[key]
    assert EventsList.of(profile.access_events).encode() == payload(EVENTS[first])
    if remote is not None:
        assert EventsList.of(profile.remote_state).encode() == payload(EVENTS[remote])
    assert profile.object_count == EventsList.decode(payload(EVENTS[first])).value(BodyProperty.ObjectCount)


def test_profiles_at_a_glance() -> None:
    assert DEFAULT_BODY == "x-t1"
    assert set(BODIES) == {"x-t1", "x-t2", "x-t4", "x-t5", "x-s10"}
    xt1 = BODIES["x-t1"]
    assert (xt1.remote_version, xt1.events, xt1.full_size, xt1.setup) == (
        0x0002_0001,
        EventsMode.STATE,
        False,
        XT1_SETUP,
    )
    for key in ("x-t2", "x-t4", "x-t5", "x-s10"):
        later = BODIES[key]
        assert (later.events, later.setup, later.full_size) == (EventsMode.CHANGES, LATER_SETUP, True)
        assert later.remote_version is not None and later.remote_version > xt1.remote_version
        assert later.access_events[0] == (BodyProperty.CameraState, CameraState.REMOTE_ACCESS)
    assert not BODIES["x-t2"].thumb_needs_object_info and BODIES["x-t4"].thumb_needs_object_info
    assert BODIES["x-s10"].remote_version_written == 0x0002_000B
    assert BODIES["x-t2"].storage_ids == ()  # the X-T2 log: "No storage devices found!"
    assert body("X-T4") is body("xt4") is BODIES["x-t4"]
    with pytest.raises(KeyError, match="x-t1, x-t2"):
        body("x-h2")
    with pytest.raises(KeyError):
        BODIES["x-t1"].version(0xD212)


# ------------------------------------------------------------------------------------------------ messages


def test_stalled_step_sentence_names_the_step() -> None:
    assert DEVICE_INFO.stalled(5) == "the camera did not answer 0x1001 GetDeviceInfo within 5 s"
    assert len({step.key for step in LATER_SETUP}) == len(set(LATER_SETUP))


def test_explain_camera_state() -> None:
    assert explain_camera_state(CameraState.REMOTE_ACCESS, None) == NO_REMOTE_MODE
    for state in (CameraState.MULTIPLE_TRANSFER, CameraState.FULL_ACCESS, CameraState.PC_AUTO_SAVE):
        assert explain_camera_state(state, 0x0002_000A) == WRONG_MODE[state]
    for ok in (None, CameraState.WAIT_FOR_ACCESS, CameraState.REMOTE_ACCESS, CameraState.REMOTE_IMAGE_VIEW):
        assert explain_camera_state(ok, 0x0002_000A) is None
