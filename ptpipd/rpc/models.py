"""Pydantic models of every method's params and result (DESIGN.md §4).

Handlers return the result models; the JSON-RPC responses are serialised from them and ``rpc.discover``
describes them, so the answers and the document cannot drift apart. Each result model builds itself from the
camera layer's value (``from_…``): the only place where a camera value becomes an API shape.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ptpipd.camera import CameraInfo
from ptpipd.ptp import Value
from ptpipd.rpc.urls import object_url, transfer_url
from ptpipd.vendors.base import (
    EnumValues,
    FileEntry,
    LabelledValue,
    PropertyDesc,
    PropertyValue,
    RangeValues,
    StateEntry,
    Transfer,
)
from ptpipd.vendors.base import (
    OpreqResult as CameraOpreq,
)

Topic = Literal["event", "property", "connection", "ingest"]
PropertyRef = Annotated[
    str | int,
    Field(
        description='A unified name ("iso", "exp-bias", …), a hex code ("0x500f") or a decimal code (20495).'
    ),
]
PropertyInput = Annotated[
    str | int,
    Field(
        description='A label ("800", "S 6400", "Velvia", "+1/3"; case-insensitive), an integer, or hex ("0x320").'
    ),
]
Scalar = int | str | list[int]


class Params(BaseModel):
    """Base of the params models: unknown fields are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """The method takes no parameters."""


class PropertyParams(Params):
    """A property."""

    property: PropertyRef


class SetParams(Params):
    """A property and the value to write."""

    property: PropertyRef
    value: PropertyInput


class CaptureParams(Params):
    """Whether to return the image in the response (base64) instead of saving it on the daemon's side."""

    inline: bool = Field(False, description="Return the image as base64 in `data` instead of a `path`.")


class DownloadParams(Params):
    """An object handle (from `files`)."""

    handle: int = Field(ge=0, le=0xFFFF_FFFF)
    inline: bool = Field(False, description="Return the bytes as base64 in `data` instead of a `path`.")


class DeleteParams(Params):
    """An object handle (from `files`)."""

    handle: int = Field(
        ge=0, le=0xFFFF_FFFE, description="The object to delete (0xFFFFFFFF, all, is refused)."
    )


def _code(value: object) -> object:
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text, 10)
        except ValueError:
            raise ValueError(f"not a number: {value!r}") from None
    return value


class OpreqParams(Params):
    """A raw operation: its code and up to five parameters (integers or hex strings)."""

    code: Annotated[int, BeforeValidator(_code)] = Field(
        ge=0, le=0xFFFF, description='Operation code, e.g. 4117 or "0x1015".'
    )
    params: list[Annotated[int, Field(ge=0, le=0xFFFF_FFFF), BeforeValidator(_code)]] = Field(
        default_factory=list, max_length=5
    )


class SubscribeParams(Params):
    """Which notifications to receive (all of them when omitted)."""

    topics: list[Topic] | None = None


class AuthParams(Params):
    """The token of the daemon's `auth_token` setting (needed on non-loopback TCP)."""

    token: str


# ---------------------------------------------------------------------------------------- results


class Result(BaseModel):
    """Base of the result models."""

    model_config = ConfigDict(frozen=True)


#: An optional result field that is left out of the JSON when unset, rather than sent as null.
Sparse = Field(exclude_if=lambda value: value is None)


def _scalar(value: Value) -> int | str | list[int]:
    return list(value) if isinstance(value, tuple) else value


def _hex4(code: int) -> str:
    return f"0x{code:04x}"


class CameraIdentity(Result):
    """Who the camera says it is."""

    manufacturer: str
    model: str
    serial: str
    version: str


class CapabilitiesResult(Result):
    """What the camera's vendor driver can do (DESIGN.md §9)."""

    events: Literal["channel", "poll"] = Field(description="Events pushed on a channel, or polled.")
    liveview: Literal["none", "stream", "poll"]
    files: bool = Field(description="Lists and downloads full-size objects.")
    partial_objects: bool = Field(description="Reads byte ranges of objects (GetPartialObject).")
    state_list: bool = Field(description="Has a state list (`state`).")
    delete: bool = Field(description="Deletes objects from its storage (`delete`, DeleteObject).")


class HttpStatus(Result):
    """The HTTP data plane: where it listens and how many connections it has."""

    addresses: list[str] = Field(description="Its listeners: http://HOST:PORT or a socket path.")
    connections: int = Field(description="HTTP connections open now (WebSockets and live-view viewers too).")
    tasks: int = Field(
        description="asyncio tasks running in the daemon (diagnostics: it returns to its idle value)."
    )


