"""ptpipctl's output helpers: tables, key/value blocks, the seed's hex dumps, sizes, the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ptpipctl.output import Progress, hexdump, json_text, packet_dumps, pairs, size_text, table
from tests.legacy.seed import SEED_902B, SEED_D212, packets_of, seed_text


@pytest.mark.parametrize("path", [SEED_902B, SEED_D212], ids=["0x902B", "0x1015-0xD212"])
def test_packet_dumps_are_the_seeds_byte_for_byte(path: Path) -> None:
    expected = seed_text(path)
    assert packet_dumps(packets_of(expected)) == expected


def test_hexdump_agrees_with_the_daemons_for_every_length() -> None:
    from ptpipd.legacy.seed_format import hex_dump  # the same format lives on the daemon's side

    data = bytes(range(256)) * 2
    for n in (0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 512):
        assert hexdump(data[:n]) == hex_dump(data[:n])


def test_table_columns() -> None:
    text = table(
        [("iso", "0x500f", "400"), ("exposure-bias", "0x5010", "-1/3")], ("Property", "Code", "Value")
    )
    assert text == (
        "Property       Code    Value\n"
        "--------       ----    -----\n"
        "iso            0x500f  400\n"
        "exposure-bias  0x5010  -1/3\n"
    )
    assert table([]) == ""


def test_pairs_align_and_strip() -> None:
    assert pairs([("state", "connected"), ("last error", "")]) == "state       connected\nlast error\n"
    assert pairs([]) == ""


def test_json_text() -> None:
    assert json_text({"a": [1, "é"]}) == '{"a":[1,"é"]}\n'
    assert json_text({"a": 1}, pretty=True) == '{\n  "a": 1\n}\n'


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (610137, "595.8 KiB"), (5 << 30, "5.0 GiB")],
)
def test_size_text(size: int, text: str) -> None:
    assert size_text(size) == text


def test_progress_with_a_total_and_the_rate() -> None:
    stream = io.StringIO()
    bar = Progress("IMG_0001.JPG", 3 << 20, stream=stream, threshold=1 << 20, interval=0)
    bar(1000)  # below the threshold: nothing drawn
    assert stream.getvalue() == ""
    bar(3 << 19)
    assert stream.getvalue().startswith(
        "\rIMG_0001.JPG  [###############...............]  50%  1.5 MiB of 3.0 MiB  "
    )
    assert stream.getvalue().endswith("/s\x1b[K")
    bar(10 << 20)  # more than the total: capped at 100 %
    assert "[##############################] 100%  3.0 MiB of 3.0 MiB  " in stream.getvalue()
    bar.finish()
    assert stream.getvalue().endswith("\r\x1b[K")
    assert bar.render(3 << 19, 2.0) == (
        "IMG_0001.JPG  [###############...............]  50%  1.5 MiB of 3.0 MiB  768.0 KiB/s"
    )


def test_progress_of_a_resumed_transfer_rates_only_what_moves_now() -> None:
    bar = Progress("x", 4 << 20, start=2 << 20, stream=io.StringIO())
    assert bar.render(3 << 20, 1.0).endswith("3.0 MiB of 4.0 MiB  1.0 MiB/s")
    assert bar.render(2 << 20, 0.0).endswith("  -")


def test_progress_without_a_total_and_disabled() -> None:
    stream = io.StringIO()
    bar = Progress("capture", None, stream=stream, threshold=0, interval=0)
    bar(3 << 20)
    assert stream.getvalue().startswith("\rcapture  3.0 MiB  ")
    assert bar.render(3 << 20, 3.0) == "capture  3.0 MiB  1.0 MiB/s"
    quiet = io.StringIO()
    off = Progress("capture", 10, enabled=False, stream=quiet, threshold=0)
    off(1 << 30)
    off.finish()
    assert quiet.getvalue() == ""


def test_progress_is_throttled() -> None:
    stream = io.StringIO()
    bar = Progress("x", None, stream=stream, threshold=0, interval=3600)
    bar(4 << 20)
    bar(8 << 20)
    assert stream.getvalue().count("\r") == 1


def test_ptpipctl_imports_nothing_from_ptpipd() -> None:
    """DESIGN.md §1: the client speaks JSON-RPC only. Every module of the package, the typer one included."""
    import subprocess
    import sys

    from ptpipctl.declare import MODULES

    modules = ["ptpipctl.app", "ptpipctl.cli", "ptpipctl.fast", "ptpipctl.client", "ptpipctl.output"]
    modules += ["ptpipctl.httpclient", "ptpipctl.transfer", "ptpipctl.mjpeg"]
    modules += [f"ptpipctl.commands.{m}" for m in MODULES]
    code = f"import sys\nfor m in {modules!r}:\n    __import__(m)\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'ptpipd'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[]\n"


def test_unique_names_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from ptpipctl.transfer import Destination, write_all

    def no_links(src: str, dst: str) -> None:
        raise PermissionError(1, "Operation not permitted")

    def save(data: bytes) -> str:
        with Destination(None, as_json=True) as dest:
            write_all(dest.fd, memoryview(data))
            return dest.commit("IMG.JPG", len(data))

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.chdir(tmp_path)
    assert save(b"one") == "IMG.JPG"
    assert save(b"two") == "IMG-1.JPG"
    assert (tmp_path / "IMG.JPG").read_bytes() == b"one"
    assert (tmp_path / "IMG-1.JPG").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG-1.JPG", "IMG.JPG"]


def test_a_short_file_is_never_renamed_into_place(tmp_path: Path) -> None:
    from ptpipctl.client import CtlError
    from ptpipctl.transfer import Destination, write_all

    target = tmp_path / "x.jpg"
    with (
        pytest.raises(CtlError, match="the file holds 3 bytes, the daemon announced 4"),
        Destination(str(target), as_json=False) as dest,
    ):
        write_all(dest.fd, memoryview(b"abc"))
        dest.commit("ignored", 4)
    assert list(tmp_path.iterdir()) == []
