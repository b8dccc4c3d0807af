"""Issue 15 items 4, 5, 10, 11, 12 as a photographer meets them: ``ptpipctl`` (the installed one, a
subprocess) against a real ``ptpipd`` on each simulated camera. Each test puts back what it changed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from tests.cli.conftest import Live, Result, clean_env, ctl
from tests.procs import running_daemon

#: A value the camera accepts, spelled as photographers do, and the label it reads back as (per body).
SPELLINGS: dict[str, list[tuple[str, str, str]]] = {
    "generic": [
        ("exp-bias", "-0.3", "-1/3"),  # gphoto2 rounds -0.3 the same way
        ("exp-bias", "+0.7", "+2/3"),
        ("fnumber", "5.6", "f/5.6"),
        ("fnumber", "F8", "f/8"),
        ("shutterspeed", "250", "1/250"),  # a shutter dial's 250: 250 s is not offered
        ("exposure", "0.5", "1/2"),
    ],
    "fuji": [
        ("exp-bias", "-0.3", "-1/3"),
        ("exp-bias", "1", "+1"),
        ("fnumber", "7.1", "f/7.1"),
        ("fnumber", "f5.3", "f/5.3"),
    ],
}


def value_row(result: Result) -> str:
    """The ``value`` row of ``get``/``set`` output."""
    assert result.code == 0, result.err
    match = re.search(r"^value +(.*)$", result.out, re.M)
    assert match, result.out
    return match[1]


@contextmanager
def restored(live: Live, prop: str) -> Iterator[dict[str, object]]:
    """The property's value before, put back afterwards: by its wire value, or by its label where the camera
    does not list the value it started with (the X-T1's 0 = auto: its list has 0xFFFF = auto)."""
    before = json.loads(live.ctl("get", prop, "--json").out)
    try:
        yield before
    finally:
        value = before["value"]
        if live.ctl("set", prop, hex(value) if isinstance(value, int) else str(value)).code != 0:
            assert live.ctl("set", prop, str(before["label"])).code == 0, (prop, before)
        assert json.loads(live.ctl("get", prop, "--json").out)["label"] == before["label"], (prop, before)


def test_photographers_spellings_are_understood(live: Live) -> None:
    for prop, text, label in SPELLINGS[live.vendor]:
        with restored(live, prop):
            assert value_row(live.ctl("set", prop, text)) == label, (prop, text)
            assert value_row(live.ctl("get", prop)) == label


def test_an_ambiguous_or_missing_value_is_refused_with_the_whole_list(live: Live) -> None:
    with restored(live, "exp-bias") as before:
        done = live.ctl("set", "exp-bias", "-0.5")  # halfway between -2/3 and -1/3
        assert done.code == 1
        assert "the camera offers no value near -0.5 (nearest: -2/3, -1/3)" in done.err
        listed = done.err.split("allowed: ", 1)[1].strip()
        assert listed.startswith("-3, ") and listed.endswith(", +2 2/3, +3") and "…" not in listed
        assert json.loads(live.ctl("get", "exp-bias", "--json").out)["value"] == before["value"]


def test_shutterspeed_means_the_exposure_time_on_every_camera(live: Live) -> None:
    for name in ("shutterspeed", "shutter", "exposure"):
        got = json.loads(live.ctl("get", name, "--json").out)
        assert (got["property"], got["code"], got["name"]) == ("exposure", "0x500d", "ExposureTime"), name


def test_iso_auto(live: Live) -> None:
    with restored(live, "iso"):
        done = live.ctl("set", "iso", "auto")
        if live.vendor == "generic":  # a standard camera lists auto (0xFFFF)
            assert value_row(done) == "auto"
            return
        # the X-T1's default reads "auto" but its list has auto with a maximum only: say so, whole list
        assert done.code == 1, done.out
        assert (
            "the camera does not offer auto now; its auto ISO comes with a maximum sensitivity: " in done.err
        )
        assert "S400, S800, S1600, S3200, S6400; allowed: S400," in done.err
        assert done.err.rstrip().endswith("H12800, H25600, H51200")


def test_fuji_descriptions_read_as_set_takes_them(tmp_path: Path) -> None:
    """A fresh X-T1 (nothing set yet): in program mode it reads 0 for aperture and time, shown as auto."""
    with running_daemon(tmp_path / "d", "--simulate", "fuji") as daemon:
        daemon.wait_connected()
        env = clean_env(tmp_path, PTPIPCTL_SOCKET=str(daemon.socket_path))
        (tmp_path / "run").mkdir()
        fnumber = json.loads(ctl("get", "fnumber", "--json", env=env).out)
        assert (fnumber["value"], fnumber["label"]) == (0, "auto")
        described = ctl("describe", "exposure", env=env).out
        assert re.search(r"^value +auto$", described, re.M), described
        assert re.search(r"^allowed +1/5000, 30s, bulb$", described, re.M), described
        assert value_row(ctl("get", "shutterspeed-fuji", env=env)) == "n/a"
        assert value_row(ctl("set", "fnumber", "auto", env=env)) == "auto"  # the listed auto (0xFFFF)
        # its exposure list as set takes it (auto, the dial's A, cannot be set back from here)
        assert value_row(ctl("set", "shutterspeed", "bulb", env=env)) == "bulb"
        assert value_row(ctl("set", "exposure", "30", env=env)) == "30s"  # 1/30 is not offered: 30 s


def test_datetime_now_and_invalid_dates(live: Live) -> None:
    if live.vendor == "fuji":  # the X-T1 has no DateTime property over Wi-Fi
        done = live.ctl("set", "datetime", "now")
        assert done.code == 1 and "unknown property 'datetime'" in done.err
        return
    with restored(live, "datetime"):
        before = datetime.now().replace(microsecond=0)
        value = value_row(live.ctl("set", "datetime", "now"))
        assert before <= datetime.strptime(value, "%Y%m%dT%H%M%S") <= datetime.now(), value
        assert value_row(live.ctl("set", "datetime", "2024-06-01 12:30")) == "20240601T123000"
        for bad in ("2024-02-30 12:00", "yesterday"):
            done = live.ctl("set", "datetime", bad)
            assert done.code == 1
            # refused here, with what is wanted: not the camera's InvalidDevicePropValue (0x201C)
            assert "not a date and time: YYYYMMDDThhmmss, YYYY-MM-DD hh:mm[:ss], or now" in done.err
            assert "0x201C" not in done.err
        assert value_row(live.ctl("get", "datetime")) == "20240601T123000"


def test_a_100_kb_value_is_refused_with_the_limit_and_a_short_echo(live: Live) -> None:
    long = "x" * 100_000
    prop = "artist" if live.vendor == "generic" else "iso"
    done = live.ctl("set", prop, long)
    assert done.code == 1
    assert len(done.err) < 800, len(done.err)
    assert "'" + "x" * 64 + "…' (100000 characters)" in done.err
    if live.vendor == "generic":
        assert "too long: 100000 characters, a PTP string holds at most 254" in done.err
    raw = live.ctl("call", "set", json.dumps({"property": prop, "value": long}))
    assert raw.code == 1 and len(raw.err) < 800, raw.err