class LiveViewStatus(Result):
    """The live-view fan-out of the data plane."""

    running: bool = Field(description="The camera's live view is running (viewers watch, or just left).")
    viewers: int = Field(description="Clients of /liveview.mjpeg and /liveview.jpg right now.")
    fps: float = Field(description="Frames per second from the camera over the last 2 s (0 when stopped).")
    frames: int = Field(description="Frames received from the camera since the daemon started.")
    starts: int = Field(description="How many times the camera's live view was started.")


class IngestLast(Result):
    """The last file ingest stored."""

    path: str
    size: int
    sha256: str
    time: float = Field(description="Unix time it was stored.")


class IngestCurrent(Result):
    """The download in progress."""

    filename: str | None = Field(
        description="null while the first piece of a new object is read, before its ObjectInfo names it."
    )
    offset: int = Field(description="Bytes received so far.")
    size: int | None = Field(description="null until the camera said (as `filename`).")


class IngestHooks(Result):
    """The hook runs since the daemon started."""

    runs: int
    failures: int = Field(description="Runs that exited non-zero, were killed, timed out or could not start.")
    timeouts: int
    pending: int = Field(description="Stored files waiting for their hook.")


class IngestStatus(Result):
    """Tethered ingest (`[ingest]`): what it did since the daemon started, and what waits."""

    dir: str
    pattern: str
    files: int = Field(description="Files stored since the daemon started.")
    bytes: int
    last: IngestLast | None
    queue: int = Field(description="Objects waiting or downloading now.")
    scans: int = Field(description="Times the camera's files were listed to catch up (once per connection).")
    current: IngestCurrent | None
    skipped: int = Field(description="Objects announced again that were stored already.")
    errors: int
    dropped: int = Field(description="Objects left for the next scan because the queue was full.")
    deleted: int = Field(description="Objects deleted from the camera after storing (`delete_after`).")
    delete_failures: int
    hooks: IngestHooks
    last_error: str | None
    stored_total: int = Field(description="Files in the ingest journal, across restarts.")


class StatusResult(Result):
    """The daemon and the camera connection."""

    state: Literal["connected", "connecting", "pairing", "disconnected"]
    vendor: str
    host: str
    ports: list[int]
    camera: CameraIdentity | None
    connected_since: float | None = Field(description="Unix time of the current connection, or null.")
    reconnects: int = Field(description="How many times the connection was lost and made again.")
    last_error: str | None = Field(
        description="The last connection failure; kept after reconnecting (see last_error_time)."
    )
    last_error_time: float | None = Field(description="Unix time of last_error, or null.")
    attempts: int = Field(
        description="Connection attempts since the last successful connection (0 while connected)."
    )
    api_version: str
    daemon_version: str
    capabilities: CapabilitiesResult
    pairing: list[str] = Field(description="While pairing: what to do on the camera.")
    next_retry: float | None = Field(
        None, description="While disconnected: Unix time of the next connection attempt (null otherwise)."
    )
    clients: int
    internal_errors: int = Field(
        0, description="Unexpected failures of the daemon's background tasks (each logged); they went on."
    )
    # Without a data plane (a dispatcher used on its own) ``http`` and ``liveview`` are left out, and
    # ``ingest`` when it is off.
    http: Annotated[HttpStatus | None, Sparse] = Field(
        None, description="The HTTP data plane (absent without one)."
    )
    liveview: Annotated[LiveViewStatus | None, Sparse] = Field(
        None, description="Live view through the data plane."
    )
    ingest: Annotated[IngestStatus | None, Sparse] = Field(
        None, description="Tethered ingest (absent when it is off)."
    )


class PropertyValueResult(Result):
    """A property's value, with its code, type, hex and label."""

    property: str = Field(description="The unified name, or the hex code when the property has no name.")
    code: str = Field(description='Hex code, e.g. "0xd02a".')
    name: str = Field(description="The PTP or vendor name, e.g. ExposureIndex.")
    type: str = Field(description='The PTP data type, e.g. "uint16", "int16", "str".')
    value: Scalar
    hex: str | None = Field(description="The value in hex as wide as its type; null for strings and arrays.")
    label: str
    writable: bool

    @classmethod
    def from_value(cls, v: PropertyValue) -> PropertyValueResult:
        """From the camera's value."""
        return cls(
            property=v.prop,
            code=_hex4(v.code),
            name=v.name,
            type=v.datatype.label,
            value=_scalar(v.value),
            hex=v.hex,
            label=v.label,
            writable=v.writable,
        )


class LabelledValueResult(Result):
    """A value with its hex and label."""

    value: Scalar
    hex: str | None
    label: str

    @classmethod
    def from_value(cls, v: LabelledValue) -> LabelledValueResult:
        """From the camera's labelled value."""
        return cls(value=_scalar(v.value), hex=v.hex, label=v.label)


class EnumFormResult(Result):
    """The allowed values."""

    kind: Literal["enum"] = "enum"
    values: list[LabelledValueResult]


class RangeFormResult(Result):
    """min + N·step up to max."""

    kind: Literal["range"] = "range"
    min: Scalar
    max: Scalar
    step: Scalar


