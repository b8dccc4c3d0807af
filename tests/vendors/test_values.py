"""The shared value coercion (issue 15 items 4, 10, 11, 12): the spellings photographers use, snapped to the
camera's list only when unambiguous; labels that agree with what ``set`` accepts on both simulated bodies;
dates checked before sending; long values not echoed whole; refusal lists never cut.

The cameras' descriptions come from the simulators' own property tables (the same descriptions the
simulated bodies send), so these checks follow the bodies as they change."""

from __future__ import annotations

import math
import re
from datetime import datetime

import pytest

from ptpipd.errors import InvalidValue, UnknownProperty
from ptpipd.ptp import DataType, DevicePropDesc, EnumForm, NoForm
from ptpipd.sim.fuji_props import FujiProperties
from ptpipd.sim.generic_props import GENERIC_PROPERTIES
from ptpipd.vendors.base import PropertySpec, PropertyTable
from ptpipd.vendors.fuji import FujiDriver
from ptpipd.vendors.generic import GenericDriver
from ptpipd.vendors.labels import Enum
from ptpipd.vendors.quantities import Aperture, ExposureValue, ShutterSpeed
from ptpipd.vendors.values import allowed_labels, coerce_value

GENERIC = {p.code: p.describe(p.default) for p in GENERIC_PROPERTIES}
_XT1 = FujiProperties()
FUJI = {code: _XT1.desc(code) for code in _XT1.defs}
BODIES: dict[str, tuple[PropertyTable, dict[int, DevicePropDesc]]] = {
    "generic": (GenericDriver.properties, GENERIC),
    "fuji": (FujiDriver.properties, FUJI),
}


def body(vendor: str, name: str) -> tuple[PropertySpec, DevicePropDesc]:
    table, descs = BODIES[vendor]
    spec = table.by_name(name)
    assert spec is not None, name
    return spec, descs[spec.code]


def label_of(vendor: str, name: str, text: str) -> str:
    spec, desc = body(vendor, name)
    return spec.labels.label(coerce_value(spec, desc, text))


def refusal(vendor: str, name: str, value: str | int) -> InvalidValue:
    spec, desc = body(vendor, name)
    with pytest.raises(InvalidValue) as info:
        coerce_value(spec, desc, value)
    return info.value


# --------------------------------------------------------------------------- labels agree with set (item 12)


def enum_properties() -> list[tuple[str, str]]:
    out = []
    for vendor, (table, descs) in BODIES.items():
        for spec in table.specs:
            desc = descs.get(spec.code)
            if desc is not None and desc.writable and isinstance(desc.form, EnumForm) and desc.form.values:
                out.append((vendor, spec.name))
    return out


@pytest.mark.parametrize(("vendor", "name"), enum_properties())
def test_every_listed_label_sets_its_own_value(vendor: str, name: str) -> None:
    """What ``describe`` lists as allowed is exactly what ``set`` takes: each label, typed back in any case,
    gives the value it labels (no two listed values share a label, no label is refused)."""
    spec, desc = body(vendor, name)
    assert isinstance(desc.form, EnumForm)
    labels = allowed_labels(spec, desc)
    assert len(set(labels)) == len(labels), labels
    for value, label in zip(desc.form.values, labels, strict=True):
        assert coerce_value(spec, desc, label) == value, (label, value)
        assert coerce_value(spec, desc, label.upper()) == value, (label, value)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("exposure", "auto"), ("fnumber", "auto")],  # the X-T1 reads 0 for both in program mode
)
def test_fuji_values_read_as_photographers_say_them(name: str, shown: str) -> None:
    spec, desc = body("fuji", name)
    assert spec.labels.label(desc.current) == shown


def test_fuji_exposure_list_reads_as_times_and_bulb() -> None:
    spec, desc = body("fuji", "exposure")
    assert allowed_labels(spec, desc) == ["1/5000", "30s", "bulb"]
    assert label_of("fuji", "exposure", "bulb") == "bulb"
    assert label_of("fuji", "fnumber", "auto") == "auto"
    assert coerce_value(spec, desc, "bulb") == 0xFFFF_FFFF


def test_fuji_auto_iso_refusal_says_what_to_write() -> None:
    error = refusal("fuji", "iso", "auto")
    assert "the camera does not offer auto now" in str(error)
    assert "its auto ISO comes with a maximum sensitivity: S400, S800, S1600, S3200, S6400" in str(error)
    assert label_of("fuji", "iso", "S 6400") == "S6400"


# --------------------------------------------------------------------------- spellings (item 4)


