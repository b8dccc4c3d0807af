"""Labels of standard property values, both ways, from values a camera really uses."""

import pytest

from ptpipd.vendors.generic import STANDARD_PROPERTIES
from ptpipd.vendors.labels import (
    Enum,
    ExposureBias,
    ExposureTime,
    FNumber,
    Iso,
    Milliseconds,
    Plain,
    normalize,
)

SPECS = {s.name: s for s in STANDARD_PROPERTIES}


@pytest.mark.parametrize(
    ("value", "label"),
    [(560, "f/5.6"), (280, "f/2.8"), (1100, "f/11"), (800, "f/8"), (350, "f/3.5"), (2200, "f/22")],
)
def test_fnumber(value: int, label: str) -> None:
    labels = FNumber()
    assert labels.label(value) == label
    assert labels.parse(label) == value
    assert labels.parse(label.upper().replace("/", "")) == value  # "F5.6"


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (40, "1/250"),
        (5, "1/2000"),
        (80, "1/125"),
        (333, "1/30"),
        (5000, "1/2"),
        (10000, "1s"),
        (300000, "30s"),
    ],
)
def test_exposure_time(value: int, label: str) -> None:
    labels = ExposureTime()
    assert labels.label(value) == label
    assert labels.parse(label) == value


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (333, "+1/3"),
        (667, "+2/3"),
        (0, "0"),
        (-333, "-1/3"),
        (1000, "+1"),
        (1333, "+1 1/3"),
        (-2667, "-2 2/3"),
        (3000, "+3"),
        (-1500, "-1.5"),
    ],
)
def test_exposure_bias(value: int, label: str) -> None:
    labels = ExposureBias()
    assert labels.label(value) == label
    assert labels.parse(label) == value


def test_exposure_bias_parses_loose_forms() -> None:
    labels = ExposureBias()
    assert labels.parse("1/3") == 333
    assert labels.parse("+4/3") == 1333
    assert labels.parse("-1 1/3 EV") == -1333
    assert labels.parse("0.5") == 500
    assert labels.parse("1 1/2") == 1500 and labels.parse("- 1/3") == -333 and labels.parse("±0") == 0
    assert labels.parse("0.3") is None  # not a third: the snapping to the camera's list reads it (values)
    assert labels.parse("daylight") is None


def test_iso_and_auto() -> None:
    labels = Iso({0xFFFF: "auto"})
    assert labels.label(800) == "800"
    assert labels.label(0xFFFF) == "auto"
    assert labels.parse("AUTO") == 0xFFFF
    assert labels.parse("ISO 800") == 800
    assert labels.parse("f/8") is None


def test_enum_labels_ignore_case_spaces_and_underscores() -> None:
    labels = Enum({1: "red-eye-auto", 4: "daylight"}, {"sun": 4})
    assert labels.parse("RED_EYE-AUTO") == 1
    assert labels.parse("red eye-auto") is None  # spaces vanish: "redeye-auto" is another word
    assert labels.parse("Daylight") == 4
    assert labels.parse("sun") == 4
    assert labels.label(0x8001) == "0x8001"
    assert normalize("S 6400") == normalize("s6400")


def test_standard_whitebalance_table() -> None:
    wb = SPECS["whitebalance"]
    assert wb.code == 0x5005
    assert wb.labels.label(4) == "daylight"
    assert wb.labels.parse("automatic") == 2


def test_delay_and_battery() -> None:
    assert Milliseconds().label(0) == "off"
    assert Milliseconds().label(2000) == "2s"
    assert Milliseconds().parse("10s") == 10000
    assert Plain("%").label(87) == "87%"
    assert Plain("%").parse("87 %") == 87


def test_seed_unified_names_map_to_standard_codes() -> None:
    expected = {
        "delay": 0x5012,
        "effect": 0x5017,
        "exposure": 0x500D,
        "exp-bias": 0x5010,
        "flashmode": 0x500C,
        "focusmtr": 0x501C,
        "iso": 0x500F,
        "whitebalance": 0x5005,
    }
    assert {name: SPECS[name].code for name in expected} == expected
    assert "recmode" not in SPECS  # the seed tool answers "unknown field name" for generic cameras


def test_label_kinds_and_drivers_say_their_extras_through_base_class_defaults() -> None:
    """A kind of label without a hint or an expected form has the base class's (None), not a missing
    attribute; each driver names its legacy words (a vendor without its own has the standard ones)."""
    from ptpipd.vendors import VENDORS, canon, fuji_legacy_labels, vendor_driver
    from ptpipd.vendors.labels import PLAIN, DateTime, Enum
    from ptpipd.vendors.legacy_labels import STANDARD, legacy_labels

    assert PLAIN.expected is None and PLAIN.hint(5, ["1", "2"]) is None
    assert Enum({1: "one"}).hint(2, ["one"]) is None
    assert DateTime.expected is not None and "YYYYMMDDThhmmss" in DateTime.expected
    own = {"fuji": fuji_legacy_labels.LABELS, "canon": canon.LEGACY_LABELS}
    for vendor in VENDORS:
        assert vendor_driver(vendor).legacy_labels is own.get(vendor, STANDARD), vendor
        assert legacy_labels(vendor) is own.get(vendor, STANDARD), vendor