class NoFormResult(Result):
    """Any value of the type."""

    kind: Literal["none"] = "none"


class PropertyDescResult(PropertyValueResult):
    """A property's value plus its factory default and allowed values."""

    factory_default: LabelledValueResult
    form: EnumFormResult | RangeFormResult | NoFormResult = Field(discriminator="kind")

    @classmethod
    def from_desc(cls, d: PropertyDesc) -> PropertyDescResult:
        """From the camera's description."""
        form: EnumFormResult | RangeFormResult | NoFormResult
        if isinstance(d.form, EnumValues):
            form = EnumFormResult(values=[LabelledValueResult.from_value(v) for v in d.form.values])
        elif isinstance(d.form, RangeValues):
            form = RangeFormResult(
                min=_scalar(d.form.minimum), max=_scalar(d.form.maximum), step=_scalar(d.form.step)
            )
        else:
            form = NoFormResult()
        current = PropertyValueResult.from_value(d.current)
        return cls(
            **dict(current), factory_default=LabelledValueResult.from_value(d.factory_default), form=form
        )


class InfoResult(Result):
    """The device's self-description and every property's description."""

    device: dict[str, Any]
    properties: list[PropertyDescResult]

    @classmethod
    def from_info(cls, i: CameraInfo) -> InfoResult:
        """From the camera's info."""
        return cls(device=i.device, properties=[PropertyDescResult.from_desc(d) for d in i.properties])


class StateEntryResult(Result):
    """One entry of the camera state list."""

    code: str
    name: str
    property: str
    value: int
    label: str

    @classmethod
    def from_entry(cls, e: StateEntry) -> StateEntryResult:
        """From the camera's state list entry."""
        return cls(code=_hex4(e.code), name=e.name, property=e.prop, value=e.value, label=e.label)


class TransferResult(Result):
    """An image or file from the camera: saved on the daemon's side (`path`) or inline (`data`, base64)."""

    format: str
    size: int
    handle: Annotated[int | None, Sparse] = None
    filename: Annotated[str | None, Sparse] = None
    path: Annotated[str | None, Sparse] = None
    data: Annotated[str | None, Sparse] = Field(
        None, description="base64, when `inline` was true (objects up to 8 MiB)."
    )
    url: Annotated[str | None, Sparse] = Field(
        None,
        description="Where the HTTP data plane serves it: /files/HANDLE (a camera object) or /captures/NAME "
        "(a file the daemon saved); a path on the daemon's HTTP address.",
    )

    @classmethod
    def from_transfer(
        cls, t: Transfer, *, path: str | None = None, data: bytes | None = None
    ) -> TransferResult:
        """From what the camera sent; ``path`` where the daemon saved it, or the bytes themselves; the data
        plane's ``url`` for its object, else for the saved file."""
        return cls(
            format=t.format,
            size=t.size,
            handle=t.handle,
            filename=t.filename or None,
            path=path,
            data=None if data is None else base64.b64encode(data).decode("ascii"),
            url=transfer_url(t.handle, path),
        )


class FileResult(Result):
    """An object on the camera's storage."""

    handle: int
    storage: str
    filename: str
    folder: str
    format: str
    size: int
    captured: str | None
    url: str = Field(
        description="/files/HANDLE: the object streamed over the HTTP data plane (Range, resume)."
    )

    @classmethod
    def from_entry(cls, f: FileEntry) -> FileResult:
        """From the camera's object list entry: its fields, the storage ID in hex, and the object's ``url``."""
        return cls(**asdict(f) | {"storage": f"0x{f.storage:08x}", "url": object_url(f.handle)})


class ResponseInfo(Result):
    """A PTP response."""

    code: str
    name: str
    params: list[int]


class OpreqResult(Result):
    """The response, the data (base64) and every packet received, in hex (for hex dumps). When the camera sent
    more than the daemon keeps (8 MiB of data, 8 MiB of packets), ``truncated`` is true and ``size`` is how
    many data bytes it really sent."""

    response: ResponseInfo
    data: Annotated[str | None, Sparse] = None
    packets: list[str]
    truncated: Annotated[bool | None, Sparse] = Field(
        None, description="True when the data or packets stop at the daemon's cap."
    )
    size: Annotated[int | None, Sparse] = Field(
        None, description="With `truncated`: how many data bytes the camera sent."
    )

    @classmethod
    def from_result(cls, r: CameraOpreq) -> OpreqResult:
        """From the camera's answer."""
        return cls(
            response=ResponseInfo(code=_hex4(r.code), name=r.name, params=list(r.params)),
            data=None if r.data is None else base64.b64encode(r.data).decode("ascii"),
            packets=[p.hex() for p in r.packets],
            truncated=True if r.truncated else None,
            size=r.size if r.truncated else None,
        )
