"""The Fuji and Canon listings hand the camera to other requests between their steps (``Camera.files``'s
``between``), in-process: what runs in a turn is another client's request on the same session.

Fuji: the listing holds 0xD227 EnableCorrectFileSize at 1 for its GetObjectInfo transactions (real sizes);
a download, or a whole second listing, run in one of its turns must not put 0 back under it. The scripted
X-T4 records every transaction, and its card (:class:`~ptpipd.sim.fuji_card.FujiCard`) says the real sizes
and the placeholder. Canon: one GetObjectInfoEx per folder of the simulated 6D (its own process), a turn
before each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ptpipd.camera import Camera
from ptpipd.sim.fuji_card import FujiCard
from ptpipd.sim.fuji_model import FujiModel
from ptpipd.vendors.base import FileEntry
from ptpipd.vendors.fuji_body_codes import PLACEHOLDER_SIZE, body
from tests.procs import running_sim
from tests.vendors.test_fuji_driver import NAME, ScriptedFuji, jpeg_preview, within

SET_VALUE, PARTIAL_OBJECT, OBJECT_INFO = 0x1016, 0x101B, 0x1008
SIZE_FLAG = 0xD227


@pytest.fixture
async def xt4() -> AsyncIterator[tuple[ScriptedFuji, Camera]]:
    responder = ScriptedFuji(FujiModel(profile=body("x-t4"), known_client=NAME, preview=jpeg_preview))
    await responder.start()
    cam = Camera(responder.config())
    try:
        await within(cam.open())
        yield responder, cam
    finally:
        await within(cam.close())
        await responder.stop()


def turns(first: Callable[[], Awaitable[object]]) -> tuple[list[int], Callable[[], Awaitable[None]]]:
    """A ``between`` that runs ``first`` in the first turn, and the list of turns it was given."""
    given: list[int] = []

    async def between() -> None:
        given.append(len(given))
        if len(given) == 1:
            await first()

    return given, between


def sim_card(responder: ScriptedFuji) -> FujiCard:
    assert responder.model.card is not None
    return responder.model.card


def size_flags(responder: ScriptedFuji) -> list[bytes | None]:
    return [r.data for r in responder.sets() if r.params == (SIZE_FLAG,)]


def assert_real_sizes(responder: ScriptedFuji, files: list[FileEntry]) -> None:
    card = sim_card(responder)
    assert [f.handle for f in files] == list(range(1, card.count + 1))
    assert all(card.size(f.handle) != PLACEHOLDER_SIZE for f in files)
    assert [f.size for f in files] == [card.size(f.handle) for f in files], "a placeholder size was listed"


async def test_a_download_in_a_fuji_listings_turn_leaves_the_real_sizes_on(
    xt4: tuple[ScriptedFuji, Camera],
) -> None:
    responder, cam = xt4
    fetched: list[bytes] = []

    async def download() -> None:
        fetched.append((await cam.download(7)).data or b"")

    given, between = turns(download)
    responder.received.clear()
    files = await within(cam.files(between))
    assert len(given) == sim_card(responder).count  # a turn before each GetObjectInfo
    assert fetched == [sim_card(responder).content(7)]
    assert_real_sizes(responder, files)
    assert size_flags(responder) == [b"\1\0", b"\0\0"], "0xD227 := 1 once around the listing, then 0"
    codes = [r.code for r in responder.received]
    first_piece, infos = codes.index(PARTIAL_OBJECT), [i for i, c in enumerate(codes) if c == OBJECT_INFO]
    assert infos[0] < first_piece < infos[-1], "the download ran inside the listing, 0xD227 still 1"


async def test_a_second_fuji_listing_in_a_turn_keeps_both_taking_turns(
    xt4: tuple[ScriptedFuji, Camera],
) -> None:
    """Another client's listing run (whole) in the first turn of this one: both list real sizes, and this
    one still hands out a turn before each of its GetObjectInfo after the other has ended."""
    responder, cam = xt4
    inner: list[list[FileEntry]] = []
    inner_given, inner_between = turns(lambda: cam.get("iso"))

    async def listing() -> None:
        inner.append(await cam.files(inner_between))

    given, between = turns(listing)
    responder.received.clear()
    files = await within(cam.files(between))
    assert len(given) == len(inner_given) == sim_card(responder).count
    assert_real_sizes(responder, files)
    assert_real_sizes(responder, inner[0])
    assert size_flags(responder) == [b"\1\0", b"\0\0"]


async def test_the_canon_listing_takes_a_turn_before_each_folder() -> None:
    """The 6D's card: the root, DCIM and DCIM/100CANON, one GetObjectInfoEx each; another client's ``get``
    in the first turn, a picture taken in the second (before 100CANON is listed: it is in the listing)."""
    with running_sim("canon", "--battery-interval", "0") as sim:
        async with Camera(host=sim.host, vendor="canon", port=sim.port) as cam:
            before = await cam.files()
            given: list[str | None] = []

            async def between() -> None:  # another client's get, then its capture, then nothing
                if len(given) < 2:
                    given.append(
                        (await cam.get("iso")).label if not given else (await cam.capture()).transfer.filename
                    )
                else:
                    given.append(None)

            files = await within(cam.files(between))
    assert len(given) == 3
    assert [f.filename for f in files] == [f.filename for f in before] + [given[1]]
    assert {f.folder for f in files} == {"DCIM/100CANON"}
