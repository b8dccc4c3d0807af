"""The daemon's settings: the seed tool's INI file plus a ``[daemon]`` section, flags, and ``PTPIPD_*``.

Precedence, lowest first: built-in defaults < ``PTPIPD_*`` environment variables < command-line flags <
the config file (the seed tool's rule: "the config file will override any command line flags present").

The seed's INI examples load unchanged::

    [initiator]   friendly_name, guid
    [responder]   host, port, vendor, cmd_data_port, event_port, stream_port
    [server]      enabled, address, port          (the legacy text protocol); keep_open, command_timeout,
                  idle_timeout (ours)
    [daemon]      socket, socket_mode, socket_group, rpc_tcp, http, http_timeout, http_max_connections,
                  http_require_token, max_connections, write_timeout, rpc_idle_timeout, auth_token,
                  capture_dir, state_dir, log_level, pairing_timeout, timeout, keepalive, keepalive_timeout,
                  poll_interval, liveview_fps, event_loop
    [ingest]      dir, pattern, delete_after, hook, hook_timeout   (PTPIPD_INGEST_DIR, …; tethered ingest)

Values may be quoted ("..."), as in the seed. Environment variables use the option names in upper case:
``PTPIPD_HOST``, ``PTPIPD_VENDOR``, ``PTPIPD_SOCKET``, ``PTPIPD_RPC_TCP``, ``PTPIPD_AUTH_TOKEN``, …
"""

from __future__ import annotations

import configparser
import contextlib
import grp
import os
import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic.functional_validators import AfterValidator

from ptpipd.ingest_names import DEFAULT_PATTERN, check_pattern
from ptpipd.loops import LoopName, uvloop_available
from ptpipd.net import format_host_port, is_loopback_host
from ptpipd.vendors import VENDORS

EXIT_UNSPECIFIED = 1
EXIT_CONFIG = 102
EXIT_SETTINGS = 104
EXIT_CONNECT = 105


class ConfigFileError(Exception):
    """The config file cannot be read or parsed (exit 102)."""


class SettingsError(ValueError):
    """The settings are invalid (exit 104). A ValueError, so that a settings validator may let it through:
    pydantic reports its message as the field's problem."""


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_runtime_dir(env: Mapping[str, str]) -> Path:
    """Where the socket lives: systemd's RuntimeDirectory, /run/ptpipd as root, else $XDG_RUNTIME_DIR/ptpipd."""
    if env.get("RUNTIME_DIRECTORY"):
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0])
    if _is_root():
        return Path("/run/ptpipd")
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "ptpipd"
    return Path(f"/tmp/ptpipd-{os.getuid()}")


def default_state_dir(env: Mapping[str, str]) -> Path:
    """Where the GUID and captures are kept: systemd's StateDirectory, /var/lib/ptpipd as root, else XDG."""
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    if _is_root():
        return Path("/var/lib/ptpipd")
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ptpipd"


#: How the clients of each kind of TCP listener authenticate off loopback.
_AUTH_HOW = {
    "rpc_tcp": "clients then call auth {token} first",
    "http": "HTTP clients then send it as Authorization: Bearer TOKEN",
    "legacy": "text clients then send auth TOKEN first; it travels in clear text: better keep it on loopback",
}

#: The spellings of "no TCP listener".
_OFF = ("", "off", "no", "false", "none")


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``HOST`` or ``[v6]:PORT``; a bare number is a port, as ``:PORT``
    (``--legacy 15740`` means 127.0.0.1:15740, not a host named 15740)."""
    t = text.strip()
    if t.isdigit():
        t = f":{t}"
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest.removeprefix(":")
    elif t.count(":") == 1:
        host, port = t.split(":")
    else:
        host, port = t, ""
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise SettingsError(f"bad port in {text!r}") from None
    if not 0 <= number <= 65535:
        raise SettingsError(f"port out of range in {text!r}")
    return host or "127.0.0.1", number


def _listener(value: str | None, default_port: int) -> tuple[str, int] | None:
    """A TCP listener's setting: (host, port), or None when ``off`` (:data:`_OFF`)."""
    if value is None or value.strip().lower() in _OFF:
        return None
    return parse_host_port(value, default_port)


def _switch(value: object) -> object:
    """A switch as written in a file or a variable: pydantic's words (true/false, yes/no, on/off, 1/0, any
    case), spaces around them ignored, empty meaning off (``PTPIPD_LEGACY_ENABLED=``); other words are errors."""
    if isinstance(value, str):
        return value.strip() or False
    return value


