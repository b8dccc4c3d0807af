"""The seed tool's words (ptpipd/vendors/legacy_labels.py and the vendors' *_legacy_labels.py), value by value
where SEED-OUTPUT.md does not show them."""

from __future__ import annotations

import pytest

from ptpipd.vendors.legacy_labels import STANDARD, exposure_bias, f_number, legacy_labels, response_text


def test_each_vendor_gets_its_words() -> None:
    fuji, generic = legacy_labels("fuji"), legacy_labels("generic")
    assert generic is STANDARD and legacy_labels("no-such-vendor") is STANDARD
    assert (fuji.name(0xD02A), generic.name(0xD02A)) == ("ISO", "")  # a vendor code means nothing elsewhere
    assert fuji.name(0x5012) == generic.name(0x5012) == "capture delay"
    assert (fuji.label(0x500C, 0x8009), generic.label(0x500C, 0x8009)) == ("disabled", "")
    assert fuji.label(0x500C, 2) == generic.label(0x500C, 2) == "off"  # Fuji falls back to the standard table
    assert (fuji.label(0x500A, 2), generic.label(0x500A, 2)) == ("", "automatic")  # ... except for focus mode
    assert fuji.label(0x5005, 0x800B) == "temprerature"  # the seed's spelling
    assert generic.label(0x500F, 400) == "" and generic.label(0x5011, "20240601T120000") == ""


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0xFFFFFFFF, "auto"),
        (0x80001900, "S6400"),
        (0x40000064, "L100"),
        (0x4000C800, "H51200"),
        (0x320, "800"),
    ],
)
def test_fuji_iso(value: int, label: str) -> None:
    assert legacy_labels("fuji").label(0xD02A, value) == label


def test_fuji_focus_point_and_battery() -> None:
    fuji = legacy_labels("fuji")
    assert fuji.label(0xD17C, 0x03020404) == "4x4" and fuji.label(0xD17C, 0x03020602) == "6x2"
    assert [fuji.label(0x5001, v) for v in (1, 3, 6, 11, 0)] == ["1/3", "3/3", "critical", "5/5", ""]


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "0"),
        (333, "1/3"),
        (-333, "-1/3"),
        (667, "2/3"),
        (1000, "1"),
        (-1333, "-1 1/3"),
        (2667, "2 2/3"),
        (0xFEB3, "-1/3"),
    ],
)
def test_exposure_bias(value: int, label: str) -> None:
    assert exposure_bias(value) == label


def test_f_number_in_float32_as_the_seed() -> None:
    assert [f_number(v) for v in (560, 280, 1100, 0xFFFF)] == ["f/5.6", "f/2.8", "f/11.0", "automatic"]
    assert f_number(145) == "f/1.5"  # float32(1.45) rounds up; a float64 would print f/1.4


def test_response_texts() -> None:
    assert response_text(0x200A) == "device property not supported"
    assert response_text(0x2006) == "paramter not supported"  # sic, as the seed printed it
    assert response_text(0xA001) == "unknown operation response code: 0xa001"


def test_fuji_tables_shared_with_ours_say_what_the_seed_said() -> None:
    fuji = legacy_labels("fuji")
    assert [fuji.label(0xD001, v) for v in (1, 11, 13, 16)] == [
        "PROVIA",
        "Classic Chrome",
        "ACROS Ye",
        "ETERNA",
    ]
    assert [fuji.label(0xD241, v) for v in (2, 10, 12)] == ["S 3:2", "L 3:2", "L 1:1"]
    assert [fuji.label(0xD028, v) for v in (0, 3)] == ["both", "none"]
    assert [fuji.label(c, 0) for c in (0xD209, 0xD21B)] == ["off", "none"]
    # flash: the standard modes, then Fuji's own with the seed's spaces (malc0mn fmt/string_fuji.go)
    assert [fuji.label(0x500C, v) for v in (1, 0x8001, 0x8002, 0x8005, 0x800A)] == [
        "auto flash",
        "on",
        "red eye",
        "red eye rear",
        "enabled",
    ]
