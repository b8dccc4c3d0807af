"""The vectors in tests/data are a copy of the team's shared protocol vectors; keep them in step."""

from pathlib import Path

import pytest

from tests.vectors import VECTOR_DIR

SHARED = Path(__file__).resolve().parents[2] / "shared" / "protocol" / "vectors"


def test_protocol_notes_copy_matches_shared() -> None:
    """tests/data/protocol/PTP.md, which the code-table tests read, is the shared one."""
    if SHARED.is_dir():
        assert (VECTOR_DIR.parent / "protocol" / "PTP.md").read_bytes() == (
            SHARED.parent / "PTP.md"
        ).read_bytes()
    assert (VECTOR_DIR.parent / "protocol" / "PTP.md").stat().st_size > 10_000


def test_copy_has_every_file() -> None:
    assert len(list(VECTOR_DIR.glob("*.json"))) == 9


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/ is not next to this checkout (a CI clone)")
def test_copy_matches_shared() -> None:
    for src in SHARED.glob("*.json"):
        assert (VECTOR_DIR / src.name).read_bytes() == src.read_bytes(), src.name
