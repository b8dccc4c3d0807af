"""Fixtures of the PTP/IP tests: scripted responders on loopback (see :mod:`tests.ip.scripted`)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import pytest

from ptpipd.ip.codec import Dialect
from tests.ip.scripted import DIALECTS, Net


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    """Listeners and initiators of one test; everything is closed at teardown.

    The garbage of the test is collected here too, so that its finalizers run now and not in the middle of
    a later, unrelated test (CPython 3.11.7 fails an ``ast.parse`` that a finalizer interrupts).
    """
    n = Net()
    try:
        yield n
    finally:
        await n.aclose()
        gc.collect()


@pytest.fixture(params=sorted(DIALECTS))
def dialect(request: pytest.FixtureRequest) -> Dialect:
    """Each dialect in turn: standard PTP/IP and Fuji."""
    return DIALECTS[request.param]
