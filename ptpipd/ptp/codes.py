"""PTP code tables (PTP.md §5): operations, responses, events, properties, formats, enums.

Only the standard (ISO 15740 / PTP 1.1) codes live here; vendor codes (0x9xxx operations,
0xDxxx properties, ...) belong to the vendor packages. Member names are the PascalCase names of
PTP.md's tables, which follow libgphoto2's ``PTP_OC_*`` / ``PTP_RC_*`` / ... suffixes, so a name
can be grepped for in either source.

Every code is 16 bits wide except :class:`VendorExtensionID` (32 bits). The top nibble of a
16-bit code says what kind of code it is and whether it is vendor-defined:

======== ========= ========
kind     standard  vendor
======== ========= ========
op       0x1xxx    0x9xxx
response 0x2xxx    0xAxxx
format   0x3xxx    0xBxxx
event    0x4xxx    0xCxxx
property 0x5xxx    0xDxxx
======== ========= ========
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AccessCapability",
    "AssociationType",
    "DevicePropCode",
    "EffectMode",
    "EventCode",
    "ExposureMeteringMode",
    "ExposureProgramMode",
    "FilesystemType",
    "FlashMode",
    "FocusMeteringMode",
    "FocusMode",
    "FunctionalMode",
    "ObjectFormat",
    "OperationCode",
    "ResponseCode",
    "StillCaptureMode",
    "StorageType",
    "VendorExtensionID",
    "WhiteBalance",
    "code_name",
]


class OperationCode(IntEnum):
    """Standard operation codes, PTP 1.0 plus the PTP 1.1 additions 0x101D-0x1025 (PTP.md §5.1)."""

    Undefined = 0x1000
    GetDeviceInfo = 0x1001
    OpenSession = 0x1002
    CloseSession = 0x1003
    GetStorageIDs = 0x1004
    GetStorageInfo = 0x1005
    GetNumObjects = 0x1006
    GetObjectHandles = 0x1007
    GetObjectInfo = 0x1008
    GetObject = 0x1009
    GetThumb = 0x100A
    DeleteObject = 0x100B
    SendObjectInfo = 0x100C
    SendObject = 0x100D
    InitiateCapture = 0x100E
    FormatStore = 0x100F
    ResetDevice = 0x1010
    SelfTest = 0x1011
    SetObjectProtection = 0x1012
    PowerDown = 0x1013
    GetDevicePropDesc = 0x1014
    GetDevicePropValue = 0x1015
    SetDevicePropValue = 0x1016
    ResetDevicePropValue = 0x1017
    TerminateOpenCapture = 0x1018
    MoveObject = 0x1019
    CopyObject = 0x101A
    GetPartialObject = 0x101B
    InitiateOpenCapture = 0x101C
    # PTP 1.1; names as in libgphoto2's ptp.h (the sources describe no parameters for them).
    StartEnumHandles = 0x101D
    EnumHandles = 0x101E
    StopEnumHandles = 0x101F
    GetVendorExtensionMaps = 0x1020
    GetVendorDeviceInfo = 0x1021
    GetResizedImageObject = 0x1022
    GetFilesystemManifest = 0x1023
    GetStreamInfo = 0x1024
    GetStream = 0x1025


class ResponseCode(IntEnum):
    """Standard response codes, 0x2000-0x2023 (PTP.md §5.2)."""

    Undefined = 0x2000
    OK = 0x2001
    GeneralError = 0x2002
    SessionNotOpen = 0x2003
    InvalidTransactionID = 0x2004
    OperationNotSupported = 0x2005
    ParameterNotSupported = 0x2006
    IncompleteTransfer = 0x2007
    InvalidStorageID = 0x2008
    InvalidObjectHandle = 0x2009
    DevicePropNotSupported = 0x200A
    InvalidObjectFormatCode = 0x200B
    StoreFull = 0x200C
    ObjectWriteProtected = 0x200D
    StoreReadOnly = 0x200E
    AccessDenied = 0x200F
    NoThumbnailPresent = 0x2010
    SelfTestFailed = 0x2011
    PartialDeletion = 0x2012
    StoreNotAvailable = 0x2013
    SpecificationByFormatUnsupported = 0x2014
    NoValidObjectInfo = 0x2015
    InvalidCodeFormat = 0x2016
    UnknownVendorCode = 0x2017
    CaptureAlreadyTerminated = 0x2018
    DeviceBusy = 0x2019
    InvalidParentObject = 0x201A
    InvalidDevicePropFormat = 0x201B
    InvalidDevicePropValue = 0x201C
    InvalidParameter = 0x201D
    SessionAlreadyOpen = 0x201E
    TransactionCancelled = 0x201F
    SpecificationOfDestinationUnsupported = 0x2020
    # PTP 1.1
    InvalidEnumHandle = 0x2021
    NoStreamEnabled = 0x2022
    InvalidDataSet = 0x2023


class EventCode(IntEnum):
    """Standard event codes, 0x4000-0x400E (PTP.md §5.3).

    Fuji's own events (0xC001 PreviewAvailable, 0xC004 ObjectAdded) are vendor codes and live
    with the Fuji code.
    """

    Undefined = 0x4000
    CancelTransaction = 0x4001
    ObjectAdded = 0x4002
    ObjectRemoved = 0x4003
    StoreAdded = 0x4004
    StoreRemoved = 0x4005
    DevicePropChanged = 0x4006
    ObjectInfoChanged = 0x4007
    DeviceInfoChanged = 0x4008
    RequestObjectTransfer = 0x4009
    StoreFull = 0x400A
    DeviceReset = 0x400B
    StorageInfoChanged = 0x400C
    # Sent only after InitiateCapture, never after InitiateOpenCapture (PTP.md §7.7).
    CaptureComplete = 0x400D
    UnreportedStatus = 0x400E


class DevicePropCode(IntEnum):
    """Standard device property codes, 0x5000-0x502C (PTP.md §5.4)."""

    Undefined = 0x5000
    BatteryLevel = 0x5001
    FunctionalMode = 0x5002
    ImageSize = 0x5003
    CompressionSetting = 0x5004
    WhiteBalance = 0x5005
    RGBGain = 0x5006
    FNumber = 0x5007
    FocalLength = 0x5008
    FocusDistance = 0x5009
    FocusMode = 0x500A
    ExposureMeteringMode = 0x500B
    FlashMode = 0x500C
    ExposureTime = 0x500D
    ExposureProgramMode = 0x500E
    ExposureIndex = 0x500F
    ExposureBiasCompensation = 0x5010
    DateTime = 0x5011
    CaptureDelay = 0x5012
    StillCaptureMode = 0x5013
    Contrast = 0x5014
    Sharpness = 0x5015
    DigitalZoom = 0x5016
    EffectMode = 0x5017
    BurstNumber = 0x5018
    BurstInterval = 0x5019
    TimelapseNumber = 0x501A
    TimelapseInterval = 0x501B
    FocusMeteringMode = 0x501C
    UploadURL = 0x501D
    Artist = 0x501E
    CopyrightInfo = 0x501F
    # PTP 1.1 stream/video/audio properties; names as in libgphoto2's ptp.h.
    SupportedStreams = 0x5020
    EnabledStreams = 0x5021
    VideoFormat = 0x5022
    VideoResolution = 0x5023
    VideoQuality = 0x5024
    VideoFrameRate = 0x5025
    VideoContrast = 0x5026
    VideoBrightness = 0x5027
    AudioFormat = 0x5028
    AudioBitrate = 0x5029
    AudioSamplingRate = 0x502A
    AudioBitPerSample = 0x502B
    AudioVolume = 0x502C


class ObjectFormat(IntEnum):
    """Standard object format codes (PTP.md §5.5).

    0x30xx are non-image formats, 0x38xx image formats. Vendor formats (e.g. Fuji RAF 0xB103)
    are not listed here.
    """

    Undefined = 0x3000
    Association = 0x3001  # a folder
    Script = 0x3002
    Executable = 0x3003
    Text = 0x3004
    HTML = 0x3005
    DPOF = 0x3006
    AIFF = 0x3007
    WAV = 0x3008
    MP3 = 0x3009
    AVI = 0x300A
    MPEG = 0x300B
    ASF = 0x300C
    QT = 0x300D  # libgphoto2 marks this one as "guessing"
    UndefinedImage = 0x3800
    EXIF_JPEG = 0x3801
    TIFF_EP = 0x3802
    FlashPix = 0x3803
    BMP = 0x3804
    CIFF = 0x3805
    Undefined_0x3806 = 0x3806  # reserved; named as in libgphoto2
    GIF = 0x3807
    JFIF = 0x3808
    PCD = 0x3809
    PICT = 0x380A
    PNG = 0x380B
    Undefined_0x380C = 0x380C  # reserved; named as in libgphoto2
    TIFF = 0x380D
    TIFF_IT = 0x380E
    JP2 = 0x380F
    JPX = 0x3810
    DNG = 0x3811  # PTP 1.1


class StorageType(IntEnum):
    """StorageInfo.StorageType (PTP.md §3.3)."""

    Undefined = 0x0000
    FixedROM = 0x0001
    RemovableROM = 0x0002
    FixedRAM = 0x0003
    RemovableRAM = 0x0004


class FilesystemType(IntEnum):
    """StorageInfo.FilesystemType (PTP.md §3.3); also FormatStore's optional parameter."""

    Undefined = 0x0000
    GenericFlat = 0x0001
    GenericHierarchical = 0x0002
    DCF = 0x0003


