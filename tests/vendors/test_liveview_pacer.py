"""The polled live view's :class:`~ptpipd.vendors.liveview.Pacer` on a clock the test moves: deadlines on a grid
(no drift), no burst after a late frame, no cap at 0 fps. The daemon's part (the simulator's count of
GetViewFinderData calls through ``/liveview.mjpeg``) is in tests/web/test_canon_web.py."""

from __future__ import annotations

import itertools

import pytest

from ptpipd.config import Settings
from ptpipd.service.state import ServiceOptions
from ptpipd.vendors.liveview import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_on_a_grid_without_drift() -> None:
    clock = Clock()
    pacer = Pacer(30, clock)
    asked = []
    for _ in range(3000):
        clock.now += pacer.take()  # the caller waits what it is told, then asks the camera
        asked.append(clock.now)
        clock.now += 0.004  # the camera's answer takes 4 ms
    assert asked[0] == 100.0
    # frame k is asked for at first + k/30: 3000 frames span 99.97 s, however the 4 ms answers fall
    assert asked[-1] - asked[0] == pytest.approx(2999 / 30, abs=1e-6)
    assert min(b - a for a, b in itertools.pairwise(asked)) == pytest.approx(1 / 30)


def test_a_late_frame_restarts_the_schedule_without_a_burst() -> None:
    clock = Clock()
    pacer = Pacer(10, clock)
    assert pacer.take() == 0.0
    clock.now += 0.35  # the camera took 350 ms (three and a half slots)
    assert pacer.take() == 0.0  # late: asked at once ...
    clock.now += 0.01
    assert pacer.take() == pytest.approx(0.09)  # ... and the next one a whole interval after it, not at once
    clock.now += 0.09
    assert pacer.take() == pytest.approx(0.1)


def test_a_slow_camera_is_asked_as_fast_as_it_answers() -> None:
    clock = Clock()
    pacer = Pacer(30, clock)
    for _ in range(10):
        assert pacer.take() == 0.0
        clock.now += 0.05  # 20 fps at most from this camera: never a wait


def test_zero_means_no_cap_and_negative_is_refused() -> None:
    pacer = Pacer(0, Clock())
    assert [pacer.take() for _ in range(5)] == [0.0] * 5
    with pytest.raises(ValueError, match="frame rate"):
        Pacer(-1, Clock())


def test_the_default_cap_is_30_fps() -> None:
    assert Settings().liveview_fps == ServiceOptions().liveview_fps == 30
