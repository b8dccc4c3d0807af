"""Pydantic models of every method's params and result (DESIGN.md §4); ``rpc.discover`` is built from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Topic = Literal["event", "property", "connection"]
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

    code: int = Field(ge=0, le=0xFFFF, description='Operation code, e.g. 4117 or "0x1015".')
    params: list[Annotated[int, Field(ge=0, le=0xFFFF_FFFF)]] = Field(default_factory=list, max_length=5)

    @field_validator("code", mode="before")
    @classmethod
    def _parse_code(cls, value: object) -> object:
        return _code(value)

    @field_validator("params", mode="before")
    @classmethod
    def _parse_params(cls, value: object) -> object:
        return [_code(v) for v in value] if isinstance(value, list) else value


class SubscribeParams(Params):
    """Which notifications to receive (all three when omitted)."""

    topics: list[Topic] | None = None


class AuthParams(Params):
    """The token of the daemon's `auth_token` setting (needed on non-loopback TCP)."""

    token: str


# ---------------------------------------------------------------------------------------- results


class Result(BaseModel):
    """Base of the result models."""

    model_config = ConfigDict(frozen=True)


class CameraIdentity(Result):
    """Who the camera says it is."""

    manufacturer: str
    model: str
    serial: str
    version: str


class StatusResult(Result):
    """The daemon and the camera connection."""

    state: Literal["connected", "connecting", "pairing", "disconnected"]
    vendor: str
    host: str
    ports: list[int]
    camera: CameraIdentity | None
    connected_since: float | None = Field(description="Unix time of the current connection, or null.")
    reconnects: int
    last_error: str | None
    api_version: str
    daemon_version: str
    clients: int


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


class LabelledValueResult(Result):
    """A value with its hex and label."""

    value: Scalar
    hex: str | None
    label: str


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


class InfoResult(Result):
    """The device's self-description and every property's description."""

    device: dict[str, Any]
    properties: list[PropertyDescResult]


class StateEntryResult(Result):
    """One entry of the camera state list."""

    code: str
    name: str
    property: str
    value: int
    label: str


class TransferResult(Result):
    """An image or file from the camera: saved on the daemon's side (`path`) or inline (`data`, base64)."""

    format: str
    size: int
    handle: int | None = None
    filename: str | None = None
    path: str | None = None
    data: str | None = Field(None, description="base64, when `inline` was true.")


class FileResult(Result):
    """An object on the camera's storage."""

    handle: int
    storage: str
    filename: str
    folder: str
    format: str
    size: int
    captured: str | None


class ResponseInfo(Result):
    """A PTP response."""

    code: str
    name: str
    params: list[int]


class OpreqResult(Result):
    """The response, the data (base64) and every packet received, in hex (for hex dumps)."""

    response: ResponseInfo
    data: str | None = None
    packets: list[str]
