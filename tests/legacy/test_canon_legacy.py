"""The legacy text commands on the simulated EOS 6D (``ptpipd -c``, the daemon and ``ptpipd-sim --vendor
canon`` as subprocesses): Canon labels where the seed tool had none, the 6D's values as CANON.md §3 gives
their codes, a capture saved where asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.legacy.test_oneshot import one_shot
from tests.procs import SimProcess, running_sim


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with running_sim("canon", "--battery-interval", "0") as process:
        yield process


def canon(tmp_path: Path, sim: SimProcess, command: str) -> str:
    proc = one_shot(tmp_path, "--vendor", "canon", "--host", sim.host, "--port", str(sim.port), "-c", command)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_get_and_set_with_canon_labels(tmp_path: Path, sim: SimProcess) -> None:
    assert canon(tmp_path, sim, "get iso") == "100 (0x48)\n"
    assert canon(tmp_path, sim, "set exposure 1/125") == "property exposure successfully set to 0x70\n"
    assert canon(tmp_path, sim, "get shutterspeed") == "1/125 (0x70)\n"


def test_describe_names_the_eos_property(tmp_path: Path, sim: SimProcess) -> None:
    rows = canon(tmp_path, sim, "describe fnumber").splitlines()
    assert rows[-1].split()[:3] == ["0xd101", "Aperture", "f/5.6"]


def test_capture_saves_the_jpeg(tmp_path: Path, sim: SimProcess) -> None:
    target = tmp_path / "eos.jpg"
    assert canon(tmp_path, sim, f"capture {target}") == f"Image saved to {target}\n"
    assert target.read_bytes()[:2] == b"\xff\xd8"