Switch = Annotated[bool, BeforeValidator(_switch)]


class Settings(BaseModel):
    """Every setting of the daemon, validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # [responder]
    host: str = "192.168.0.1"
    vendor: str = VENDORS[0]
    port: int | None = Field(None, ge=0, le=65535)
    cmd_data_port: int | None = Field(None, ge=0, le=65535)
    event_port: int | None = Field(None, ge=0, le=65535)
    stream_port: int | None = Field(None, ge=0, le=65535)
    # [initiator]
    friendly_name: str = "ptpipd"
    guid: str | None = None
    # [server] — the legacy text protocol
    legacy_enabled: Switch = False
    legacy_address: str = "127.0.0.1"
    legacy_port: int = Field(15740, ge=0, le=65535)
    legacy_keep_open: Switch = False
    legacy_command_timeout: float = Field(15.0, gt=0)
    legacy_idle_timeout: float = Field(600.0, gt=0)
    # [daemon]
    socket: Path | None = None
    socket_mode: int = 0o660
    socket_group: str | None = None
    rpc_tcp: str | None = "127.0.0.1:15741"
    http: str | None = "127.0.0.1:15780"
    http_timeout: float = Field(15.0, gt=0)
    http_max_connections: int = Field(128, ge=1)
    http_require_token: Switch = False
    max_connections: int = Field(256, ge=1)
    write_timeout: float = Field(15.0, gt=0)
    rpc_idle_timeout: float = Field(3600.0, ge=0)
    auth_token: str | None = None
    capture_dir: Path | None = None
    state_dir: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    pairing_timeout: float = Field(60.0, gt=0)
    timeout: float = Field(10.0, gt=0)
    keepalive: float = Field(3.0, gt=0)
    keepalive_timeout: float = Field(5.0, gt=0)
    poll_interval: float | None = Field(None, gt=0)
    liveview_fps: float = Field(30.0, ge=0, le=1000)
    simulate: str | None = None
    event_loop: LoopName = "auto"
    # [ingest] — tethered ingest (DESIGN.md §10), off without a directory
    ingest_dir: Path | None = None
    ingest_pattern: Annotated[str, AfterValidator(check_pattern)] = DEFAULT_PATTERN
    ingest_delete_after: Switch = False
    ingest_hook: str | None = None
    ingest_hook_timeout: float = Field(60.0, gt=0)

    @field_validator("ingest_hook")
    @classmethod
    def _hook(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"hook {value!r}: {exc}") from None
        return value

    @field_validator("vendor", "simulate", mode="before")
    @classmethod
    def _vendor(cls, value: object) -> object:
        name = value.strip().lower() if isinstance(value, str) else value
        if name is not None and name not in VENDORS:
            raise ValueError(f"unknown vendor {name!r}; known: {', '.join(VENDORS)}")
        return name

    @field_validator("socket_mode", mode="before")
    @classmethod
    def _octal(cls, value: object) -> object:
        """A mode written in a file or variable is octal (``0660``): permission bits only, 0000 to 0777."""
        try:
            mode = int(value, 8) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(f"not an octal mode such as 0660: {value!r}") from None
        if isinstance(mode, int) and not 0 <= mode <= 0o777:
            raise ValueError(f"not a mode from 0000 to 0777 (permission bits only): {value!r}")
        return mode

    @field_validator("socket_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        """A group that exists (a name, or a numeric GID): the sockets are given to it when they are bound."""
        if value is None or not value.strip():
            return None
        name = value.strip()
        if not name.isdigit():
            try:
                grp.getgrnam(name)
            except KeyError:
                raise ValueError(f"no group named {name!r} on this machine (getent group {name})") from None
        return name

    @field_validator("rpc_tcp", "http")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        _listener(value, 0)
        return value

    @field_validator("friendly_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or "\x00" in value:
            raise ValueError("friendly_name must be a non-empty name")
        return value

    @field_validator("guid")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError(f"not a UUID such as cca455de-79ac-4b12-9731-91e433a899cf: {value!r}") from None

    # -------------------------------------------------------------- derived

    def command_port(self) -> int | None:
        """The command/data port (``cmd_data_port`` or ``port``)."""
        return self.cmd_data_port if self.cmd_data_port is not None else self.port

    def rpc_tcp_address(self) -> tuple[str, int] | None:
        """The TCP JSON-RPC listener, or None when ``off``."""
        return _listener(self.rpc_tcp, 15741)

    def http_address(self) -> tuple[str, int] | None:
        """The data plane's TCP listener (DESIGN.md §8), or None when ``off``."""
        return _listener(self.http, 15780)

    def socket_path(self, env: Mapping[str, str] = os.environ) -> Path:
        """The Unix socket path."""
        return self.socket or default_runtime_dir(env) / "ptpipd.sock"

    def http_socket_path(self, env: Mapping[str, str] = os.environ) -> Path:
        """The data plane's Unix socket beside the JSON-RPC one: ``ptpipd.sock`` → ``ptpipd-http.sock``
        (an instance's ``NAME.sock`` → ``NAME-http.sock``)."""
        path = self.socket_path(env)
        return path.with_name(f"{path.stem}-http.sock")

    def state_path(self, env: Mapping[str, str] = os.environ) -> Path:
        """The state directory."""
        return self.state_dir or default_state_dir(env)

    def captures_path(self, env: Mapping[str, str] = os.environ) -> Path:
        """Where captures and downloads are saved."""
        return self.capture_dir or self.state_path(env) / "captures"

    def ingest_index_path(self, env: Mapping[str, str] = os.environ) -> Path:
        """Ingest's journal of what it stored (DESIGN.md §10), in the state directory."""
        return self.state_path(env) / "ingest" / "index.jsonl"

    def check(self) -> None:
        """Cross-field rules (exit 104 when broken)."""
        legacy = (self.legacy_address, self.legacy_port) if self.legacy_enabled else None
        for name, address in (
            ("rpc_tcp", self.rpc_tcp_address()),
            ("http", self.http_address()),
            ("legacy", legacy),
        ):
            if address is not None:
                self.check_exposure(name, *address)
        if self.http_require_token and not self.auth_token:
            raise SettingsError("http_require_token needs auth_token in [daemon]: the token it would require")
        if self.event_loop == "uvloop" and not uvloop_available():
            raise SettingsError(
                "event_loop uvloop: uvloop is not installed (pip install uvloop; or auto, asyncio)"
            )

    def check_exposure(self, role: str, host: str, port: int, what: str | None = None) -> None:
        """The rule for every TCP listener, configured or handed over by systemd: off loopback only with
        ``auth_token`` (:class:`SettingsError`, exit 104). ``role`` is ``rpc_tcp``, ``http`` or ``legacy``
        (the message says how its clients then authenticate); ``what`` names the listener when the role does
        not (``rpc_tcp 0.0.0.0:15741``, ``the socket systemd passed as fd 3 (0.0.0.0:15741)``)."""
        if self.auth_token or is_loopback_host(host):
            return
        address = format_host_port(host, port)
        subject = f"{what} ({address})" if what else f"{role} {address}"
        raise SettingsError(
            f"{subject} is not a loopback address: set auth_token in [daemon] ({_AUTH_HOW[role]})"
        )