@pytest.mark.parametrize("vendor", ["generic", "fuji"])
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("-0.3", "-1/3"),  # gphoto2 rounds it the same way
        ("+0.7", "+2/3"),
        ("0.3", "+1/3"),
        ("-1.7", "-1 2/3"),
        ("-1.67", "-1 2/3"),
        ("1", "+1"),
        ("+1 EV", "+1"),
        ("-2 1/3", "-2 1/3"),
        ("0", "0"),
        ("0x14D", "+1/3"),  # a wire value in hex stays a wire value
    ],
)
def test_decimal_ev_snaps_to_the_listed_third(vendor: str, text: str, label: str) -> None:
    assert label_of(vendor, "exp-bias", text) == label


@pytest.mark.parametrize("vendor", ["generic", "fuji"])
def test_a_bias_between_two_thirds_is_refused_naming_both(vendor: str) -> None:
    error = refusal(vendor, "exp-bias", "-0.5")
    assert "the camera offers no value near -0.5 (nearest: -2/3, -1/3)" in str(error)


@pytest.mark.parametrize(
    ("vendor", "text", "label"),
    [
        ("generic", "5.6", "f/5.6"),
        ("generic", "f5.6", "f/5.6"),
        ("generic", "F/8", "f/8"),
        ("generic", "f 11", "f/11"),
        ("generic", "5.61", "f/5.6"),
        ("generic", "0x230", "f/5.6"),
        ("fuji", "7.1", "f/7.1"),
        ("fuji", "7", "f/7.1"),  # 1/25 stop from the listed f/7.1
        ("fuji", "auto", "auto"),
    ],
)
def test_bare_f_numbers(vendor: str, text: str, label: str) -> None:
    assert label_of(vendor, "fnumber", text) == label


def test_an_f_number_a_third_stop_off_is_not_snapped() -> None:
    error = refusal("generic", "fnumber", "6.3")
    assert "no value near 6.3 (nearest: f/5.6, f/8)" in str(error)
    # f/32 is a stop past the camera's f/22: a plausible f-number, refused rather than read as a wire value
    assert "no value near 32 (nearest: f/22)" in str(refusal("generic", "fnumber", "32"))


@pytest.mark.parametrize(
    ("name", "text", "label"),
    [
        ("fnumber", "560", "f/5.6"),  # no lens is f/560: the wire's hundredths
        ("exp-bias", "-3000", "-3"),  # no camera offers -3000 EV: the wire's 1/1000 EV
        ("exp-bias", "333", "+1/3"),
    ],
)
def test_a_decimal_that_is_no_plausible_quantity_is_a_wire_value(name: str, text: str, label: str) -> None:
    assert label_of("generic", name, text) == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("250", "1/250"),  # 250 s is not offered, 1/250 is: a shutter dial's 250
        ("1000", "1/1000"),
        ("1/250", "1/250"),
        ("1/250s", "1/250"),
        ("0.5", "1/2"),
        ('30"', "30s"),
        ("30s", "30s"),
        ("1/2000", "1/2000"),
        ("1/2050", "1/2000"),
        ("0x28", "1/250"),
    ],
)
def test_shutter_speed_spellings(text: str, label: str) -> None:
    assert label_of("generic", "shutterspeed", text) == label
    assert label_of("generic", "exposure", text) == label


@pytest.mark.parametrize("text", ["2", "30", "15"])
def test_a_bare_number_that_fits_both_ways_is_refused(text: str) -> None:
    error = refusal("generic", "exposure", text)
    assert f"{text!r} could mean" in str(error) and "write the one you mean" in str(error)


def test_a_shutter_speed_the_camera_lacks_names_the_neighbours() -> None:
    assert "no value near 40 (nearest: 1/60, 1/30, 30s)" in str(refusal("generic", "exposure", "40"))
    assert "no value near 1/3 (nearest: 1/4, 1/2)" in str(refusal("generic", "exposure", "1/3"))


def test_snapping_works_from_any_vendors_labels() -> None:
    """A table whose labels are photographers' words (as a Canon or Nikon table has) snaps without the
    coercion knowing its encoding: codes 0x10…0x18 labelled as thirds."""
    thirds = {0x10 + i: text for i, text in enumerate(["-1", "-2/3", "-1/3", "0", "+1/3", "+2/3", "+1"])}
    spec = PropertySpec(0xD103, "exp-bias", "CanonLike", Enum(thirds))
    desc = DevicePropDesc(0xD103, DataType.UINT16, 1, 0x13, 0x13, EnumForm(tuple(thirds)))
    assert coerce_value(spec, desc, "-0.3") == 0x12
    assert coerce_value(spec, desc, "+0.7") == 0x15
    assert coerce_value(spec, desc, "0x16") == 0x16


