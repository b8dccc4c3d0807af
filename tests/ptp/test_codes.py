"""Code tables (PTP.md §5) and the code helpers."""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path

import pytest

from ptpipd.ptp import (
    AccessCapability,
    AssociationType,
    DataType,
    DevicePropCode,
    EffectMode,
    EventCode,
    ExposureMeteringMode,
    ExposureProgramMode,
    FilesystemType,
    FlashMode,
    FocusMeteringMode,
    FocusMode,
    FunctionalMode,
    ObjectFormat,
    OperationCode,
    ResponseCode,
    StillCaptureMode,
    StorageType,
    VendorExtensionID,
    WhiteBalance,
    code_name,
)

PTP_MD = (
    Path(__file__).resolve().parents[1] / "data" / "protocol" / "PTP.md"
)  # a copy of shared/protocol/PTP.md


@pytest.mark.parametrize(
    ("member", "value"),
    [
        (OperationCode.GetDeviceInfo, 0x1001),
        (OperationCode.GetStorageIDs, 0x1004),
        (OperationCode.GetPartialObject, 0x101B),
        (OperationCode.InitiateOpenCapture, 0x101C),
        (OperationCode.StartEnumHandles, 0x101D),
        (OperationCode.GetVendorExtensionMaps, 0x1020),
        (OperationCode.GetFilesystemManifest, 0x1023),
        (OperationCode.GetStream, 0x1025),
        (ResponseCode.OK, 0x2001),
        (ResponseCode.DeviceBusy, 0x2019),
        (ResponseCode.InvalidDevicePropValue, 0x201C),
        (ResponseCode.SessionAlreadyOpen, 0x201E),
        (ResponseCode.InvalidDataSet, 0x2023),
        (EventCode.ObjectAdded, 0x4002),
        (EventCode.CaptureComplete, 0x400D),
        (EventCode.UnreportedStatus, 0x400E),
        (DevicePropCode.BatteryLevel, 0x5001),
        (DevicePropCode.ExposureBiasCompensation, 0x5010),
        (DevicePropCode.CopyrightInfo, 0x501F),
        (DevicePropCode.SupportedStreams, 0x5020),
        (DevicePropCode.AudioBitPerSample, 0x502B),
        (DevicePropCode.AudioVolume, 0x502C),
        (ObjectFormat.Undefined, 0x3000),
        (ObjectFormat.Association, 0x3001),
        (ObjectFormat.QT, 0x300D),
        (ObjectFormat.UndefinedImage, 0x3800),
        (ObjectFormat.EXIF_JPEG, 0x3801),
        (ObjectFormat.Undefined_0x3806, 0x3806),
        (ObjectFormat.TIFF, 0x380D),
        (ObjectFormat.DNG, 0x3811),
        (StorageType.RemovableRAM, 4),
        (FilesystemType.DCF, 3),
        (AccessCapability.ReadOnlyDeletionAllowed, 2),
        (AssociationType.GenericFolder, 1),
        (AssociationType.AncillaryData, 7),
        (VendorExtensionID.Fuji, 0x0E),
        (VendorExtensionID.Sony, 0x11),
        (VendorExtensionID.Panasonic, 0x1C),
        (VendorExtensionID.MTP, 0xFFFFFFFF),
        (WhiteBalance.Tungsten, 6),
        (FocusMode.AutomaticMacro, 3),
        (ExposureMeteringMode.CenterSpot, 4),
        (FlashMode.ExternalSync, 6),
        (ExposureProgramMode.Portrait, 7),
        (StillCaptureMode.Timelapse, 3),
        (EffectMode.Sepia, 3),
        (FocusMeteringMode.MultiSpot, 2),
        (FunctionalMode.Sleep, 1),
    ],
)
def test_spot_checks(member: IntEnum, value: int) -> None:
    assert member == value


@pytest.mark.parametrize(
    ("enum", "first", "last"),
    [
        (OperationCode, 0x1000, 0x1025),
        (ResponseCode, 0x2000, 0x2023),
        (EventCode, 0x4000, 0x400E),
        (DevicePropCode, 0x5000, 0x502C),
    ],
)
def test_standard_ranges_are_complete(enum: type[IntEnum], first: int, last: int) -> None:
    assert sorted(m.value for m in enum) == list(range(first, last + 1))


def test_object_formats_are_the_standard_ones() -> None:
    expected = [*range(0x3000, 0x300E), *range(0x3800, 0x3812)]
    assert sorted(m.value for m in ObjectFormat) == expected


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.index("\n### ", start + len(heading))
    return text[start:end]


@pytest.mark.parametrize(
    ("heading", "enum"),
    [
        ("### 5.1 Operation codes", OperationCode),
        ("### 5.2 Response codes", ResponseCode),
        ("### 5.3 Event codes", EventCode),
        ("### 5.4 Standard device property codes", DevicePropCode),
    ],
)
def test_names_match_ptp_md_tables(heading: str, enum: type[IntEnum]) -> None:
    rows = re.findall(r"\| 0x([0-9A-F]{4}) \| \**(\w+)\**", section(PTP_MD.read_text("utf-8"), heading))
    assert len(rows) >= 14
    for code, name in rows:
        assert enum(int(code, 16)).name == name


def test_code_name() -> None:
    assert code_name(OperationCode, 0x1001) == "GetDeviceInfo"
    assert code_name(ResponseCode, ResponseCode.OK) == "OK"
    assert code_name(OperationCode, 0x902B) == "0x902B"
    assert code_name(ObjectFormat, 0xB103) == "0xB103"
    assert code_name(EventCode, 0xC001) == "0xC001"
    assert code_name(DevicePropCode, 0xD17C) == "0xD17C"
    assert code_name(ResponseCode, 0xABC) == "0x0ABC"
    assert code_name(VendorExtensionID, 0x10000) == "0x00010000"
    assert code_name(VendorExtensionID, 0xFFFFFFFF) == "MTP"
    assert code_name(DataType, 0x4004) == "AUINT16"
