"""The simulated card's GetObjectHandles / GetNumObjects filters (PTP.md §5.1), on a card built here."""

from __future__ import annotations

from ptpipd.ptp import ObjectFormat, ResponseCode
from ptpipd.sim.storage import ALL, ROOT_ONLY, Storage, folder_info, object_info

SID = 0x0001_0001
DATE = "20250101T120000"


def _card() -> Storage:
    card = Storage(SID, 1 << 30, "SD", "CARD")
    card.add(folder_info(SID, "DCIM", 0, DATE), b"")  # 1
    card.add(object_info(SID, "README.TXT", 0, DATE, object_format=ObjectFormat.Text), b"x")  # 2
    card.add(folder_info(SID, "100TEST", 1, DATE), b"")  # 3
    card.add(object_info(SID, "A.JPG", 3, DATE, object_format=ObjectFormat.EXIF_JPEG), b"")  # 4
    card.add(object_info(SID, "B.TXT", 3, DATE, object_format=ObjectFormat.Text), b"")  # 5
    card.add(object_info(SID, "C.JPG", 0, DATE, object_format=ObjectFormat.EXIF_JPEG), b"")  # 6
    return card


def test_every_format_and_parent_filter() -> None:
    card = _card()
    assert card.select(ALL, 0, 0) == [1, 2, 3, 4, 5, 6]
    assert card.select(SID, ALL, 0) == [4, 6]  # images only
    assert card.select(SID, ObjectFormat.Text, 0) == [2, 5]
    assert card.select(SID, 0, ROOT_ONLY) == [1, 2, 6]
    assert card.select(SID, ALL, ROOT_ONLY) == [6]
    assert card.select(SID, 0, 3) == [4, 5]
    assert card.select(SID, ALL, 3) == [4]
    assert card.select(SID, ObjectFormat.Text, 3) == [5]
    assert card.select(SID, 0, 1) == [3]


def test_filter_errors() -> None:
    card = _card()
    assert card.select(0x0002_0001, 0, 0) is ResponseCode.InvalidStorageID
    assert card.select(SID, 0, 99) is ResponseCode.InvalidObjectHandle
    assert card.select(SID, 0, 2) is ResponseCode.InvalidParentObject