# ------------------------------------------------------------------------------------------------ sources

#: [server] and [ingest]: the settings legacy_KEY and ingest_KEY (the seed's server mode, tethered ingest).
_PREFIXED = {
    (section, field.removeprefix(prefix)): field
    for section, prefix in (("server", "legacy_"), ("ingest", "ingest_"))
    for field in Settings.model_fields
    if field.startswith(prefix)
}
#: INI (section, key) → settings field: the seed's sections, [ingest], and every other setting under [daemon].
INI_KEYS: dict[tuple[str, str], str] = {
    ("initiator", "friendly_name"): "friendly_name",
    ("initiator", "guid"): "guid",
    **{
        ("responder", key): key
        for key in ("host", "port", "vendor", "cmd_data_port", "event_port", "stream_port")
    },
    **_PREFIXED,
}
INI_KEYS.update({("daemon", f): f for f in Settings.model_fields if f not in INI_KEYS.values()})

ENV_KEYS = {f"PTPIPD_{field.upper()}": field for field in Settings.model_fields}


def _unquote(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


@dataclass(frozen=True, slots=True)
class IniValues:
    """What a config file sets: settings fields with their values, and where each was written."""

    path: Path
    values: dict[str, Any] = dataclass_field(default_factory=dict)
    #: field → (section, key) as spelled in the file
    where: dict[str, tuple[str, str]] = dataclass_field(default_factory=dict)

    def origin(self, field: str) -> str:
        """``FILE: [section] key`` of a field the file sets."""
        section, key = self.where[field]
        return f"{self.path}: [{section}] {key}"


def read_ini(path: Path) -> IniValues:
    """The settings a config file sets; :class:`ConfigFileError` when it cannot be read or parsed."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    try:
        with path.open(encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from exc
    except configparser.Error as exc:
        raise ConfigFileError(f"config file {path} is not valid INI: {exc}") from exc
    out = IniValues(path)
    for section in parser.sections():
        for key, raw in parser.items(section):
            field = INI_KEYS.get((section.lower(), key.lower()))
            if field is None:
                raise ConfigFileError(f"{path}: unknown setting [{section}] {key}")
            out.where[field] = (section, key)
            out.values[field] = _unquote(raw)
    return out


def read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as ``PTPIPD_*`` environment variables."""
    return {field: env[name] for name, field in ENV_KEYS.items() if name in env}


def flag_name(field: str) -> str:
    """The command-line flag of a settings field (``--cmd-data-port``; the ``[server]`` ones: ``--legacy``)."""
    return "--legacy" if field.startswith("legacy_") else f"--{field.replace('_', '-')}"


_BOUNDS = {"ge": "at least", "le": "at most", "gt": "more than", "lt": "less than"}


def _problem(error: Mapping[str, Any]) -> str:
    """One pydantic error in a photographer's words: ``not a number: 'abc'``."""
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind in ("int_parsing", "float_parsing", "int_from_float"):
        return f"not a number: {value!r}"
    bound = next((f"{word} {ctx[key]}" for key, word in _BOUNDS.items() if key in ctx), None)
    if bound is not None:
        return f"out of range: {value!r} ({bound})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'].lower().removeprefix('input ')}: {value!r}"


@dataclass(frozen=True, slots=True)
class Loaded:
    """The settings, and the flags the config file overrode (the seed's precedence), which the daemon says
    once at start-up: ``FLAG VALUE by FILE: [section] key = VALUE``."""

    settings: Settings
    overrides: list[str]


def _invalid(exc: ValidationError, ini: IniValues, env_fields: set[str]) -> Exception:
    """The error to report: :class:`ConfigFileError` (exit 102) naming file, section and key when a value
    of the file is invalid, else :class:`SettingsError` (104) naming the variable or flag."""
    in_file, elsewhere = [], []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in ini.where:
            in_file.append(f"{ini.origin(field)}: {_problem(error)}")
        else:
            name = next((n for n, f in ENV_KEYS.items() if f == field), field)
            elsewhere.append(f"{name if field in env_fields else flag_name(field)}: {_problem(error)}")
    if in_file:
        return ConfigFileError("; ".join(in_file))
    return SettingsError(f"invalid settings: {'; '.join(elsewhere)}")


def load(
    flags: Mapping[str, Any], config_file: Path | None = None, env: Mapping[str, str] = os.environ
) -> Loaded:
    """Merges defaults, environment, flags and the config file (in that order) and validates the result.

    Raises:
        ConfigFileError: the file cannot be read, or a value in it is invalid (exit 102).
        SettingsError: a flag or environment value, or the combination, is invalid (exit 104).
    """
    from_env = read_env(env)
    from_flags = {k: v for k, v in flags.items() if v is not None}
    ini = read_ini(config_file) if config_file is not None else IniValues(Path())
    try:
        settings = Settings(**{**from_env, **from_flags, **ini.values})
    except ValidationError as exc:
        raise _invalid(exc, ini, set(from_env) - set(from_flags)) from exc
    settings.check()
    overrides = [
        f"{flag_name(field)} {value} by {ini.origin(field)} = {getattr(settings, field)}"
        for field, value in from_flags.items()
        if field in ini.values and str(value) != str(getattr(settings, field))
    ]
    return Loaded(settings, overrides)


def persistent_guid(settings: Settings, env: Mapping[str, str] = os.environ) -> bytes:
    """The initiator GUID: the configured one, else one generated once and kept in the state directory.

    Cameras pair with the GUID (and Fuji cameras with the name), so it must not change between runs.
    """
    if settings.guid:
        return uuid.UUID(settings.guid).bytes
    path = settings.state_path(env) / "guid"
    with contextlib.suppress(OSError, ValueError):
        return uuid.UUID(path.read_text().strip()).bytes
    new = uuid.uuid4()
    # read-only state: this run uses a fresh GUID, which only matters for pairing
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{new}\n")
        os.replace(tmp, path)
    return new.bytes
