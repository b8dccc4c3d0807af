"""Canon EOS data: codes, value tables with owner-facing labels, and the EOS wire structures (pure data).

Everything here converts numbers and bytes; nothing talks to a camera. It imports only :mod:`ptpipd.ptp` and
the label helpers, so the simulated EOS body shares it with the driver. The facts and their sources are in
``tests/data/canon/CANON.md`` (§ numbers below point there): libgphoto2 ``ptp.h`` (codes), ``ptp-pack.c``
(record layouts), ``config.c`` (value tables), petabyt/libpict (SetDevicePropValueEx, live view), and runs of
Debian's gphoto2 2.5.28 / libgphoto2 2.5.30 against a throw-away responder.

All integers are little-endian. The structures:

GetEvent 0x9116 data (§4): records back to back, the last one the terminator::

    offset  size  field
    0       4     Size u32 of this record, these 8 bytes included
    4       4     Type u32 (an event code, 0xC189 …; 0 for the terminator)
    8       Size-8  body, laid out per type (see the record classes)
    ...           terminator: Size = 8, Type = 0

SetDevicePropValueEx 0x9110 data (§5)::

    0       4     Size u32 = the whole payload, these 4 bytes included (0x0C for a number)
    4       4     PropertyCode u32
    8       ...   value: u32 for numbers (even u8/u16 properties), ASCII + NUL for strings,
                  an ImageFormat structure for 0xD120–0xD123
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Any, ClassVar, TypeAlias

from ptpipd.ptp import DecodeError, EncodeError, Value
from ptpipd.ptp.types import Buffer
from ptpipd.vendors.labels import Enum, Labels, fraction, hex_label, normalize

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_HEAD = struct.Struct(
    "<II"
)  # size, type: the 8 bytes every GetEvent record and viewfinder record starts with


class _Fixed:
    """The fixed fields of a structure, in wire order: a struct format and the dataclass fields it packs, so
    one declaration serves both directions (the layouts are drawn in the classes' docstrings)."""

    def __init__(self, fmt: str, names: str) -> None:
        self.struct = struct.Struct(fmt)
        self.names = names.split()
        self.size = self.struct.size

    def pack(self, record: object) -> bytes:
        """The fields of ``record``, packed in wire order."""
        return self.struct.pack(*(getattr(record, name) for name in self.names))

    def unpack(self, data: Buffer, offset: int, what: str) -> dict[str, Any]:
        """The fields at ``offset``, by name; a DecodeError naming ``what`` when they do not fit."""
        return dict(zip(self.names, _unpack(self.struct.format, data, offset, what), strict=True))


# ------------------------------------------------------------------------------------------------ codes


class CanonOperation(IntEnum):
    """Canon operation codes (libgphoto2 ``ptp.h`` ``PTP_OC_CANON_*``; CANON.md §2)."""

    SetPairingInfo = 0x9030
    GetPairingInfo = 0x9031
    DeletePairingInfo = 0x9032
    GetMACAddress = 0x9033
    SetDisplayMonitor = 0x9034
    PairingComplete = 0x9035
    GetWirelessMAXChannel = 0x9036
    SetRemoteShootingMode = 0x9086
    GetStorageIDs = 0x9101
    GetStorageInfo = 0x9102
    GetObjectInfo = 0x9103
    GetObject = 0x9104
    DeleteObject = 0x9105
    FormatStore = 0x9106
    GetPartialObject = 0x9107
    GetDeviceInfoEx = 0x9108
    GetObjectInfoEx = 0x9109
    GetThumbEx = 0x910A
    SendPartialObject = 0x910B
    SetObjectAttributes = 0x910C
    GetObjectTime = 0x910D
    SetObjectTime = 0x910E
    RemoteRelease = 0x910F
    SetDevicePropValueEx = 0x9110
    GetRemoteMode = 0x9113
    SetRemoteMode = 0x9114
    SetEventMode = 0x9115
    GetEvent = 0x9116
    TransferComplete = 0x9117
    CancelTransfer = 0x9118
    ResetTransfer = 0x9119
    PCHDDCapacity = 0x911A
    SetUILock = 0x911B
    ResetUILock = 0x911C
    KeepDeviceOn = 0x911D
    SetNullPacketMode = 0x911E
    UpdateFirmware = 0x911F
    BulbStart = 0x9125
    BulbEnd = 0x9126
    RequestDevicePropValue = 0x9127
    RemoteReleaseOn = 0x9128
    RemoteReleaseOff = 0x9129
    GetPartialObjectEx = 0x912C
    ResetMirrorLockupState = 0x9130
    PopupBuiltinFlash = 0x9131
    EndGetPartialObjectEx = 0x9132
    MovieSelectSWOn = 0x9133
    MovieSelectSWOff = 0x9134
    SetRequestOLCInfoGroup = 0x913D
    GetCameraSupport = 0x913F
    InitiateViewfinder = 0x9151
    TerminateViewfinder = 0x9152
    GetViewFinderData = 0x9153
    DoAf = 0x9154
    DriveLens = 0x9155
    DepthOfFieldPreview = 0x9156
    ClickWB = 0x9157
    Zoom = 0x9158
    ZoomPosition = 0x9159
    SetLiveAfFrame = 0x915A
    TouchAfPosition = 0x915B
    AfCancel = 0x9160
    GetObjectInfo64 = 0x9170
    GetObject64 = 0x9171
    GetPartialObject64 = 0x9172
    GetObjectInfoEx64 = 0x9173
    GetPartialObjectEx64 = 0x9174


class CanonEvent(IntEnum):
    """Record types of the GetEvent data (libgphoto2 ``ptp.h`` ``PTP_EC_CANON_EOS_*``; CANON.md §2)."""

    RequestGetEvent = 0xC101
    RequestCancelTransferMA = 0xC180
    ObjectAddedEx = 0xC181
    ObjectRemoved = 0xC182
    RequestGetObjectInfoEx = 0xC183
    StorageStatusChanged = 0xC184
    StorageInfoChanged = 0xC185
    RequestObjectTransfer = 0xC186
    ObjectInfoChangedEx = 0xC187
    ObjectContentChanged = 0xC188
    PropValueChanged = 0xC189
    AvailListChanged = 0xC18A
    CameraStatusChanged = 0xC18B
    WillSoonShutdown = 0xC18D
    ShutdownTimerUpdated = 0xC18E
    RequestCancelTransfer = 0xC18F
    RequestObjectTransferDT = 0xC190
    RequestCancelTransferDT = 0xC191
    StoreAdded = 0xC192
    StoreRemoved = 0xC193
    BulbExposureTime = 0xC194
    RecordingTime = 0xC195
    InnerDevelopParam = 0xC196
    RequestObjectTransferDevelop = 0xC197
    GPSLogOutputProgress = 0xC198
    GPSLogOutputComplete = 0xC199
    TouchTrans = 0xC19A
    RequestObjectTransferExInfo = 0xC19B
    PowerZoomInfoChanged = 0xC19D
    RequestPushMode = 0xC19F
    RequestObjectTransferTS = 0xC1A2
    AfResult = 0xC1A3
    CTGInfoCheckComplete = 0xC1A4
    OLCInfoChanged = 0xC1A5
    ObjectAddedEx64 = 0xC1A7
    ObjectInfoChangedEx64 = 0xC1A8
    RequestObjectTransfer64 = 0xC1A9
    RequestObjectTransferDT64 = 0xC1AA
    RequestObjectTransferFTP64 = 0xC1AB
    RequestObjectTransferInfoEx64 = 0xC1AC
    RequestObjectTransferMA64 = 0xC1AD
    ImportError = 0xC1AF
    BlePairing = 0xC1B0
    RequestAutoSendImages = 0xC1B1
    RequestTranscodedBlockTransfer = 0xC1B2
    RequestCAssistImage = 0xC1B4
    RequestObjectTransferFTP = 0xC1F1


class CanonResponse(IntEnum):
    """Canon response codes (libgphoto2 ``ptp.h`` ``PTP_RC_CANON_EOS_*``). 0xA102 answers an early
    GetViewFinderData; gphoto2 and libpict retry on it."""

    UnknownCommand = 0xA001
    OperationRefused = 0xA005
    LensCoverClosed = 0xA006
    LowBattery = 0xA101
    ObjectNotReady = 0xA102
    CannotMakeObject = 0xA104
    MemoryStatusNotReady = 0xA106


class CanonProperty(IntEnum):
    """EOS device property codes (libgphoto2 ``ptp.h`` ``PTP_DPC_CANON_EOS_*``; CANON.md §2). They travel
    in GetEvent records and SetDevicePropValueEx, never through GetDevicePropDesc."""

    Aperture = 0xD101
    ShutterSpeed = 0xD102
    ISOSpeed = 0xD103
    ExpCompensation = 0xD104
    AutoExposureMode = 0xD105
    DriveMode = 0xD106
    MeteringMode = 0xD107
    FocusMode = 0xD108
    WhiteBalance = 0xD109
    ColorTemperature = 0xD10A
    WhiteBalanceAdjustA = 0xD10B
    WhiteBalanceAdjustB = 0xD10C
    WhiteBalanceXA = 0xD10D
    WhiteBalanceXB = 0xD10E
    ColorSpace = 0xD10F
    PictureStyle = 0xD110
    BatteryPower = 0xD111
    BatterySelect = 0xD112
    CameraTime = 0xD113
    AutoPowerOff = 0xD114
    Owner = 0xD115
    ModelID = 0xD116
    PTPExtensionVersion = 0xD119
    DPOFVersion = 0xD11A
    AvailableShots = 0xD11B
    CaptureDestination = 0xD11C
    BracketMode = 0xD11D
    CurrentStorage = 0xD11E
    CurrentFolder = 0xD11F
    ImageFormat = 0xD120
    ImageFormatCF = 0xD121
    ImageFormatSD = 0xD122
    ImageFormatExtHD = 0xD123
    RefocusState = 0xD124
    CameraNickname = 0xD125
    ConnectStatus = 0xD127
    LensBarrelStatus = 0xD128
    SilentShutterSetting = 0xD129
    IntervalShootSetting = 0xD134
    IntervalShootState = 0xD135
    AEModeDial = 0xD138
    AEModeCustom = 0xD139
    MirrorUpSetting = 0xD13A
    HighlightTonePriority = 0xD13B
    AFSelectFocusArea = 0xD13C
    HDRSetting = 0xD13D
    MWhiteBalance = 0xD145
    MWhiteBalanceEx = 0xD146
    ShutterReleaseCounter = 0xD167
    AvailableImageSize = 0xD168
    UTCTime = 0xD17C
    Timezone = 0xD17D
    Summertime = 0xD17E
    MultiAspect = 0xD194
    MovieSoundRecord = 0xD195
    OLCInfoVersion = 0xD199
    CustomFuncEx = 0xD1A0
    MyMenu = 0xD1A1
    WftStatus = 0xD1A3
    BatteryInfo = 0xD1A6
    AdapterInfo = 0xD1A7
    LensStatus = 0xD1A8
    QuickReviewTime = 0xD1A9
    CardExtension = 0xD1AA
    TempStatus = 0xD1AB
    ShutterCounter = 0xD1AC
    SpecialOption = 0xD1AD
    PhotoStudioMode = 0xD1AE
    SerialNumber = 0xD1AF
    EVFOutputDevice = 0xD1B0
    EVFMode = 0xD1B1
    DepthOfFieldPreview = 0xD1B2
    EVFSharpness = 0xD1B3
    EVFWBMode = 0xD1B4
    EVFClickWBCoeffs = 0xD1B5
    EVFColorTemp = 0xD1B6
    ExposureSimMode = 0xD1B7
    EVFRecordStatus = 0xD1B8
    LvAfSystem = 0xD1BA
    MovSize = 0xD1BB
    LvViewTypeSelect = 0xD1BC
    MirrorDownStatus = 0xD1BD
    MovieParam = 0xD1BE
    MirrorLockupState = 0xD1BF
    FlashChargingState = 0xD1C0
    AloMode = 0xD1C1
    FixedMovie = 0xD1C2
    OneShotRawOn = 0xD1C3
    ErrorForDisplay = 0xD1C4
    AEModeMovie = 0xD1C5
    BuiltinStroboMode = 0xD1C6
    StroboDispState = 0xD1C7
    StroboETTL2Metering = 0xD1C8
    ContinousAFMode = 0xD1C9
    MovieParam2 = 0xD1CA
    StroboSettingExpComposition = 0xD1CB
    MovieParam3 = 0xD1CC
    Artist = 0xD1D0
    Copyright = 0xD1D1
    BracketValue = 0xD1D2
    FocusInfoEx = 0xD1D3
    DepthOfField = 0xD1D4
    Brightness = 0xD1D5
    LensAdjustParams = 0xD1D6
    EFComp = 0xD1D7
    LensName = 0xD1D8
    AEB = 0xD1D9
    StroboSetting = 0xD1DA
    StroboWirelessSetting = 0xD1DB
    StroboFiring = 0xD1DC
    LensID = 0xD1DD
    LCDBrightness = 0xD1DE
    CADarkBright = 0xD1DF


#: GetEvent terminator record type (a record of Size 8 and Type 0 ends the data).
TERMINATOR = b"\x08\x00\x00\x00\x00\x00\x00\x00"
#: SetRemoteMode / SetEventMode parameter gphoto2 sends over PTP/IP (CANON.md §6; USB uses 0x15 for remote mode).
MODE_ON = 1
#: RemoteReleaseOn/Off parameter: 1 = half press (focus), 2 = full press (CANON.md §6.6).
RELEASE_HALF = 1
RELEASE_FULL = 2
#: GetViewFinderData parameters gphoto2 2.5.30 and libpict send (CANON.md §6.7).
VIEWFINDER_PARAMS = (0x0020_0000, 0, 0)
#: Viewfinder record type of a JPEG frame (CANON.md §4.9).
VIEWFINDER_JPEG = 1
#: EVFOutputDevice 0xD1B0 is a bit set (libgphoto2 config.c): TFT 1, PC 2, mobile 4, mobile2 8.
EVF_TFT, EVF_PC, EVF_MOBILE, EVF_MOBILE2 = 1, 2, 4, 8
#: CaptureDestination 0xD11C: 4 = the host ("HD", libgphoto2), 2 = the card (libpict's live-view end).
CAPTURE_TO_PC = 4
CAPTURE_TO_CARD = 2
#: PCHDDCapacity arguments gphoto2 sends after CaptureDestination = PC (free space announcement).
PC_HDD_CAPACITY = (0x0FFF_FFFF, 0x1000, 1)
#: Self-timer seconds of drive modes 0x10 and 0x11 (DriveMode 0xD106 "Self-timer 10s", "Self-timer 2s").
SELF_TIMER = {0x10: 10.0, 0x11: 2.0}
#: ObjectFormat of a folder (PTP Association).
ASSOCIATION = 0x3001
#: AvailListChanged list type libgphoto2 understands: an enumeration of u32 elements (CANON.md §4.3).
LIST_ENUMERATION = 3

# ------------------------------------------------------------------------------------------------ value kinds


class Kind(IntEnum):
    """How a property's value is laid out in a PropValueChanged record and in SetDevicePropValueEx."""

    U8 = 1
    U16 = 2
    U32 = 4
    I16 = 3
    STR = 16
    IMAGE_FORMAT = 17
    RAW = 0


def _kinds(kind: Kind, *codes: int) -> dict[int, Kind]:
    return dict.fromkeys(codes, kind)


#: The value layout per property (libgphoto2 ptp-pack.c "set DataType" switch; CANON.md §4.2). Numbers
#: arrive as 4 bytes; libgphoto2 reads the low 1/2/4 of them according to this type. Others stay bytes.
# fmt: off
PROPERTY_KINDS: dict[int, Kind] = {
    **_kinds(Kind.U8, 0xD104, 0xD107, 0xD109, 0xD110),
    **_kinds(Kind.U16, 0xD101, 0xD102, 0xD103, 0xD105, 0xD106, 0xD108, 0xD10F, 0xD111, 0xD112, 0xD114, 0xD119,
             0xD11A, 0xD11D, 0xD1A9, 0xD1B0, 0xD1B1, 0xD1D9),
    **_kinds(Kind.I16, 0xD10B, 0xD10C),
    **_kinds(Kind.U32, 0xD10A, 0xD10D, 0xD10E, 0xD113, 0xD116, 0xD11B, 0xD11C, 0xD11E, 0xD11F, 0xD1AC, 0xD1DC,
             0xD1DD, 0xD1A3, 0xD1A8, 0xD1AA, 0xD1AB, 0xD1AE, 0xD1B2, 0xD1B7, 0xD1B8, 0xD1BA, 0xD1BB, 0xD1BC,
             0xD1C1, 0xD1D4, 0xD1D5),
    **_kinds(Kind.STR, 0xD115, 0xD1AF, 0xD1D0, 0xD1D1, 0xD1D8),
    **_kinds(Kind.IMAGE_FORMAT, 0xD120, 0xD121, 0xD122, 0xD123),
}
# fmt: on
_WIDTH = {Kind.U8: 1, Kind.U16: 2, Kind.I16: 2, Kind.U32: 4}


def property_kind(code: int) -> Kind:
    """The value layout of ``code``; RAW (keep the bytes) for properties nobody has described."""
    return PROPERTY_KINDS.get(code, Kind.RAW)


# ------------------------------------------------------------------------------------------------ image format


@dataclass(frozen=True, slots=True)
class ImageFile:
    """One file of an EOS image format setting: ``kind`` 1 JPEG / 6 RAW, ``size`` 0 L, 1 M, 2 S, 5 M1, 6 M2,
    0xE S1, 0xF S2, 0x10 S3, ``compression`` 2 normal, 3 fine (or cRAW), 4 lossless RAW."""

    kind: int
    size: int
    compression: int


@dataclass(frozen=True, slots=True)
class ImageFormat:
    """The value of ImageFormat 0xD120 (and CF/SD/ExtHD 0xD121–0xD123), libgphoto2 ptp-pack.c::

        offset  size  field
        0       4     Count u32: files written per shot (1 or 2)
        4+16i   4     EntrySize u32 = 0x10
        8+16i   4     Kind u32 (1 JPEG, 6 RAW)
        12+16i  4     Size u32
        16+16i  4     Compression u32

    :attr:`code` condenses it to libgphoto2's u16: nibbles size1 | comp1 (+8 for RAW) | size2 | comp2, sizes
    0xE–0x10 stored minus one, and 0xFF as the second byte when there is one file (libgphoto2 master;
    2.5.30 wrote 0x00 there). RAW + L fine JPEG = 0x0C03.
    """

    files: tuple[ImageFile, ...]

    @classmethod
    def decode(cls, data: Buffer, offset: int = 0) -> tuple[ImageFormat, int]:
        """The structure at ``offset`` and the offset after it."""
        count = _u32(data, offset, "ImageFormat count")
        if count not in (1, 2):
            raise DecodeError(f"ImageFormat: {count} files (expected 1 or 2)", offset=offset)
        files = []
        for i in range(count):
            at = offset + 4 + 16 * i
            entry_size, kind, size, comp = _unpack("<4I", data, at, "ImageFormat entry")
            if entry_size != 0x10:
                raise DecodeError(f"ImageFormat: entry size 0x{entry_size:X} (expected 0x10)", offset=at)
            files.append(ImageFile(kind, size, comp))
        return cls(tuple(files)), offset + 4 + 16 * count

    def encode(self) -> bytes:
        if len(self.files) not in (1, 2):
            raise EncodeError(f"ImageFormat: {len(self.files)} files (expected 1 or 2)")
        out = _U32.pack(len(self.files))
        for f in self.files:
            out += struct.pack("<4I", 0x10, f.kind, f.size, f.compression)
        return out

    @property
    def code(self) -> int | None:
        """libgphoto2's u16 for this format, or None when a field does not fit its nibble."""
        nibbles = [_file_nibbles(f) for f in self.files]
        if None in nibbles:
            return None
        first = nibbles[0]
        second = nibbles[1] if len(nibbles) == 2 else 0xFF
        assert first is not None and second is not None
        return (first << 8) | second

    @classmethod
    def from_code(cls, code: int) -> ImageFormat:
        """The structure libgphoto2 sends for ``code`` (ptp_pack_EOS_ImageFormat)."""
        if not 0 <= code <= 0xFFFF:
            raise EncodeError(f"ImageFormat: code 0x{code:X} is not a u16")
        parts = [code >> 8] if code & 0xFF == 0xFF else [code >> 8, code & 0xFF]
        return cls(tuple(_nibbles_file(p) for p in parts))


def _file_nibbles(f: ImageFile) -> int | None:
    size = f.size - 1 if f.size >= 0xE else f.size
    if f.kind not in (1, 6) or size > 0xF or f.compression > 7:
        return None
    return (size << 4) | f.compression | (8 if f.kind == 6 else 0)


def _nibbles_file(byte: int) -> ImageFile:
    size, comp = byte >> 4, byte & 0xF
    return ImageFile(6 if comp & 8 else 1, size + 1 if size >= 0xD else size, comp & 7)


# ------------------------------------------------------------------------------------------------ values

EosValue: TypeAlias = int | str | bytes | ImageFormat
"""A decoded EOS property value: a number, a string, an image format, or the bytes of an unknown layout."""


def decode_prop_value(code: int, data: Buffer) -> EosValue:
    """The value ``data`` (the bytes after the property code) holds for property ``code``.

    Numbers are read from their low 1/2/4 bytes as libgphoto2 does (exposure compensation 0xFD and
    0xFFFFFFFD both give 0xFD); I16 comes back signed.
    """
    kind = property_kind(code)
    raw = bytes(data)
    if kind in _WIDTH:
        width = _WIDTH[kind]
        if len(raw) < width:
            raise DecodeError(f"property 0x{code:04X}: {len(raw)} value bytes, need {width}")
        value = int.from_bytes(raw[:width], "little")
        return value - 0x10000 if kind is Kind.I16 and value >= 0x8000 else value
    if kind is Kind.STR:
        return raw.split(b"\0", 1)[0].decode("latin-1")
    if kind is Kind.IMAGE_FORMAT:
        return ImageFormat.decode(raw)[0]  # bytes after the structure are ignored, as libgphoto2 does
    return raw


def encode_prop_value(code: int, value: EosValue) -> bytes:
    """The bytes EOS bodies and gphoto2 put on the wire for ``value``: numbers as a zero-extended u32."""
    kind = property_kind(code)
    if kind in _WIDTH and isinstance(value, int):
        mask = (1 << (8 * _WIDTH[kind])) - 1
        if not -(mask + 1) // 2 <= value <= mask:
            raise EncodeError(f"property 0x{code:04X}: {value} does not fit {kind.name}")
        return _U32.pack(value & mask)
    if kind is Kind.STR and isinstance(value, str):
        return _ascii(value, f"property 0x{code:04X}") + b"\0"
    if kind is Kind.IMAGE_FORMAT and isinstance(value, (ImageFormat, int)):
        return (value if isinstance(value, ImageFormat) else ImageFormat.from_code(value)).encode()
    if kind is Kind.RAW and isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise EncodeError(f"property 0x{code:04X}: a {type(value).__name__} is not a {kind.name} value")


def _ascii(text: str, what: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{what}: {text!r} is not Latin-1") from None


@dataclass(frozen=True, slots=True)
class SetPropValue:
    """The data of SetDevicePropValueEx 0x9110 (gphoto2 2.5.30 runs, libpict ``ptp_eos_set_prop_value``)::

    offset  size  field
    0       4     Size u32 = 8 + len(value bytes)
    4       4     PropertyCode u32
    8       ...   value bytes (:func:`encode_prop_value`): ISO 800 = 0c 00 00 00 03 d1 00 00 60 00 00 00
    """

    code: int
    data: bytes

    @classmethod
    def of(cls, code: int, value: EosValue) -> SetPropValue:
        return cls(code, encode_prop_value(code, value))

    @property
    def value(self) -> EosValue:
        return decode_prop_value(self.code, self.data)

    def encode(self) -> bytes:
        return struct.pack("<II", 8 + len(self.data), self.code) + self.data

    @classmethod
    def decode(cls, data: Buffer) -> SetPropValue:
        size, code = _unpack("<II", data, 0, "SetDevicePropValueEx")
        if size != len(data):
            raise DecodeError(f"SetDevicePropValueEx: Size says {size} bytes, the data has {len(data)}")
        return cls(code, bytes(data[8:]))


# ------------------------------------------------------------------------------------------------ GetEvent records


@dataclass(frozen=True, slots=True)
class PropValueChanged:
    """Type 0xC189, a property's current value (ptp-pack.c ``PTP_ece_Prop_*``)::

    offset  size    field
    0       4       Size u32 = 12 + len(data)
    4       4       Type u32 = 0xC189
    8       4       PropertyCode u32
    12      Size-12 value bytes: numbers as u32 (ISO 100 = 48 00 00 00), strings ASCII + NUL
    """

    code: int
    data: bytes
    type: ClassVar[int] = CanonEvent.PropValueChanged

    @classmethod
    def of(cls, code: int, value: EosValue) -> PropValueChanged:
        return cls(code, encode_prop_value(code, value))

    @property
    def value(self) -> EosValue:
        return decode_prop_value(self.code, self.data)

    def body(self) -> bytes:
        return _U32.pack(self.code) + self.data

    @classmethod
    def from_body(cls, body: bytes) -> PropValueChanged:
        return cls(_u32(body, 0, "PropValueChanged code"), body[4:])


@dataclass(frozen=True, slots=True)
class AvailListChanged:
    """Type 0xC18A, the values a property may take now (ptp-pack.c ``PTP_ece_Prop_Desc_*``)::

        offset  size  field
        0       4     Size u32
        4       4     Type u32 = 0xC18A
        8       4     PropertyCode u32
        12      4     ListType u32 = 3 (enumeration; the only one libgphoto2 reads)
        16      4     Count u32
        20      ...   Count elements: u32 each, or an ImageFormat structure each for 0xD120–0xD123

    A list type other than 3 decodes as :class:`UnknownRecord` (its layout is not known).
    """

    code: int
    values: tuple[int | ImageFormat, ...]
    list_type: int = LIST_ENUMERATION
    type: ClassVar[int] = CanonEvent.AvailListChanged

    def body(self) -> bytes:
        out = struct.pack("<III", self.code, self.list_type, len(self.values))
        for v in self.values:
            out += v.encode() if isinstance(v, ImageFormat) else _pack_u32(v, "AvailListChanged value")
        return out

    @classmethod
    def from_body(cls, body: bytes) -> AvailListChanged:
        code, list_type, count = _unpack("<III", body, 0, "AvailListChanged header")
        if property_kind(code) is Kind.IMAGE_FORMAT:
            values: list[int | ImageFormat] = []
            at = 12
            for _ in range(min(count, len(body) // 20 + 1)):
                fmt, at = ImageFormat.decode(body, at)
                values.append(fmt)
            if len(values) != count or at != len(body):
                raise DecodeError(
                    f"AvailListChanged 0x{code:04X}: {count} formats do not fill {len(body) - 12} bytes"
                )
            return cls(code, tuple(values), list_type)
        if count * 4 != len(body) - 12:
            raise DecodeError(
                f"AvailListChanged 0x{code:04X}: {count} u32 values need {count * 4} bytes, "
                f"have {len(body) - 12}"
            )
        return cls(code, struct.unpack_from(f"<{count}I", body, 12), list_type)


@dataclass(frozen=True, slots=True)
class ObjectAdded:
    """Type 0xC181 ObjectAddedEx (also 0xC187 ObjectInfoChangedEx, same layout), ptp-pack.c ``PTP_ece_OA_*``::

    offset  size  field
    0       4     Size u32
    4       4     Type u32 = 0xC181
    8       4     ObjectHandle u32
    12      4     StorageID u32
    16      2     ObjectFormat u16 (0x3801 JPEG, 0xB108 CR3, 0xB103 CR2)
    18      2     unknown u16 (reserved0)
    20      4     unknown u32 (reserved1)
    24      4     unknown u32 (reserved2)
    28      4     ObjectSize u32
    32      4     ParentObject u32 (the folder's handle)
    36      4     unknown u32 (reserved3)
    40      ...   Filename, ASCII + NUL, then ``trailer`` bytes up to Size
    """

    handle: int
    storage_id: int
    object_format: int
    size: int
    parent: int
    name: str
    reserved0: int = 0
    reserved1: int = 0
    reserved2: int = 0
    reserved3: int = 0
    trailer: bytes = b""
    type: int = CanonEvent.ObjectAddedEx

    _FIXED: ClassVar[_Fixed] = _Fixed(
        "<IIHHIIIII", "handle storage_id object_format reserved0 reserved1 reserved2 size parent reserved3"
    )

    def body(self) -> bytes:
        return self._FIXED.pack(self) + _ascii(self.name, "ObjectAdded name") + b"\0" + self.trailer

    @classmethod
    def from_body(cls, body: bytes, rtype: int = CanonEvent.ObjectAddedEx) -> ObjectAdded:
        fields = cls._FIXED.unpack(body, 0, "ObjectAdded")
        name, trailer = _cstring(body, cls._FIXED.size, "ObjectAdded name")
        return cls(**fields, name=name, trailer=trailer, type=rtype)


@dataclass(frozen=True, slots=True)
class ObjectTransfer:
    """Type 0xC186 RequestObjectTransfer: a new image waits in the camera's RAM for the host (capture to PC),
    ptp-pack.c ``PTP_ece_OI_*``::

        offset  size  field
        0       4     Size u32
        4       4     Type u32 = 0xC186
        8       4     ObjectHandle u32 (download with GetPartialObject/GetObject, then TransferComplete 0x9117)
        12      2     ObjectFormat u16
        14      2     unknown u16 (reserved0)
        16      4     unknown u32 (reserved1)
        20      4     ObjectSize u32
        24      4     unknown u32 (reserved2)
        28      ...   Filename, ASCII + NUL, then ``trailer`` bytes up to Size
    """

    handle: int
    object_format: int
    size: int
    name: str
    reserved0: int = 0
    reserved1: int = 0
    reserved2: int = 0
    trailer: bytes = b""
    type: int = CanonEvent.RequestObjectTransfer

    _FIXED: ClassVar[_Fixed] = _Fixed("<IHHIII", "handle object_format reserved0 reserved1 size reserved2")

    def body(self) -> bytes:
        return self._FIXED.pack(self) + _ascii(self.name, "ObjectTransfer name") + b"\0" + self.trailer

    @classmethod
    def from_body(cls, body: bytes, rtype: int = CanonEvent.RequestObjectTransfer) -> ObjectTransfer:
        fields = cls._FIXED.unpack(body, 0, "ObjectTransfer")
        name, trailer = _cstring(body, cls._FIXED.size, "ObjectTransfer name")
        return cls(**fields, name=name, trailer=trailer, type=rtype)


@dataclass(frozen=True, slots=True)
class CameraStatusChanged:
    """Type 0xC18B (ptp-pack.c): ``8  4  Status u32``, then ``extra`` bytes (none seen)."""

    status: int
    extra: bytes = b""
    type: ClassVar[int] = CanonEvent.CameraStatusChanged

    def body(self) -> bytes:
        return _pack_u32(self.status, "CameraStatusChanged status") + self.extra

    @classmethod
    def from_body(cls, body: bytes) -> CameraStatusChanged:
        return cls(_u32(body, 0, "CameraStatusChanged status"), body[4:])


@dataclass(frozen=True, slots=True)
class UnknownRecord:
    """Any other record: its type and the bytes after the 8-byte header, kept as they came."""

    type: int
    data: bytes = b""

    def body(self) -> bytes:
        return self.data


Record: TypeAlias = (
    PropValueChanged | AvailListChanged | ObjectAdded | ObjectTransfer | CameraStatusChanged | UnknownRecord
)

_OBJECT_ADDED = (CanonEvent.ObjectAddedEx, CanonEvent.ObjectInfoChangedEx)


def decode_record(record: Buffer) -> Record:
    """One whole record (header included) as its dataclass. DecodeError names what is wrong."""
    size, rtype = _unpack("<II", record, 0, "GetEvent record")
    if size != len(record):
        raise DecodeError(f"GetEvent record 0x{rtype:04X}: Size {size} but {len(record)} bytes given")
    body = bytes(record[8:])
    try:
        return _decode_body(rtype, body)
    except DecodeError as exc:
        raise DecodeError(f"GetEvent record 0x{rtype:04X}: {exc}") from None


def _decode_body(rtype: int, body: bytes) -> Record:
    if rtype == CanonEvent.PropValueChanged:
        return PropValueChanged.from_body(body)
    if rtype == CanonEvent.AvailListChanged:
        if _u32(body, 4, "AvailListChanged list type") != LIST_ENUMERATION:
            return UnknownRecord(rtype, body)
        return AvailListChanged.from_body(body)
    if rtype in _OBJECT_ADDED:
        return ObjectAdded.from_body(body, rtype)
    if rtype == CanonEvent.RequestObjectTransfer:
        return ObjectTransfer.from_body(body, rtype)
    if rtype == CanonEvent.CameraStatusChanged:
        return CameraStatusChanged.from_body(body)
    return UnknownRecord(rtype, body)


def encode_record(record: Record) -> bytes:
    """The wire bytes of one record, its 8-byte header included."""
    body = record.body()
    return _HEAD.pack(8 + len(body), record.type) + body


def split_records(data: Buffer) -> list[bytes]:
    """The records of GetEvent data (each whole, header included), without the terminator.

    Strict framing: a Size under 8 or past the end, or data that does not end with the terminator, is a
    DecodeError. The loop advances at least 8 bytes per record, so it ends after len(data) / 8 steps.
    """
    view = memoryview(data)
    out: list[bytes] = []
    at = 0
    while True:
        size, rtype = _unpack("<II", view, at, "GetEvent data (no terminator)")
        if size == 8 and rtype == 0:
            if at + 8 != len(view):
                raise DecodeError(
                    f"GetEvent data: {len(view) - at - 8} bytes after the terminator", offset=at + 8
                )
            return out
        if size < 8 or at + size > len(view):
            raise DecodeError(
                f"GetEvent record 0x{rtype:04X}: Size {size} at offset {at} does not fit {len(view)} bytes",
                offset=at,
            )
        out.append(bytes(view[at : at + size]))
        at += size


def encode_events(records: Iterable[Record]) -> bytes:
    """GetEvent data: the records and the terminator (an empty poll is just the terminator)."""
    return b"".join(encode_record(r) for r in records) + TERMINATOR


# ------------------------------------------------------------------------------------------------ other structures


@dataclass(frozen=True, slots=True)
class DeviceInfoEx:
    """The data of GetDeviceInfoEx 0x9108 (ptp-pack.c ``ptp_unpack_EOS_DI``)::

    offset  size  field
    0       4     Size u32 = the whole data
    4       4     Count u32, then Count event codes u32
    ...     4     Count u32, then Count property codes u32
    ...     4     Count u32, then Count unknown u32 (gphoto2 2.5.30 fails the call when this list is
                  empty or missing: CANON.md §6.2)
    """

    events: tuple[int, ...]
    properties: tuple[int, ...]
    unknown: tuple[int, ...] = (0,)

    def encode(self) -> bytes:
        body = b"".join(
            struct.pack(f"<I{len(a)}I", len(a), *a) for a in (self.events, self.properties, self.unknown)
        )
        return _U32.pack(4 + len(body)) + body

    @classmethod
    def decode(cls, data: Buffer) -> DeviceInfoEx:
        size = _u32(data, 0, "DeviceInfoEx size")
        if size != len(data):
            raise DecodeError(f"DeviceInfoEx: Size says {size} bytes, the data has {len(data)}")
        arrays: list[tuple[int, ...]] = []
        at = 4
        for what in ("events", "properties", "unknown"):
            count = _u32(data, at, f"DeviceInfoEx {what} count")
            if at + 4 + 4 * count > len(data):
                raise DecodeError(f"DeviceInfoEx: {count} {what} do not fit", offset=at)
            arrays.append(struct.unpack_from(f"<{count}I", data, at + 4))
            at += 4 + 4 * count
        if at != len(data):
            raise DecodeError(f"DeviceInfoEx: {len(data) - at} bytes after the last list", offset=at)
        return cls(*arrays)


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """One entry of GetObjectInfoEx 0x9109's data (params: storage, parent or 0xFFFFFFFF for the root,
    0x100000), ptp-pack.c ``PTP_cefe_*`` and the ptp.h samples; the data is Count u32, then the entries::

        offset  size  field
        0       4     EntrySize u32 (0x38 in the samples)
        4       4     ObjectHandle u32
        8       4     StorageID u32
        12      2     ObjectFormat u16 (0x3001 folder)
        14      2     unknown u16
        16      4     Flags u32 (1 in the folder samples)
        20      4     unknown u32 (0x10 in the folder samples)
        24      4     ObjectSize u32
        28      4     ParentObject u32
        32      4     a handle: the entry's own in both ptp.h samples, a neighbour's in the ptp-pack.c one
        36      16    Filename, ASCII, NUL-padded
        52      4     Time u32 (Unix seconds)
        56      ...   ``trailer`` up to EntrySize
    """

    handle: int
    storage_id: int
    object_format: int
    size: int
    parent: int
    name_field: bytes
    time: int
    flags: int = 0
    unknown14: int = 0
    unknown20: int = 0
    handle2: int = 0
    trailer: bytes = b""

    _FIXED: ClassVar[_Fixed] = _Fixed(
        "<IIHHIIIII16sI",
        "handle storage_id object_format unknown14 flags unknown20 size parent handle2 name_field time",
    )

    @property
    def name(self) -> str:
        return self.name_field.split(b"\0", 1)[0].decode("latin-1")

    @classmethod
    def make(
        cls, handle: int, storage_id: int, object_format: int, size: int, parent: int, name: str, time: int
    ) -> FolderEntry:
        """An entry as the samples show one: the name NUL-padded to 16 bytes, the handle repeated, and for a
        folder (0x3001) Flags 1 and 0x10 at offset 20 (the file sample has 0 in both)."""
        raw = _ascii(name, "FolderEntry name")
        if len(raw) > 15:
            raise EncodeError(f"FolderEntry: name {name!r} is longer than 15 bytes")
        folder = object_format == ASSOCIATION
        return cls(
            handle,
            storage_id,
            object_format,
            size,
            parent,
            raw.ljust(16, b"\0"),
            time,
            flags=1 if folder else 0,
            unknown20=0x10 if folder else 0,
            handle2=handle,
        )

    def encode(self) -> bytes:
        fixed = self._FIXED.pack(self)
        return _U32.pack(4 + len(fixed) + len(self.trailer)) + fixed + self.trailer

    @classmethod
    def decode(cls, data: Buffer, offset: int = 0) -> tuple[FolderEntry, int]:
        size = _u32(data, offset, "FolderEntry size")
        if size < 4 + cls._FIXED.size or offset + size > len(data):
            raise DecodeError(f"FolderEntry: EntrySize {size} does not fit", offset=offset)
        fields = cls._FIXED.unpack(data, offset + 4, "FolderEntry")
        trailer = bytes(data[offset + 4 + cls._FIXED.size : offset + size])
        return cls(**fields, trailer=trailer), offset + size


def decode_folder(data: Buffer) -> tuple[FolderEntry, ...]:
    """GetObjectInfoEx data: Count u32 then Count :class:`FolderEntry`; nothing may follow."""
    count = _u32(data, 0, "GetObjectInfoEx count")
    if count > len(data) // (4 + FolderEntry._FIXED.size):
        raise DecodeError(f"GetObjectInfoEx: {count} entries cannot fit {len(data)} bytes")
    entries, at = [], 4
    for _ in range(count):
        entry, at = FolderEntry.decode(data, at)
        entries.append(entry)
    if at != len(data):
        raise DecodeError(f"GetObjectInfoEx: {len(data) - at} bytes after the last entry", offset=at)
    return tuple(entries)


def encode_folder(entries: Sequence[FolderEntry]) -> bytes:
    return _U32.pack(len(entries)) + b"".join(e.encode() for e in entries)


@dataclass(frozen=True, slots=True)
class ViewfinderRecord:
    """One record of GetViewFinderData 0x9153's data (libgphoto2 capture preview, libpict live view)::

    offset  size  field
    0       4     Size u32, these 8 bytes included
    4       4     Type u32 (1 = a JPEG frame; gphoto2 skips the other types)
    8       Size-8  payload
    """

    type: int
    payload: bytes

    def encode(self) -> bytes:
        return _HEAD.pack(8 + len(self.payload), self.type) + self.payload


def decode_viewfinder(data: Buffer) -> tuple[ViewfinderRecord, ...]:
    """The records of GetViewFinderData data, back to back to the end."""
    view, at, out = memoryview(data), 0, []
    while at < len(view):
        size, rtype = _unpack("<II", view, at, "viewfinder record")
        if size < 8 or at + size > len(view):
            raise DecodeError(f"viewfinder record: Size {size} at offset {at} does not fit", offset=at)
        out.append(ViewfinderRecord(rtype, bytes(view[at + 8 : at + size])))
        at += size
    return tuple(out)


def viewfinder_jpeg(data: Buffer) -> bytes | None:
    """The JPEG frame in GetViewFinderData data, or None when it holds none."""
    return next((r.payload for r in decode_viewfinder(data) if r.type == VIEWFINDER_JPEG), None)


def encode_focus_info(
    width: int, height: int, points: Sequence[tuple[int, int, int, int]], selected: Iterable[int] = (0,)
) -> bytes:
    """A FocusInfoEx 0xD1D3 value (ptp-pack.c ``ptp_unpack_EOS_FocusInfoEx``), points as (w, h, x, y)::

        0   4  Size u32          4  2  Size-4 u16       6  2  version u16 (0)
        8   2  points u16        10 2  points in use    12 8  width, height, width2, height2 (u16 each)
        20  2n heights, 2n widths, 2n y offsets, 2n x offsets (i16)
        ..  (n+7)/8 selected-point bit field, 3 zero bytes, FF FF

    gphoto2 waits up to 2 s after a half press for this record (CANON.md §6.6).
    """
    n = len(points)
    if not 1 <= n <= 0xFFFF:
        raise EncodeError("FocusInfoEx: 1..65535 focus points")
    bits = bytearray((n + 7) // 8)
    for i in selected:
        bits[i // 8] |= 1 << (i % 8)
    columns = [[p[k] for p in points] for k in (1, 0, 3, 2)]
    body = struct.pack("<HHHHHHH", 0, n, n, width, height, width, height)
    body += b"".join(struct.pack(f"<{n}h", *col) for col in columns) + bytes(bits) + b"\0\0\0\xff\xff"
    return struct.pack("<IH", 6 + len(body), 2 + len(body)) + body


# ------------------------------------------------------------------------------------------------ labels


def _is_half_stop(code: int) -> bool:
    """Canon's 1/2-stop codes end in 4 (xx4); 1/3 stops end in 3 or 5 (libgphoto2 config.c tables)."""
    return code & 7 == 4


class StopTable(Enum):
    """A Canon code table where a 1/2-stop and a 1/3-stop code can share a label (f/1.8 is 0x14 and 0x15).

    :meth:`parse` gives the 1/3-stop code (the cameras' default step); the code the camera offers right now
    is picked by its label among the listed values (:func:`ptpipd.vendors.values.coerce_value`), so both step
    settings work.
    """

    def __init__(self, names: Mapping[int, str], aliases: Mapping[str, int] | None = None) -> None:
        super().__init__(names)
        self._by_label = {}
        for code, name in names.items():
            key = normalize(name)
            old = self._by_label.get(key)
            if old is None or (_is_half_stop(old) and not _is_half_stop(code)):
                self._by_label[key] = code
        for alias, code in (aliases or {}).items():
            self._by_label.setdefault(normalize(alias), code)


def _with_aliases(names: Mapping[int, str], make: Callable[[str], Iterable[str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, label in names.items():
        for alias in make(label):
            out.setdefault(alias, code)
    return out


#: 0xD101 aperture (libgphoto2 config.c ``canon_aperture``; gphoto2 2.5.30 prints the same numbers).
# fmt: off
APERTURES: dict[int, str] = {
    code: f"f/{n}"
    for code, n in (
        (0x08, "1"), (0x0B, "1.1"), (0x0C, "1.2"), (0x0D, "1.2"), (0x10, "1.4"), (0x13, "1.6"), (0x14, "1.8"),
        (0x15, "1.8"), (0x18, "2"), (0x1B, "2.2"), (0x1C, "2.5"), (0x1D, "2.5"), (0x20, "2.8"), (0x23, "3.2"),
        (0x24, "3.5"), (0x25, "3.5"), (0x28, "4"), (0x2B, "4.5"), (0x2C, "4.5"), (0x2D, "5"), (0x30, "5.6"),
        (0x33, "6.3"), (0x34, "6.7"), (0x35, "7.1"), (0x38, "8"), (0x3B, "9"), (0x3C, "9.5"), (0x3D, "10"),
        (0x40, "11"), (0x43, "13"), (0x44, "13"), (0x45, "14"), (0x48, "16"), (0x4B, "18"), (0x4C, "19"),
        (0x4D, "20"), (0x50, "22"), (0x53, "25"), (0x54, "27"), (0x55, "29"), (0x58, "32"), (0x5B, "36"),
        (0x5C, "38"), (0x5D, "40"), (0x60, "45"), (0x63, "51"), (0x64, "54"), (0x65, "57"), (0x68, "64"),
        (0x6B, "72"), (0x6C, "76"), (0x6D, "81"), (0x70, "91"),
    )
}
# fmt: on
APERTURE = StopTable(
    {**APERTURES, 0xFFFF: "auto"},
    _with_aliases(APERTURES, lambda lab: (lab[2:], "f" + lab[2:], lab[2:] + ".0")),
)

#: 0xD102 shutter speed (libgphoto2 config.c ``canon_shutterspeed``); seconds written "30s", "0.5s".
# fmt: off
SHUTTER_SPEEDS: dict[int, str] = {
    0x0C: "bulb", 0x04: "bulb", 0x00: "auto",
    0x10: "30s", 0x13: "25s", 0x14: "20s", 0x15: "20s", 0x18: "15s", 0x1B: "13s", 0x1C: "10s", 0x1D: "10s",
    0x20: "8s", 0x23: "6s", 0x24: "6s", 0x25: "5s", 0x28: "4s", 0x2B: "3.2s", 0x2C: "3s", 0x2D: "2.5s",
    0x30: "2s", 0x33: "1.6s", 0x34: "1.5s", 0x35: "1.3s", 0x38: "1s", 0x3B: "0.8s", 0x3C: "0.7s",
    0x3D: "0.6s", 0x40: "0.5s", 0x43: "0.4s", 0x44: "0.3s", 0x45: "0.3s", 0x48: "1/4", 0x4B: "1/5",
    0x4C: "1/6", 0x4D: "1/6", 0x50: "1/8", 0x53: "1/10", 0x54: "1/10", 0x55: "1/13", 0x58: "1/15",
    0x5B: "1/20", 0x5C: "1/20", 0x5D: "1/25", 0x60: "1/30", 0x63: "1/40", 0x64: "1/45", 0x65: "1/50",
    0x68: "1/60", 0x6B: "1/80", 0x6C: "1/90", 0x6D: "1/100", 0x70: "1/125", 0x73: "1/160", 0x74: "1/180",
    0x75: "1/200", 0x78: "1/250", 0x7B: "1/320", 0x7C: "1/350", 0x7D: "1/400", 0x80: "1/500",
    0x83: "1/640", 0x84: "1/750", 0x85: "1/800", 0x88: "1/1000", 0x8B: "1/1250", 0x8C: "1/1500",
    0x8D: "1/1600", 0x90: "1/2000", 0x93: "1/2500", 0x94: "1/3000", 0x95: "1/3200", 0x98: "1/4000",
    0x9B: "1/5000", 0x9C: "1/6000", 0x9D: "1/6400", 0xA0: "1/8000",
}
# fmt: on


def _shutter_aliases(label: str) -> tuple[str, ...]:
    if label.endswith("s"):
        secs = label[:-1]
        canon = secs.replace(".", '"') if "." in secs else secs + '"'
        return secs, canon
    return (label + "s",) if label.startswith("1/") else ()


#: gphoto2 2.5.30 writes 0x14, 0x1D and 0x23 as "20.3", "10.3" and "6.3"; scripts written for it keep working.
_GPHOTO2_SHUTTER = {"20.3": 0x14, "10.3": 0x1D, "6.3": 0x23}
SHUTTER = StopTable(SHUTTER_SPEEDS, {**_with_aliases(SHUTTER_SPEEDS, _shutter_aliases), **_GPHOTO2_SHUTTER})


def shutter_seconds(code: int) -> Fraction | None:
    """The exposure time of a shutter code in seconds, or None for bulb/auto/unknown."""
    label = SHUTTER_SPEEDS.get(code, "")
    if label.startswith("1/"):
        return Fraction(1, int(label[2:]))
    if label.endswith("s"):
        return Fraction(label[:-1])
    return None


def exposure_seconds(speed: Value | None, drive: Value | None) -> float:
    """How long a full press at shutter code ``speed`` and drive mode ``drive`` lasts: the shutter speed
    plus the self-timer, in seconds (0 for bulb or an unknown speed)."""
    seconds = shutter_seconds(speed) if isinstance(speed, int) else None
    return float(seconds or 0) + SELF_TIMER.get(drive if isinstance(drive, int) else -1, 0.0)


#: 0xD103 ISO (libgphoto2 config.c ``canon_isospeed``; 0 is Auto).
# fmt: off
ISO_SPEEDS: dict[int, str] = {0x00: "Auto"} | {
    code: str(iso)
    for code, iso in (
        (0x28, 6), (0x30, 12), (0x38, 25), (0x40, 50), (0x43, 64), (0x45, 80), (0x48, 100), (0x4B, 125),
        (0x4D, 160), (0x50, 200), (0x53, 250), (0x55, 320), (0x58, 400), (0x5B, 500), (0x5D, 640),
        (0x60, 800), (0x63, 1000), (0x65, 1250), (0x68, 1600), (0x6B, 2000), (0x6D, 2500), (0x70, 3200),
        (0x73, 4000), (0x75, 5000), (0x78, 6400), (0x7B, 8000), (0x7D, 10000), (0x80, 12800),
        (0x83, 16000), (0x85, 20000), (0x88, 25600), (0x8B, 32000), (0x8D, 40000), (0x90, 51200),
        (0x93, 64000), (0x95, 80000), (0x98, 102400), (0xA0, 204800), (0xA8, 409600), (0xB0, 819200),
    )
}
# fmt: on
ISO = StopTable(ISO_SPEEDS, _with_aliases(ISO_SPEEDS, lambda lab: (f"ISO {lab}",)))

_EIGHTHS = {0: "", 3: "1/3", 4: "1/2", 5: "2/3"}


class ExposureComp(Labels):
    """0xD104, a signed byte in 1/8 EV (0x03 = +1/3, 0x04 = +1/2, 0xFD = -1/3; gphoto2 2.5.30 sends u32
    0x000000FD). Labels ``+1/3``, ``-1 2/3``, ``0``; reads those, decimals (``0.3``, ``-1.5``) and integers."""

    def label(self, value: Value) -> str:
        if not isinstance(value, int):
            return hex_label(value)
        eighths = (value & 0xFF) - 256 if value & 0x80 else value & 0xFF
        whole, rest = divmod(abs(eighths), 8)
        if rest not in _EIGHTHS or (value > 0xFF and value >> 8 not in (0, 0xFFFFFF)):
            return hex_label(value)
        if eighths == 0:
            return "0"
        text = " ".join(p for p in (str(whole) if whole else "", _EIGHTHS[rest]) if p)
        return ("+" if eighths > 0 else "-") + text

    def parse(self, text: str) -> int | None:
        stops = fraction(text.strip().lower().removesuffix("ev").strip())
        if stops is None:
            return None
        whole, rest = divmod(abs(stops), 1)
        step = {0: 0, 3: 3, 5: 4, 6: 5, 7: 5}.get(round(rest * 10))  # in tenths: 1/3 ≈ 0.3, 1/2, 2/3 ≈ 0.7
        if step is None:
            return None
        eighths = int(whole) * 8 + step
        return (-eighths if stops < 0 else eighths) & 0xFF


EXPOSURE_COMP = ExposureComp()

#: 0xD105 shooting mode (libgphoto2 config.c ``canon_eos_autoexposuremode``; Canon dial names first).
# fmt: off
SHOOTING_MODES: dict[int, str] = {
    0x00: "P", 0x01: "Tv", 0x02: "Av", 0x03: "M", 0x04: "B", 0x05: "A-DEP", 0x06: "DEP", 0x07: "C1",
    0x08: "Lock", 0x09: "Green", 0x0A: "Night Portrait", 0x0B: "Sports", 0x0C: "Portrait", 0x0D: "Landscape",
    0x0E: "Close-up", 0x0F: "Flash Off", 0x10: "C2", 0x11: "C3", 0x13: "CA", 0x14: "Movie", 0x16: "Auto",
    0x17: "Handheld Night Scene", 0x18: "HDR Backlight Control", 0x19: "SCN", 0x1B: "Food",
    0x1E: "Grainy B/W", 0x1F: "Soft focus", 0x20: "Toy camera effect", 0x21: "Fish-eye effect",
    0x22: "Water painting effect", 0x23: "Miniature effect", 0x24: "HDR art standard", 0x25: "HDR art vivid",
    0x26: "HDR art bold", 0x27: "HDR art embossed", 0x2D: "Panning", 0x31: "HDR", 0x32: "Self Portrait",
    0x33: "Hybrid Auto", 0x34: "Smooth skin", 0x37: "Fv",
}
# fmt: on
SHOOTING_MODE = Enum(
    SHOOTING_MODES,
    {
        "program": 0,
        "manual": 3,
        "bulb": 4,
        "custom": 7,
        "closeup": 0x0E,
        "creative auto": 0x13,
        "A+": 9,
        "full auto": 9,
        "shutter priority": 1,
        "aperture priority": 2,
    },
)

#: 0xD106 drive mode (libgphoto2 config.c ``canon_eos_drive_mode``; gphoto2's words are aliases).
# fmt: off
DRIVE_MODES: dict[int, str] = {
    0x00: "Single", 0x01: "Continuous", 0x02: "Video", 0x04: "Continuous high", 0x05: "Continuous low",
    0x06: "Single silent shooting", 0x07: "Continuous timer", 0x10: "Self-timer 10s", 0x11: "Self-timer 2s",
    0x12: "Super high-speed continuous", 0x13: "Single silent", 0x14: "Continuous silent",
    0x15: "Silent continuous high", 0x16: "Silent continuous low",
}
# fmt: on
DRIVE_MODE = Enum(
    DRIVE_MODES,
    {
        "Continuous high speed": 4,
        "Continuous low speed": 5,
        "Single: Silent shooting": 6,
        "Timer 10 sec": 0x10,
        "Timer 2 sec": 0x11,
        "Super high speed continuous shooting": 0x12,
        "Silent HS continuous": 0x15,
        "Silent LS continuous": 0x16,
        "10s": 0x10,
        "2s": 0x11,
    },
)

#: 0xD107 metering (libgphoto2 config.c ``canon_meteringmode``).
METERING_MODES: dict[int, str] = {
    0: "Center-weighted",
    1: "Spot",
    2: "Average",
    3: "Evaluative",
    4: "Partial",
    5: "Center-weighted average",
    6: "Spot (AF point)",
    7: "Multi-spot",
}
METERING_MODE = Enum(METERING_MODES, {"Spot metering interlocked with AF frame": 6, "Multi spot": 7})

#: 0xD108 AF operation (gphoto2 2.5.30's table; older libgphoto2 swapped 1 and 2 — CANON.md §3).
FOCUS_MODES: dict[int, str] = {0: "One Shot", 1: "AI Servo", 2: "AI Focus", 3: "MF"}
FOCUS_MODE = Enum(FOCUS_MODES, {"One-Shot": 0, "Manual": 3, "servo": 1})

#: 0xD109 white balance (gphoto2 2.5.30's labels for each code are the aliases).
# fmt: off
WHITE_BALANCES: dict[int, str] = {
    0: "Auto", 1: "Daylight", 2: "Cloudy", 3: "Tungsten", 4: "Fluorescent", 5: "Flash", 6: "Custom",
    8: "Shade", 9: "Color temperature", 10: "PC-1", 11: "PC-2", 12: "PC-3", 15: "Custom 2", 16: "Custom 3",
    18: "Custom 4", 19: "Custom 5", 20: "PC-4", 21: "PC-5", 23: "Auto (white priority)",
}
# fmt: on
WHITE_BALANCE = Enum(
    WHITE_BALANCES,
    {
        "AWB": 0,
        "Manual": 6,
        "Shadow": 8,
        "Kelvin": 9,
        "K": 9,
        "Manual 2": 15,
        "Manual 3": 16,
        "Manual 4": 18,
        "Manual 5": 19,
        "AWB White": 23,
        "Tungsten light": 3,
        "White fluorescent light": 4,
        **{f"Custom Whitebalance: PC-{n}": code for n, code in ((1, 10), (2, 11), (3, 12), (4, 20), (5, 21))},
    },
)

#: 0xD111 battery (libgphoto2 config.c ``_get_Canon_EOS_BatteryLevel``; 2.5.30 checked value by value).
BATTERY_LEVELS: dict[int, str] = {0: "low", 5: "25%", 1: "50%", 4: "75%", 2: "100%"}
BATTERY = Enum(BATTERY_LEVELS)

#: 0xD110 picture style (libgphoto2 config.c ``canon_eos_picturestyle``).
PICTURE_STYLES: dict[int, str] = {
    0x81: "Standard",
    0x82: "Portrait",
    0x83: "Landscape",
    0x84: "Neutral",
    0x85: "Faithful",
    0x86: "Monochrome",
    0x87: "Auto",
    0x88: "Fine Detail",
    0x21: "User Def. 1",
    0x22: "User Def. 2",
    0x23: "User Def. 3",
}
PICTURE_STYLE = Enum(PICTURE_STYLES, {f"User defined {n}": 0x20 + n for n in (1, 2, 3)})

#: 0xD10F colour space (libgphoto2 config.c ``canon_eos_colorspace``).
COLOR_SPACE = Enum({1: "sRGB", 2: "Adobe RGB"}, {"AdobeRGB": 2})

#: 0xD11C capture destination (§3: 4 libgphoto2, 2 libpict).
CAPTURE_DESTINATION = Enum({CAPTURE_TO_PC: "PC", CAPTURE_TO_CARD: "card"}, {"sdram": 4, "host": 4})

_EVF_NAMES = ((EVF_TFT, "TFT"), (EVF_PC, "PC"), (EVF_MOBILE, "mobile"), (EVF_MOBILE2, "mobile2"))
#: 0xD1B0 live-view output: a bit set (libgphoto2 config.c ``canon_eos_cameraoutput``).
EVF_OUTPUT = Enum({0: "off"} | {v: "+".join(n for bit, n in _EVF_NAMES if v & bit) for v in range(1, 16)})

# -- image format labels --------------------------------------------------------------------------------

_JPEG_SIZES = {0: "L", 1: "M", 2: "S", 5: "M1", 6: "M2", 0xE: "S1", 0xF: "S2", 0x10: "S3"}
_JPEG_WORDS = {
    0: "Large",
    1: "Medium",
    2: "Small",
    5: "Medium 1",
    6: "Medium 2",
    0xE: "Small 1",
    0xF: "Smaller",
    0x10: "Tiny",
}
_RAW_NAMES = {(0, 4): "RAW", (1, 4): "mRAW", (2, 4): "sRAW", (0, 3): "cRAW"}


def image_file_label(f: ImageFile) -> str | None:
    """``RAW``, ``cRAW``, ``L`` (fine JPEG), ``M normal`` …; None for a combination nobody has named."""
    if f.kind == 6:
        return _RAW_NAMES.get((f.size, f.compression))
    if f.kind == 1 and f.size in _JPEG_SIZES and f.compression in (2, 3):
        return _JPEG_SIZES[f.size] + ("" if f.compression == 3 else " normal")
    return None


def image_format_label(fmt: ImageFormat) -> str:
    """``RAW+L``, ``L``, ``cRAW+M normal``; the u16 code in hex when a part has no name."""
    names = [image_file_label(f) for f in fmt.files]
    if None in names:
        code = fmt.code
        return f"0x{code:04X}" if code is not None else fmt.encode().hex()
    return "+".join(n for n in names if n)


def _image_format_table() -> tuple[dict[int, str], dict[str, int]]:
    """Every RAW × JPEG combination cameras offer, RAW first as libgphoto2's table has it."""
    raws = [None, *(ImageFile(6, s, c) for s, c in _RAW_NAMES)]
    jpegs = [None, *(ImageFile(1, s, c) for s in _JPEG_SIZES for c in (3, 2))]
    names: dict[int, str] = {}
    aliases: dict[str, int] = {}
    for raw in raws:
        for jpeg in jpegs:
            files = tuple(f for f in (raw, jpeg) if f is not None)
            if not files:
                continue
            fmt = ImageFormat(files)
            code = fmt.code
            assert code is not None
            names[code] = image_format_label(fmt)
            aliases[_gphoto2_words(raw, jpeg)] = code
    return names, aliases


def _gphoto2_words(raw: ImageFile | None, jpeg: ImageFile | None) -> str:
    parts = []
    if raw is not None:
        parts.append(_RAW_NAMES[(raw.size, raw.compression)])
    if jpeg is not None:
        parts.append(f"{_JPEG_WORDS[jpeg.size]} {'Fine' if jpeg.compression == 3 else 'Normal'} JPEG")
    return " + ".join(parts)


IMAGE_FORMATS, _IMAGE_FORMAT_ALIASES = _image_format_table()


class ImageFormatLabels(Enum):
    """Labels of image format codes (:attr:`ImageFormat.code`); also reads ``L fine`` and gphoto2's words
    (``RAW + Large Fine JPEG``), and labels an :class:`ImageFormat` value directly."""

    def __init__(self) -> None:
        jpeg_last = set(_JPEG_SIZES.values())
        fine = {
            f"{name} fine": code for code, name in IMAGE_FORMATS.items() if name.split("+")[-1] in jpeg_last
        }
        super().__init__(IMAGE_FORMATS, {**_IMAGE_FORMAT_ALIASES, **fine})

    def label(self, value: Value | ImageFormat) -> str:
        if isinstance(value, ImageFormat):
            return image_format_label(value)
        return super().label(value)


IMAGE_FORMAT = ImageFormatLabels()

# ------------------------------------------------------------------------------------------------ helpers


def _unpack(fmt: str, data: Buffer, offset: int, what: str) -> tuple[int, ...]:
    need = struct.calcsize(fmt)
    if offset < 0 or offset + need > len(data):
        raise DecodeError(
            f"{what}: truncated at offset {offset}: need {need} bytes, have {max(0, len(data) - offset)}",
            offset=offset,
        )
    return tuple(struct.unpack_from(fmt, data, offset))


def _u32(data: Buffer, offset: int, what: str) -> int:
    return _unpack("<I", data, offset, what)[0]


def _pack_u32(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFFFF_FFFF:
        raise EncodeError(f"{what}: {value} is not a u32")
    return _U32.pack(value)


def _cstring(body: bytes, offset: int, what: str) -> tuple[str, bytes]:
    end = body.find(b"\0", offset)
    if end < 0:
        raise DecodeError(f"{what}: no NUL terminator", offset=offset)
    return body[offset:end].decode("latin-1"), body[end + 1 :]