def test_the_refusal_list_is_whole() -> None:
    error = refusal("generic", "exp-bias", "+5")
    listed = str(error).split("allowed: ", 1)[1]
    assert listed.split(", ") == error.data()["allowed"] and len(listed.split(", ")) == 19
    assert "…" not in str(error)


# --------------------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("quantity", "text", "expected"),
    [
        (ExposureValue(), "-2 2/3", [-8 / 3]),
        (ExposureValue(), "±0", [0.0]),
        (ExposureValue(), "auto", []),
        (Aperture(), "f/5.6", [2 * math.log2(5.6)]),
        (Aperture(), "0", []),
        (ShutterSpeed(), "1/250", [-math.log2(250)]),
        (ShutterSpeed(), '1"3', [math.log2(1.3)]),
        (ShutterSpeed(), "250", [math.log2(250), -math.log2(250)]),
        (ShutterSpeed(), "1", [0.0]),
        (ShutterSpeed(), "bulb", []),
    ],
)
def test_quantity_readings(
    quantity: ExposureValue | Aperture | ShutterSpeed, text: str, expected: list[float]
) -> None:
    assert quantity.readings(text) == pytest.approx(expected)


# --------------------------------------------------------------------------- dates (item 10)

PTP_DATE = re.compile(r"\d{8}T\d{6}")


def test_datetime_now_is_the_local_time_in_ptp_form() -> None:
    before = datetime.now().replace(microsecond=0)
    value = label_of("generic", "datetime", "now")
    after = datetime.now()
    assert PTP_DATE.fullmatch(value), value
    assert before <= datetime.strptime(value, "%Y%m%dT%H%M%S") <= after


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("2024-06-01 12:30", "20240601T123000"),
        ("2024-06-01T12:30:15", "20240601T123015"),
        ("20240601T123015", "20240601T123015"),
        ("20240601T123015.5Z", "20240601T123015.5Z"),
        ("20240601T123015+0200", "20240601T123015+0200"),
    ],
)
def test_datetime_spellings(text: str, sent: str) -> None:
    assert label_of("generic", "datetime", text) == sent


@pytest.mark.parametrize("text", ["tomorrow", "2024-02-30 12:00", "20241301T000000", "20240601T250000", ""])
def test_a_date_that_is_no_date_is_refused_here(text: str) -> None:
    error = refusal("generic", "datetime", text)
    assert "not a date and time: YYYYMMDDThhmmss, YYYY-MM-DD hh:mm[:ss], or now" in str(error)


# --------------------------------------------------------------------------- long values (item 11)


def test_a_long_value_is_refused_with_the_limit_and_not_echoed_whole() -> None:
    long = "x" * 100_000
    error = refusal("generic", "artist", long)
    message = str(error)
    assert "too long: 100000 characters, a PTP string holds at most 254" in message
    assert "(100000 characters)" in message
    assert len(message) < 400, len(message)
    data = error.data()
    assert isinstance(data["value"], str) and len(data["value"]) <= 65 and data["value"].endswith("…")
    assert len(str(data)) < 400
    # exactly 254 fits
    assert label_of("generic", "artist", "y" * 254) == "y" * 254


def test_a_long_property_name_is_not_echoed_whole() -> None:
    with pytest.raises(UnknownProperty) as info:
        GenericDriver.properties.resolve("p" * 100_000, None)
    assert len(str(info.value)) < 200 and "(100000 characters)" in str(info.value)
    assert len(info.value.data()["property"]) <= 65


def test_a_string_without_a_check_is_sent_as_typed() -> None:
    spec = PropertySpec(0x501E, "artist", "Artist")
    desc = DevicePropDesc(0x501E, DataType.STR, 1, "", "", NoForm())
    assert coerce_value(spec, desc, "Ansel Adams") == "Ansel Adams"


def test_a_value_of_the_wrong_kind_is_named_not_measured() -> None:
    """A number for a string property, and an out-of-range number, each say what is wrong."""
    from ptpipd.ptp import DataType
    from ptpipd.vendors.values import _type_problem

    assert _type_problem(DataType.STR, 5) == "not a str"
    assert _type_problem(DataType.UINT8, 300) == "out of range for a uint8 (0..255)"
    assert _type_problem(DataType.INT16, -1) is None