class AccessCapability(IntEnum):
    """StorageInfo.AccessCapability (PTP.md §3.3)."""

    ReadWrite = 0x0000
    ReadOnlyNoDeletion = 0x0001
    ReadOnlyDeletionAllowed = 0x0002


class AssociationType(IntEnum):
    """ObjectInfo.AssociationType (PTP.md §3.4).

    The meaning of ObjectInfo.AssociationDesc depends on it: the playback delta in ms for
    TimeSequence, images per row for Panoramic2D.
    """

    Undefined = 0x0000
    GenericFolder = 0x0001
    Album = 0x0002
    TimeSequence = 0x0003
    HorizontalPanoramic = 0x0004
    VerticalPanoramic = 0x0005
    Panoramic2D = 0x0006  # "2D panoramic"; a Python name cannot start with a digit
    AncillaryData = 0x0007


class VendorExtensionID(IntEnum):
    """DeviceInfo.VendorExtensionID, a UINT32 (PTP.md §5.7)."""

    Generic = 0x00000000  # no vendor extension (malc0mn's "generic")
    EastmanKodak = 0x00000001
    SeikoEpson = 0x00000002
    Agilent = 0x00000003
    Polaroid = 0x00000004
    AgfaGevaert = 0x00000005
    Microsoft = 0x00000006
    Equinox = 0x00000007
    ViewQuest = 0x00000008
    STMicroelectronics = 0x00000009
    Nikon = 0x0000000A
    Canon = 0x0000000B
    FotoNation = 0x0000000C
    Pentax = 0x0000000D
    Fuji = 0x0000000E
    Sony = 0x00000011  # seen in traces, not in the standard's list
    NDDMedical = 0x00000012
    Samsung = 0x0000001A
    Parrot = 0x0000001B
    Panasonic = 0x0000001C
    MTP = 0xFFFFFFFF  # libgphoto2's marker for MTP devices


