"""Nikon PTP/IP data: codes, value tables, value encodings and the Nikon records (pure data).

Everything here converts numbers and bytes; nothing talks to a camera. It imports only :mod:`ptpipd.ptp`
and the label helpers, so the simulated Nikon body can share the tables with the vendor module. Every fact
comes from ``tests/data/nikon/NIKON.md``, which names its public source (libgphoto2 2.5.30 ``ptp.h``,
``ptp-pack.c``, ``library.c``, ``config.c``; digiCamControl; Wan-1230/N-link; jpglab/fuse).

0x90C7 GetEvent list (the data of operation 0x90C7; NIKON.md §3.1)::

    offset   size  field
    0        2     Count u16
    2 + 6i   2     EventCode u16
    4 + 6i   4     Param1 u32 (the only parameter an entry carries)

0x941C GetEventEx list (NIKON.md §3.2; entries have a variable length; not decoded here: the driver polls
0x90C7 only)::

    offset   size  field
    0        2     Count u16
    2        2     not read by libgphoto2 (entries start at offset 4)
    then per entry:
    +0       2     EventCode u16
    +2       2     ParamCount u16 (0..5)
    +4       4·n   Param u32 × ParamCount

0x9203 GetLiveViewImg data (NIKON.md §3.3): a header of a size fixed per body (64, 128, 384 or 1024
bytes), then one JPEG (FF D8 … FF D9). The fields of the 384-byte header are big-endian; see
:class:`LiveViewHeader`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

from ptpipd.ptp import DecodeError, EncodeError
from ptpipd.ptp.types import Buffer, decode_counted
from ptpipd.vendors.labels import (
    Enum,
    ExposureBias,
    ExposureTime,
    FNumber,
    Iso,
    Labels,
    Numeric,
    Plain,
    decimal,
)

# ------------------------------------------------------------------------------------------------ codes


class NikonOperation(IntEnum):
    """Nikon operation codes (libgphoto2 ptp.h; 0x952B/0x935A from Wan-1230/N-link; NIKON.md §2.1)."""

    GetProfileAllData = 0x9006
    SendProfileData = 0x9007
    DeleteProfile = 0x9008
    SetProfileData = 0x9009
    AdvancedTransfer = 0x9010
    GetFileInfoInBlock = 0x9011
    InitiateCaptureRecInSdram = 0x90C0  # 1 param (0xFFFFFFFF), no data
    AfDrive = 0x90C1
    ChangeCameraMode = 0x90C2  # 1 param: 1 = PC control, 0 = camera control
    DelImageSDRAM = 0x90C3  # 1 param: handle (0 = all)
    GetLargeThumb = 0x90C4
    CurveDownload = 0x90C5
    CurveUpload = 0x90C6
    GetEvent = 0x90C7  # no params, data in: the event list of the module docstring
    DeviceReady = 0x90C8  # no params, no data; DeviceBusy while the body is busy
    SetPreWBData = 0x90C9
    GetVendorPropCodes = 0x90CA  # data in: AUINT16 of the Nikon property codes
    AfCaptureSDRAM = 0x90CB
    GetPictCtrlData = 0x90CC
    SetPictCtrlData = 0x90CD
    DelCstPicCtrl = 0x90CE
    GetPicCtrlCapability = 0x90CF
    GetDevicePTPIPInfo = 0x90E0
    GetPreviewImg = 0x9200
    StartLiveView = 0x9201
    EndLiveView = 0x9202
    GetLiveViewImg = 0x9203  # data in: header + JPEG
    MfDrive = 0x9204
    ChangeAfArea = 0x9205
    AfDriveCancel = 0x9206
    InitiateCaptureRecInMedia = 0x9207  # 2 params: 0xFFFFFFFF (no AF) / 0xFFFFFFFE (AF), 1 SDRAM / 0 card
    GetVendorStorageIDs = 0x9209
    StartMovieRecInCard = 0x920A
    EndMovieRec = 0x920B
    TerminateCapture = 0x920C
    GetFhdPicture = 0x920F
    GetPartialObjectHiSpeed = 0x9400
    CancelImagesInSDRAM = 0x940C
    GetEventEx = 0x941C
    GetObjectSize = 0x9421  # data in: UINT64
    GetLiveViewCompressedSize = 0x9423
    GetLiveViewImageEx = 0x9428
    GetPartialObjectEx = 0x9431  # 5 params: handle, offset lo/hi, size lo/hi; response: sent lo/hi
    GetObjectsMetaData = 0x9434
    ChangeApplicationMode = 0x9435
    ConfirmHost = 0x935A  # host registration step 2, 1 param (0x2001)
    GetDevicePropEx = 0x9504
    PrepareHost = 0x952B  # host registration step 1, no params


class NikonEvent(IntEnum):
    """Nikon event codes (libgphoto2 ptp.h; NIKON.md §2.2)."""

    ObjectAddedInSDRAM = 0xC101  # p1: handle (0xFFFF0001 for the SDRAM image)
    CaptureCompleteRecInSdram = 0xC102
    AdvancedTransfer = 0xC103
    PreviewImageAdded = 0xC104
    MovieRecordInterrupted = 0xC105
    FirstCaptureComplete = 0xC106  # libgphoto2 "1stCaptureComplete"
    MirrorUpCancelComplete = 0xC107
    MovieRecordComplete = 0xC108
    MovieRecordStarted = 0xC10A
    PictureControlAdjustChanged = 0xC10B
    LiveViewStateChanged = 0xC10C
    ManualSettingsLensDataChanged = 0xC10E
    ActiveSelectionInterrupted = 0xC112
    SBAdded = 0xC120
    SBRemoved = 0xC121
    SBAttrChanged = 0xC122
    SBGroupAttrChanged = 0xC123


class NikonResponse(IntEnum):
    """Nikon response codes (libgphoto2 ptp.h; 0xA022 has two names there; NIKON.md §2.3)."""

    HardwareError = 0xA001
    OutOfFocus = 0xA002
    ChangeCameraModeFailed = 0xA003
    InvalidStatus = 0xA004
    SetPropertyNotSupported = 0xA005
    WbResetError = 0xA006
    DustReferenceError = 0xA007
    ShutterSpeedBulb = 0xA008
    MirrorUpSequence = 0xA009
    CameraModeNotAdjustFNumber = 0xA00A
    NotLiveView = 0xA00B
    MfDriveStepEnd = 0xA00C
    MfDriveStepInsufficiency = 0xA00E
    NoFullHDPresent = 0xA00F
    StoreError = 0xA021
    StoreUnformatted = 0xA022
    BulbReleaseBusy = 0xA200
    SilentReleaseBusy = 0xA201
    MovieFrameReleaseBusy = 0xA202
    ShutterSpeedTime = 0xA204
    Waiting2ndRelease = 0xA207
    MirrorUpCaptureAlreadyStarted = 0xA208
    InvalidSBAttributeValue = 0xA209


class NikonProperty(IntEnum):
    """The Nikon device property codes the vendor and the simulated bodies use (libgphoto2 ptp.h)."""

    WhiteBalanceColorTemperature = 0xD01E
    ISOAutoControl = 0xD054  # libgphoto2 PTP_DPC_NIKON_ISOAuto
    ExposureCompensation = 0xD058  # an on/off flag in libgphoto2's config, not the bias (that is 0x5010)
    LiveViewAFArea = 0xD05D
    LiveViewAFFocus = 0xD061
    ImageCommentString = 0xD090
    ImageRotation = 0xD092
    MovRecProhibitCondition = 0xD0A4
    ExposureIndexEx = 0xD0B4  # UINT32 ISO: the Z 6's Hi values do not fit 0x500F's UINT16
    LensID = 0xD0E0
    FocalLengthMin = 0xD0E3
    FocalLengthMax = 0xD0E4
    ShutterSpeed = 0xD100  # libgphoto2 PTP_DPC_NIKON_ExposureTime: numerator << 16 | denominator
    ACPower = 0xD101
    AFLockStatus = 0xD104
    RecordingMedia = 0xD10B
    CameraOrientation = 0xD10E
    FlashExposureCompensation = 0xD126
    ActiveDLighting = 0xD14E
    BeepOff = 0xD160
    AutofocusMode = 0xD161
    ISOAuto = 0xD16A  # libgphoto2 PTP_DPC_NIKON_ISO_Auto ("isoauto")
    ISOAutoHiLimit = 0xD183
    LiveViewMode = 0xD1A0
    LiveViewStatus = 0xD1A2
    LiveViewImageZoomRatio = 0xD1A3
    LiveViewProhibitCondition = 0xD1A4
    LiveViewSelector = 0xD1A6
    LiveViewImageSize = 0xD1AC
    ExposureDisplayStatus = 0xD1B0
    ExposureIndicateStatus = 0xD1B1
    ApplicationMode = 0xD1F0
    ExposureRemaining = 0xD1F1


#: VendorExtensionID of Nikon (PTP.md; libgphoto2 PTP_VENDOR_NIKON).
VENDOR_NIKON = 0x0000_000A
VENDOR_MICROSOFT = 0x0000_0006
VENDOR_MTP = 0xFFFF_FFFF
#: The handle of the image waiting in SDRAM after a capture to SDRAM (libgphoto2 library.c).
SDRAM_HANDLE = 0xFFFF_0001
#: InitiateCaptureRecInSdram's only parameter, as libgphoto2 sends it.
SDRAM_CAPTURE_PARAM = 0xFFFF_FFFF
#: InitiateCaptureRecInMedia parameter 1: capture without / with autofocus.
CAPTURE_NO_AF = 0xFFFF_FFFF
CAPTURE_WITH_AF = 0xFFFF_FFFE
#: InitiateCaptureRecInMedia parameter 2: where the image goes.
TARGET_CARD = 0
TARGET_SDRAM = 1
#: ConfirmHost's parameter (N-link: "fixed, the PTP response code OK").
CONFIRM_HOST_PARAM = 0x2001
#: What N-link waits between PrepareHost and ConfirmHost while the body applies the host profile.
HOST_REGISTRATION_SETTLE_S = 8.5
#: DeviceReady answers that mean "ask again" (libgphoto2 nikon_wait_busy); SilentReleaseBusy means ready.
DEVICE_READY_AGAIN = frozenset({0x2019, NikonResponse.BulbReleaseBusy})
DEVICE_READY_DONE = frozenset({0x2001, NikonResponse.SilentReleaseBusy})


def effective_vendor_id(vendor_extension_id: int, manufacturer: str) -> int:
    """The vendor a DeviceInfo really belongs to: Nikon bodies that report Microsoft (6) or MTP (0xFFFFFFFF).

    Newer Nikons (the Z 8 over PTP/IP: 0xFFFFFFFF, "Microsoft.com/DeviceServices: 1.0") say they are MTP
    devices; libgphoto2 2.5.30 restores Nikon when the Manufacturer string contains "Nikon".
    """
    if vendor_extension_id in (VENDOR_MICROSOFT, VENDOR_MTP) and "Nikon" in manufacturer:
        return VENDOR_NIKON
    return vendor_extension_id


class CaptureMethod(IntEnum):
    """How a body takes a picture, as the operation that starts it (libgphoto2's order of preference)."""

    RecInMedia = NikonOperation.InitiateCaptureRecInMedia
    RecInSdram = NikonOperation.InitiateCaptureRecInSdram
    AfCaptureSdram = NikonOperation.AfCaptureSDRAM
    Generic = 0x100E


def capture_method(operations: Iterable[int]) -> CaptureMethod | None:
    """The capture libgphoto2 2.5.30 picks from OperationsSupported (0x9207, then 0x90C0/0x90CB, then 0x100E)."""
    ops = set(operations)
    for method in CaptureMethod:
        if method.value in ops:
            return method
    return None


# ------------------------------------------------------------------------------------------------ tables

#: 0x5005: the PTP values and Nikon's 0x8010.. (libgphoto2 config.c ``whitebalance``).
WHITE_BALANCE: dict[int, str] = {
    1: "manual",
    2: "auto",
    3: "one-push auto",
    4: "daylight",
    5: "fluorescent",
    6: "tungsten",
    7: "flash",
    0x8010: "cloudy",
    0x8011: "shade",
    0x8012: "color temperature",
    0x8013: "preset",
    0x8014: "off",
    0x8016: "natural light auto",
}
WHITE_BALANCE_ALIASES = {"automatic": 2, "incandescent": 6, "kelvin": 0x8012, "temperature": 0x8012}

#: 0x500E: PTP's M/P/A/S and Nikon's scene and user modes (libgphoto2 config.c ``exposure_program_modes``).
EXPOSURE_PROGRAMS: dict[int, str] = {
    1: "M",
    2: "P",
    3: "A",
    4: "S",
    5: "creative",
    6: "action",
    7: "portrait",
    0x8010: "auto",
    0x8011: "portrait (scene)",
    0x8012: "landscape",
    0x8013: "macro",
    0x8014: "sports",
    0x8015: "night portrait",
    0x8016: "night landscape",
    0x8017: "children",
    0x8018: "auto (no flash)",
    0x8050: "U1",
    0x8051: "U2",
    0x8052: "U3",
}
EXPOSURE_PROGRAM_ALIASES = {
    "manual": 1,
    "program": 2,
    "aperture priority": 3,
    "shutter priority": 4,
    "no flash": 0x8018,
}

#: 0x500A: PTP's values and Nikon's AF-S/AF-C/AF-A (libgphoto2 config.c ``focusmodes``).
FOCUS_MODES: dict[int, str] = {
    0: "undefined",
    1: "manual",
    2: "auto",
    3: "auto macro",
    0x8010: "AF-S",
    0x8011: "AF-C",
    0x8012: "AF-A",
}
FOCUS_MODE_ALIASES = {"mf": 1, "single": 0x8010, "continuous": 0x8011}

#: 0xD161 AutofocusMode (libgphoto2 config.c ``nikon_afmode``; digiCamControl NikonBase agrees).
AUTOFOCUS_MODES: dict[int, str] = {0: "AF-S", 1: "AF-C", 2: "AF-A", 3: "MF (fixed)", 4: "MF (selection)"}

#: 0x5004 as libgphoto2 labels it over PTP/IP for every Nikon (its D90 table is the first to claim 0x5004).
IMAGE_QUALITY: dict[int, str] = {
    0: "JPEG basic",
    1: "JPEG normal",
    2: "JPEG fine",
    4: "NEF",
    5: "NEF + basic",
    6: "NEF + normal",
    7: "NEF + fine",
}
#: 0x5004 on the D850 and the Z 6/Z 7 (libgphoto2 ``nikon_d850_compression``; ``*`` = optimal quality).
IMAGE_QUALITY_Z: dict[int, str] = {
    0: "JPEG basic",
    1: "JPEG basic*",
    2: "JPEG normal",
    3: "JPEG normal*",
    4: "JPEG fine",
    5: "JPEG fine*",
    6: "TIFF",
    7: "NEF",
    8: "NEF + basic",
    9: "NEF + basic*",
    10: "NEF + normal",
    11: "NEF + normal*",
    12: "NEF + fine",
    13: "NEF + fine*",
}
IMAGE_QUALITY_ALIASES = {"raw": 4, "nef (raw)": 4, "fine": 2, "normal": 1, "basic": 0}
IMAGE_QUALITY_Z_ALIASES = {"raw": 7, "nef (raw)": 7, "fine": 4, "normal": 2, "basic": 0}

#: 0xD10B: where a capture is stored (libgphoto2 ``nikon_recordingmedia``).
RECORDING_MEDIA: dict[int, str] = {0: "card", 1: "SDRAM"}
RECORDING_MEDIA_ALIASES = {"sdram": 1, "ram": 1, "memory": 1}
#: 0xD1A2 LiveViewStatus and the other on/off UINT8 properties (0xD16A ISO auto).
OFF_ON: dict[int, str] = {0: "off", 1: "on"}
#: 0xD1AC LiveViewImageSize (libgphoto2 ``nikon_liveviewsize``).
LIVE_VIEW_SIZES: dict[int, str] = {1: "QVGA", 2: "VGA", 3: "XGA"}

#: 0x500F names of the D750's Lo/Hi settings (digiCamControl NikonD750 ``_isoTable``); others are plain.
ISO_NAMES_D750: dict[int, str] = {
    50: "Lo 1.0",
    64: "Lo 0.7",
    72: "Lo 0.5",
    80: "Lo 0.3",
    16000: "Hi 0.3",
    18000: "Hi 0.5",
    20000: "Hi 0.7",
    25600: "Hi 1",
    51200: "Hi 2",
}
#: ISO names of the Z 6 (digiCamControl NikonZ6 ``_isoTable``): Hi starts above 51200, beyond UINT16.
ISO_NAMES_Z6: dict[int, str] = {
    50: "Lo 1.0",
    64: "Lo 0.7",
    72: "Lo 0.5",
    80: "Lo 0.3",
    64000: "Hi 0.3",
    72000: "Hi 0.5",
    81200: "Hi 0.7",
    102400: "Hi 1",
    204800: "Hi 2",
}

#: 0x500D special values on Nikon (libgphoto2 config.c ``_get_ExpTime``).
EXPOSURE_TIME_SPECIAL: dict[int, str] = {0xFFFF_FFFF: "bulb", 0xFFFF_FFFD: "time"}

#: 0xD1A4 LiveViewProhibitCondition bits (libgphoto2 library.c and digiCamControl NikonBase; NIKON.md §4.9).
LIVE_VIEW_PROHIBIT_BITS: dict[int, str] = {
    0: "recording destination card error",
    2: "sequence error",
    4: "shutter button fully pressed",
    5: "minimum aperture warning",
    6: "bulb",
    7: "mirror cleaning",
    8: "battery exhausted",
    9: "TTL error",
    11: "non-CPU lens",
    12: "unretrieved image in SDRAM",
    13: "mirror up",
    14: "no card or card protected",
    15: "processing a shooting operation",
    16: "shooting in progress",
    17: "temperature too high",
    18: "card protected",
    19: "card error",
    20: "card unformatted",
    21: "bulb warning",
    22: "in mirror-up operation",
    24: "lens is retracting",
    31: "exposure program is not P/A/S/M",
}


def prohibit_reasons(condition: int) -> list[str]:
    """The reasons a 0xD1A4 value gives, lowest bit first; unknown bits read ``bit N``."""
    if not 0 <= condition <= 0xFFFF_FFFF:
        raise ValueError(f"0xD1A4 value {condition} is not a u32")
    return [LIVE_VIEW_PROHIBIT_BITS.get(bit, f"bit {bit}") for bit in range(32) if condition >> bit & 1]


# ------------------------------------------------------------------------------------------------ 0xD100

#: 0xD100 values that are not a fraction (libgphoto2 ``_get_Nikon_ShutterSpeed``; digiCamControl "Flash Sync").
SHUTTER_BULB = 0xFFFF_FFFF
SHUTTER_FLASH_SYNC = 0xFFFF_FFFE
SHUTTER_TIME = 0xFFFF_FFFD
SHUTTER_SPECIAL: dict[int, str] = {SHUTTER_BULB: "bulb", SHUTTER_FLASH_SYNC: "x 200", SHUTTER_TIME: "time"}
_SHUTTER_SPECIAL_ALIASES = {
    "flash-sync": SHUTTER_FLASH_SYNC,
    "flashsync": SHUTTER_FLASH_SYNC,
    "x200": SHUTTER_FLASH_SYNC,
}


def encode_shutter(numerator: int, denominator: int) -> int:
    """The 0xD100 u32 of ``numerator/denominator`` seconds: numerator in the high 16 bits (1/250 → 0x000100FA)."""
    if not (1 <= numerator <= 0xFFFF and 1 <= denominator <= 0xFFFF):
        raise EncodeError(f"shutter {numerator}/{denominator} s does not fit two u16 (1..65535)")
    value = numerator << 16 | denominator
    if value in SHUTTER_SPECIAL:
        raise EncodeError(f"shutter {numerator}/{denominator} s collides with a special value")
    return value


def decode_shutter(value: int) -> tuple[int, int] | None:
    """(numerator, denominator) of a 0xD100 u32; None for bulb, flash sync, time or a zero part."""
    if value in SHUTTER_SPECIAL or not 0 <= value <= 0xFFFF_FFFF:
        return None
    numerator, denominator = value >> 16, value & 0xFFFF
    if numerator == 0 or denominator == 0:
        return None
    return numerator, denominator


def shutter_seconds(value: int) -> Fraction | None:
    """The exposure time of a 0xD100 value in seconds; None for the special values."""
    parts = decode_shutter(value)
    return Fraction(*parts) if parts else None


def shutter_value(seconds: Fraction) -> int | None:
    """The 0xD100 value of a time, written the way the bodies list it (NIKON.md §4.3), or None.

    Whole seconds are ``n/1``, other times of a second or more ``(10^k·t)/10^k`` (1.3 s → 13/10); shorter
    times are ``1/x`` for a whole x, else ``10^k/(10^k·x)`` (1/2.5 → 10/25), with k at most 2.
    """
    if seconds <= 0:
        return None
    x = seconds if seconds >= 1 else 1 / seconds
    for k in range(3):
        scaled = x * 10**k
        if scaled.denominator == 1:
            parts = (int(scaled), 10**k) if seconds >= 1 else (10**k, int(scaled))
            return _or_none(*parts)
    return None


class NikonShutterSpeed(Numeric):
    """Labels of 0xD100: 0x000100FA → ``1/250``, 0x000A0019 (10/25) → ``1/2.5``, 0x000D000A → ``1.3s``.

    A time of at least one second reads ``Ns``; a shorter one reads ``1/x``. Parsing takes those labels,
    libgphoto2's raw ``x/y`` (``10/25``, ``13/10``), plain seconds (``30``, ``0.5``) and the special names
    (``bulb``, ``time``, ``x 200``); times come back in the form the bodies list (:func:`shutter_value`).
    """

    def __init__(self) -> None:
        super().__init__(SHUTTER_SPECIAL)

    def format(self, value: int) -> str:
        seconds = shutter_seconds(value)
        if seconds is None:
            return f"0x{value:08X}"
        if seconds >= 1:
            return f"{decimal(seconds)}s"
        return f"1/{decimal(1 / seconds)}"

    def read(self, t: str) -> int | None:
        if t in _SHUTTER_SPECIAL_ALIASES:
            return _SHUTTER_SPECIAL_ALIASES[t]
        raw = re.fullmatch(r"(\d+)/(\d+)", t)
        if raw and raw.group(1) != "1":
            return _or_none(int(raw.group(1)), int(raw.group(2)))
        inverse = re.fullmatch(r"1/(\d+(?:\.\d+)?)", t)
        if inverse and Fraction(inverse.group(1)) > 0:
            return shutter_value(1 / Fraction(inverse.group(1)))
        seconds = re.fullmatch(r"(\d+(?:\.\d+)?)(?:s|\")?", t)
        if seconds:
            return shutter_value(Fraction(seconds.group(1)))
        return None


def _or_none(numerator: int, denominator: int) -> int | None:
    try:
        return encode_shutter(numerator, denominator)
    except EncodeError:
        return None


# ------------------------------------------------------------------------------------------------ labels


def property_labels(model: str = "d750") -> dict[int, Labels]:
    """The labels of every property the tables cover, by code, for a ``d750``- or ``z6``-like body."""
    z = model == "z6"
    iso = Iso(ISO_NAMES_Z6 if z else ISO_NAMES_D750)
    quality = (
        Enum(IMAGE_QUALITY_Z, IMAGE_QUALITY_Z_ALIASES) if z else Enum(IMAGE_QUALITY, IMAGE_QUALITY_ALIASES)
    )
    return {
        0x5001: Plain("%"),
        0x5004: quality,
        0x5005: Enum(WHITE_BALANCE, WHITE_BALANCE_ALIASES),
        0x5007: FNumber(),
        0x500A: Enum(FOCUS_MODES, FOCUS_MODE_ALIASES),
        0x500D: ExposureTime(EXPOSURE_TIME_SPECIAL),
        0x500E: Enum(EXPOSURE_PROGRAMS, EXPOSURE_PROGRAM_ALIASES),
        0x500F: iso,
        0x5010: ExposureBias(),
        NikonProperty.ExposureIndexEx: iso,
        NikonProperty.ShutterSpeed: NikonShutterSpeed(),
        NikonProperty.RecordingMedia: Enum(RECORDING_MEDIA, RECORDING_MEDIA_ALIASES),
        NikonProperty.AutofocusMode: Enum(AUTOFOCUS_MODES),
        NikonProperty.ISOAuto: Enum(OFF_ON),
        NikonProperty.LiveViewStatus: Enum(OFF_ON),
        NikonProperty.LiveViewImageSize: Enum(LIVE_VIEW_SIZES),
    }


#: Unified names → the property codes that carry them, preferred first (NIKON.md §7). The vendor takes the
#: first code the body lists: a Z reports and accepts its shutter speed through 0xD100 (N-link).
UNIFIED_NAMES: dict[str, tuple[int, ...]] = {
    "iso": (0x500F, NikonProperty.ExposureIndexEx),
    "exposure": (NikonProperty.ShutterSpeed, 0x500D),
    "fnumber": (0x5007,),
    "exp-bias": (0x5010,),
    "whitebalance": (0x5005,),
    "program": (0x500E,),
    "focusmode": (0x500A, NikonProperty.AutofocusMode),
    "imagequality": (0x5004,),
    "battery": (0x5001,),
    "isoauto": (NikonProperty.ISOAuto,),
    "capturetarget": (NikonProperty.RecordingMedia,),
    "liveview": (NikonProperty.LiveViewStatus,),
}

# ------------------------------------------------------------------------------------------------ 0x90C7

_U16 = struct.Struct("<H")
_EVENT_ENTRY = struct.Struct("<HI")
#: A bound on list lengths the decoders accept: far above anything a body queues between two polls.
MAX_EVENTS = 4096


@dataclass(frozen=True, slots=True)
class NikonEventRecord:
    """One event of a 0x90C7/0x941C list: its code and parameters (0x90C7 entries carry exactly one)."""

    code: int
    params: tuple[int, ...] = ()

    @property
    def param1(self) -> int:
        """The first parameter, 0 when there is none (as libgphoto2 reads it)."""
        return self.params[0] if self.params else 0


def decode_event_list(data: Buffer) -> list[NikonEventRecord]:
    """The events of a 0x90C7 payload (layout in the module docstring); the count must fill the data exactly.

    Raises:
        DecodeError: fewer than 2 bytes, a count the bytes cannot hold, or trailing bytes (libgphoto2
            silently drops the whole list when the count overruns; we say why).
    """
    entries = decode_counted(data, _EVENT_ENTRY, "0x90C7 list", "events")
    return [NikonEventRecord(code, (param,)) for code, param in entries]


def encode_event_list(events: Sequence[NikonEventRecord | tuple[int, int]]) -> bytes:
    """A 0x90C7 payload from events (one parameter each; a missing one is sent as 0) or (code, param) pairs."""
    if len(events) > MAX_EVENTS:
        raise EncodeError(f"0x90C7 list: {len(events)} events exceed the bound of {MAX_EVENTS}")
    out = bytearray(_U16.pack(len(events)))
    for event in events:
        code, param = (event.code, event.param1) if isinstance(event, NikonEventRecord) else event
        if isinstance(event, NikonEventRecord) and len(event.params) > 1:
            raise EncodeError(f"0x90C7 entry 0x{code:04X} has {len(event.params)} params; the list holds one")
        if not (0 <= code <= 0xFFFF and 0 <= param <= 0xFFFF_FFFF):
            raise EncodeError(f"0x90C7 entry 0x{code:X} = {param} does not fit u16 code + u32 param")
        out += _EVENT_ENTRY.pack(code, param)
    return bytes(out)


# ------------------------------------------------------------------------------------------------ 0x9203

#: Live-view header sizes by body family (NIKON.md §3.3): the D750 and the Z 6 both use 384.
LIVE_VIEW_HEADER_SIZES: Mapping[str, int] = {
    "d3": 64,  # D3, D3X, D300, D700 (digiCamControl NikonD3X/NikonD700)
    "d90": 128,  # libgphoto2's "128 byte header" comment (D90 era)
    "d750": 384,  # digiCamControl NikonBase / NikonD500Base (D800, D750, D500, D850)
    "z6": 384,  # digiCamControl NikonZ6 → NikonD500 → NikonD500Base
    "versioned": 1024,  # LiveViewObject with version, Nikon PTP Reference §9.7.1 (jpglab/fuse)
}
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"


@dataclass(frozen=True, slots=True)
class LiveViewFrame:
    """A 0x9203 answer cut in two: the body's fixed-size header and the JPEG that follows it."""

    header: bytes
    jpeg: bytes

    def encode(self) -> bytes:
        """The data phase bytes: header then JPEG."""
        return self.header + self.jpeg


def split_live_view(data: Buffer, header_size: int) -> LiveViewFrame:
    """Cut a 0x9203 payload at ``header_size``; the rest must be a JPEG (starts FF D8, ends FF D9).

    Raises:
        DecodeError: shorter than the header plus a minimal JPEG, or no JPEG markers where they belong.
    """
    view = bytes(memoryview(data).cast("B"))
    if header_size < 0:
        raise ValueError(f"header size {header_size} is negative")
    if len(view) < header_size + 4:
        raise DecodeError(
            f"0x9203 data: {len(view)} bytes, need {header_size} of header and a JPEG", offset=0
        )
    jpeg = view[header_size:]
    if not jpeg.startswith(_JPEG_SOI):
        raise DecodeError(f"0x9203 data: no JPEG start (FF D8) at offset {header_size}", offset=header_size)
    if not jpeg.endswith(_JPEG_EOI):
        raise DecodeError("0x9203 data: the JPEG does not end with FF D9", offset=len(view) - 2)
    return LiveViewFrame(view[:header_size], jpeg)


def _exact(data: Buffer, size: int, what: str) -> bytes:
    """``data`` as bytes, which must be exactly ``size`` long."""
    raw = bytes(memoryview(data).cast("B"))
    if len(raw) != size:
        raise DecodeError(f"{what}: {len(raw)} bytes, expected {size}", offset=0)
    return raw


#: The big-endian fields of the 384-byte header (offsets from digiCamControl NikonD500Base).
_LV384 = (
    ("lv_width", 8),
    ("lv_height", 10),
    ("image_width", 12),
    ("image_height", 14),
    ("af_width", 24),
    ("af_height", 26),
    ("af_x", 28),
    ("af_y", 30),
)
_BE16 = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class LiveViewHeader:
    """The 384-byte live-view header of the D500-class bodies (D750, D500, D850) and the Z 6 / Z 7.

    Multi-byte fields are **big-endian** (digiCamControl reads them with its big-endian
    ``BaseMTPCamera.ToInt16``). Offsets from digiCamControl ``NikonD500Base.GetAdditionalLiveViewData``::

        offset  size  field
        8       2     lv_width      live-view JPEG width
        10      2     lv_height     live-view JPEG height
        12      2     image_width   whole image (sensor) width
        14      2     image_height
        24      2     af_width      AF frame size
        26      2     af_height
        28      2     af_x          AF frame centre
        30      2     af_y
        37      1     rotation      0 none, 1 -90°, 2 +90°
        48      1     focus         1 = not in focus (digiCamControl: "Focused = byte != 1")
        68      1     recording     1 = movie recording
        (all other bytes kept as they came: ``raw`` is the whole header)
    """

    raw: bytes
    lv_width: int
    lv_height: int
    image_width: int
    image_height: int
    af_width: int
    af_height: int
    af_x: int
    af_y: int
    rotation: int
    focus: int
    recording: int

    SIZE = 384

    @classmethod
    def decode(cls, data: Buffer) -> LiveViewHeader:
        """Read the fields of a 384-byte header (exactly 384 bytes)."""
        raw = _exact(data, cls.SIZE, "live-view header")
        words = {name: _BE16.unpack_from(raw, off)[0] for name, off in _LV384}
        return cls(raw, **words, rotation=raw[37], focus=raw[48], recording=raw[68])

    @classmethod
    def build(cls, lv_size: tuple[int, int], image_size: tuple[int, int], **fields: int) -> LiveViewHeader:
        """A header from zeros with the given sizes (and optional AF/rotation/focus/recording fields)."""
        base = dict.fromkeys(("af_width", "af_height", "af_x", "af_y", "rotation", "focus", "recording"), 0)
        base.update(fields)
        values = dict(lv_width=lv_size[0], lv_height=lv_size[1], image_width=image_size[0],
                      image_height=image_size[1], **base)  # fmt: skip
        header = cls(bytes(cls.SIZE), **values)
        return cls.decode(header.encode())

    def encode(self) -> bytes:
        """``raw`` with the fields written over it."""
        out = bytearray(self.raw if len(self.raw) == self.SIZE else bytes(self.SIZE))
        for name, off in _LV384:
            value = getattr(self, name)
            if not 0 <= value <= 0xFFFF:
                raise EncodeError(f"live-view header {name}={value} is not a u16")
            _BE16.pack_into(out, off, value)
        for name, off in (("rotation", 37), ("focus", 48), ("recording", 68)):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise EncodeError(f"live-view header {name}={value} is not a byte")
            out[off] = value
        return bytes(out)


_LVV = struct.Struct(">HH4xII")  # version major, minor, 4 reserved, display info size, JPEG size


@dataclass(frozen=True, slots=True)
class VersionedLiveViewHeader:
    """The start of the 1024-byte "LiveViewObject with version" (Nikon PTP Reference §9.7.1; jpglab/fuse)::

    offset  size  field (big-endian)
    0       2     major version
    2       2     minor version
    4       4     reserved
    8       4     display_info_size
    12      4     jpeg_size     the JPEG that starts at offset 1024 has this many bytes
    16      2+2   whole size (h, v)    20  display area (h, v)   24  display centre (h, v)
    28      2+2   lv_width, lv_height  (the JPEG's size)
    (the rest, up to 1024, is kept in ``raw``)
    """

    raw: bytes
    major: int
    minor: int
    display_info_size: int
    jpeg_size: int
    lv_width: int
    lv_height: int

    SIZE = 1024

    @classmethod
    def decode(cls, data: Buffer) -> VersionedLiveViewHeader:
        """Read the fields of a 1024-byte versioned header."""
        raw = _exact(data, cls.SIZE, "versioned live-view header")
        major, minor, info, size = _LVV.unpack_from(raw, 0)
        width, height = struct.unpack_from(">HH", raw, 28)
        return cls(raw, major, minor, info, size, width, height)

    def encode(self) -> bytes:
        """``raw`` with the fields written over it."""
        out = bytearray(self.raw if len(self.raw) == self.SIZE else bytes(self.SIZE))
        try:
            _LVV.pack_into(out, 0, self.major, self.minor, self.display_info_size, self.jpeg_size)
            struct.pack_into(">HH", out, 28, self.lv_width, self.lv_height)
        except struct.error as exc:
            raise EncodeError(f"versioned live-view header: {exc}") from None
        return bytes(out)


def split_versioned_live_view(data: Buffer) -> tuple[VersionedLiveViewHeader, bytes]:
    """The header and the JPEG of a versioned 0x9203 answer; the JPEG length comes from the header."""
    view = bytes(memoryview(data).cast("B"))
    header = VersionedLiveViewHeader.decode(view[: VersionedLiveViewHeader.SIZE])
    end = VersionedLiveViewHeader.SIZE + header.jpeg_size
    if end > len(view):
        raise DecodeError(f"versioned live view: the header announces {header.jpeg_size} JPEG bytes, "
                          f"{len(view) - VersionedLiveViewHeader.SIZE} follow", offset=12)  # fmt: skip
    jpeg = view[VersionedLiveViewHeader.SIZE : end]
    if not jpeg.startswith(_JPEG_SOI):
        raise DecodeError("versioned live view: no JPEG start (FF D8) at offset 1024", offset=1024)
    return header, jpeg


# ------------------------------------------------------------------------------------------------ 0x9431


def partial_object_ex_params(handle: int, offset: int, size: int) -> tuple[int, int, int, int, int]:
    """The five parameters of GetPartialObjectEx: handle, offset low/high, size low/high (64-bit split)."""
    if not 0 <= handle <= 0xFFFF_FFFF or not 0 <= offset < 1 << 64 or not 0 <= size < 1 << 64:
        raise EncodeError(f"GetPartialObjectEx({handle}, {offset}, {size}): out of range")
    return handle, offset & 0xFFFF_FFFF, offset >> 32, size & 0xFFFF_FFFF, size >> 32


def partial_object_ex_request(params: Sequence[int]) -> tuple[int, int, int]:
    """(handle, offset, size) of GetPartialObjectEx parameters; missing high words read 0."""
    if not 1 <= len(params) <= 5:
        raise DecodeError(f"GetPartialObjectEx: {len(params)} params, expected 1..5")
    handle, off_lo, off_hi, size_lo, size_hi = (*params, 0, 0, 0, 0)[:5]
    return handle, off_lo | off_hi << 32, size_lo | size_hi << 32


def split_u64(value: int) -> tuple[int, int]:
    """A 64-bit count as the (low, high) response parameters GetPartialObjectEx answers with."""
    if not 0 <= value < 1 << 64:
        raise EncodeError(f"{value} is not a u64")
    return value & 0xFFFF_FFFF, value >> 32


def live_view_jpeg(data: Buffer, header_size: int = 384) -> bytes:
    """The JPEG of a 0x9203 answer: after ``header_size`` bytes, else after the first known header size
    (:data:`LIVE_VIEW_HEADER_SIZES`) where one starts; a 1024-byte versioned header gives the JPEG's length.

    Raises:
        DecodeError: no JPEG start (FF D8) after any known header size, or a JPEG cut short.
    """
    view = bytes(memoryview(data).cast("B"))
    sizes = dict.fromkeys((header_size, *sorted(set(LIVE_VIEW_HEADER_SIZES.values()))))
    for size in sizes:
        if view[size : size + 2] != _JPEG_SOI:
            continue
        if size == VersionedLiveViewHeader.SIZE:
            return split_versioned_live_view(view)[1]
        return split_live_view(view, size).jpeg
    raise DecodeError(f"0x9203 data: no JPEG after a header of {', '.join(map(str, sizes))} bytes", offset=0)