# §5.6: values of the standard enumerated properties. Values >= 0x8000 are vendor-defined and
# therefore have no member here (e.g. Fuji's WhiteBalance 0x8006 "shade").


class WhiteBalance(IntEnum):
    """Values of property 0x5005 WhiteBalance (UINT16)."""

    Undefined = 0
    Manual = 1
    Automatic = 2
    OnePushAutomatic = 3
    Daylight = 4
    Fluorescent = 5
    Tungsten = 6
    Flash = 7


class FocusMode(IntEnum):
    """Values of property 0x500A FocusMode (UINT16)."""

    Undefined = 0
    Manual = 1
    Automatic = 2
    AutomaticMacro = 3


class ExposureMeteringMode(IntEnum):
    """Values of property 0x500B ExposureMeteringMode (UINT16)."""

    Undefined = 0
    Average = 1
    CenterWeightedAverage = 2
    MultiSpot = 3
    CenterSpot = 4


class FlashMode(IntEnum):
    """Values of property 0x500C FlashMode (UINT16)."""

    Undefined = 0
    AutoFlash = 1
    FlashOff = 2
    FillFlash = 3
    RedEyeAuto = 4
    RedEyeFill = 5
    ExternalSync = 6


class ExposureProgramMode(IntEnum):
    """Values of property 0x500E ExposureProgramMode (UINT16)."""

    Undefined = 0
    Manual = 1
    Automatic = 2
    AperturePriority = 3
    ShutterPriority = 4
    ProgramCreative = 5
    ProgramAction = 6
    Portrait = 7


class StillCaptureMode(IntEnum):
    """Values of property 0x5013 StillCaptureMode."""

    Undefined = 0
    Normal = 1
    Burst = 2
    Timelapse = 3


class EffectMode(IntEnum):
    """Values of property 0x5017 EffectMode."""

    Undefined = 0
    Standard = 1
    BlackAndWhite = 2
    Sepia = 3


class FocusMeteringMode(IntEnum):
    """Values of property 0x501C FocusMeteringMode."""

    Undefined = 0
    CenterSpot = 1
    MultiSpot = 2


class FunctionalMode(IntEnum):
    """Values of property 0x5002 FunctionalMode and of DeviceInfo.FunctionalMode (UINT16)."""

    Standard = 0
    Sleep = 1


def code_name(enum: type[IntEnum], value: int) -> str:
    """The member name of ``value`` in ``enum``, or its hex form when ``enum`` has no such member.

    The fallback is ``0x`` plus upper-case hex digits, 4 wide, or 8 wide for values above
    0xFFFF, so unknown 16-bit codes and 32-bit IDs both read naturally in logs:

    >>> code_name(OperationCode, 0x1001)
    'GetDeviceInfo'
    >>> code_name(OperationCode, 0x902B)
    '0x902B'
    >>> code_name(VendorExtensionID, 0x12345)
    '0x00012345'
    """
    try:
        return enum(value).name
    except ValueError:
        width = 8 if value > 0xFFFF else 4
        return f"0x{value:0{width}X}"
