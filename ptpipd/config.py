"""The daemon's settings: the seed tool's INI file plus a ``[daemon]`` section, flags, and ``PTPIPD_*``.

Precedence, lowest first: built-in defaults < ``PTPIPD_*`` environment variables < command-line flags <
the config file (the seed tool's rule: "the config file will override any command line flags present").

The seed's INI examples load unchanged::

    [initiator]   friendly_name, guid
    [responder]   host, port, vendor, cmd_data_port, event_port, stream_port
    [server]      enabled, address, port          (the legacy text protocol), keep_open (ours)
    [daemon]      socket, socket_mode, socket_group, rpc_tcp, http, http_timeout, auth_token, capture_dir, state_dir,
                  log_level, pairing_timeout, timeout, keepalive

Values may be quoted ("..."), as in the seed. Environment variables use the option names in upper case:
``PTPIPD_HOST``, ``PTPIPD_VENDOR``, ``PTPIPD_SOCKET``, ``PTPIPD_RPC_TCP``, ``PTPIPD_AUTH_TOKEN``, …
"""

from __future__ import annotations

import configparser
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ptpipd.net import is_loopback_host
from ptpipd.vendors import VENDORS

EXIT_UNSPECIFIED = 1
EXIT_CONFIG = 102
EXIT_SETTINGS = 104
EXIT_CONNECT = 105


class ConfigFileError(Exception):
    """The config file cannot be read or parsed (exit 102)."""


class SettingsError(Exception):
    """The settings are invalid (exit 104)."""


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


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``HOST`` or ``[v6]:PORT``."""
    t = text.strip()
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
    legacy_enabled: bool = False
    legacy_address: str = "127.0.0.1"
    legacy_port: int = Field(15740, ge=0, le=65535)
    legacy_keep_open: bool = False
    # [daemon]
    socket: Path | None = None
    socket_mode: int = 0o660
    socket_group: str | None = None
    rpc_tcp: str | None = "127.0.0.1:15741"
    http: str | None = "127.0.0.1:15780"
    http_timeout: float = Field(15.0, gt=0)
    auth_token: str | None = None
    capture_dir: Path | None = None
    state_dir: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    pairing_timeout: float = Field(60.0, gt=0)
    timeout: float = Field(10.0, gt=0)
    keepalive: float = Field(3.0, gt=0)
    simulate: str | None = None

    @field_validator("vendor", "simulate")
    @classmethod
    def _vendor(cls, value: str | None) -> str | None:
        if value is not None and value not in VENDORS:
            raise ValueError(f"unknown vendor {value!r}; known: {', '.join(VENDORS)}")
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
            raise ValueError(
                f"guid must be a UUID such as cca455de-79ac-4b12-9731-91e433a899cf, got {value!r}"
            ) from None

    # -------------------------------------------------------------- derived

    def command_port(self) -> int | None:
        """The command/data port (``cmd_data_port`` or ``port``)."""
        return self.cmd_data_port if self.cmd_data_port is not None else self.port

    def rpc_tcp_address(self) -> tuple[str, int] | None:
        """The TCP JSON-RPC listener, or None when ``off``."""
        if self.rpc_tcp is None or self.rpc_tcp.strip().lower() in ("", "off", "no", "false", "none"):
            return None
        return parse_host_port(self.rpc_tcp, 15741)

    def http_address(self) -> tuple[str, int] | None:
        """The data plane's TCP listener (DESIGN.md §8), or None when ``off``."""
        if self.http is None or self.http.strip().lower() in ("", "off", "no", "false", "none"):
            return None
        return parse_host_port(self.http, 15780)

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

    def check(self) -> None:
        """Cross-field rules (exit 104 when broken)."""
        address = self.rpc_tcp_address()
        if address is not None and not self.auth_token and not is_loopback_host(address[0]):
            raise SettingsError(
                f"rpc_tcp {address[0]}:{address[1]} is not a loopback address: set auth_token in [daemon] "
                "(clients then call auth {token} first)"
            )
        http = self.http_address()
        if http is not None and not self.auth_token and not is_loopback_host(http[0]):
            raise SettingsError(
                f"http {http[0]}:{http[1]} is not a loopback address: set auth_token in [daemon] "
                "(HTTP clients then send it as Authorization: Bearer TOKEN)"
            )
        if self.legacy_enabled and not is_loopback_host(self.legacy_address) and not self.auth_token:
            raise SettingsError(
                f"the legacy text server on {self.legacy_address} would be open to the network without "
                "authentication; bind it to a loopback address"
            )


# ------------------------------------------------------------------------------------------------ sources

_SEED_KEYS: dict[tuple[str, str], str] = {
    ("initiator", "friendly_name"): "friendly_name",
    ("initiator", "guid"): "guid",
    **{
        ("responder", key): key
        for key in ("host", "port", "vendor", "cmd_data_port", "event_port", "stream_port")
    },
    ("server", "enabled"): "legacy_enabled",
    ("server", "address"): "legacy_address",
    ("server", "port"): "legacy_port",
    ("server", "keep_open"): "legacy_keep_open",
}
#: INI (section, key) → settings field: the seed's sections, and every other setting under [daemon].
INI_KEYS: dict[tuple[str, str], str] = {
    **_SEED_KEYS,
    **{("daemon", f): f for f in Settings.model_fields if f not in _SEED_KEYS.values()},
}

ENV_KEYS = {f"PTPIPD_{field.upper()}": field for field in Settings.model_fields}


def _unquote(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _coerce(field: str, value: str) -> Any:
    if field == "socket_mode":
        return int(value, 8)
    if field.endswith(("enabled", "keep_open")):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if field in ("vendor", "simulate"):
        return value.strip().lower()
    return value


def read_ini(path: Path) -> dict[str, Any]:
    """The settings a config file sets; :class:`ConfigFileError` when it cannot be read or parsed."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    try:
        with path.open(encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from exc
    except configparser.Error as exc:
        raise ConfigFileError(f"config file {path} is not valid INI: {exc}") from exc
    out: dict[str, Any] = {}
    for section in parser.sections():
        for key, raw in parser.items(section):
            field = INI_KEYS.get((section.lower(), key.lower()))
            if field is None:
                raise ConfigFileError(f"config file {path}: unknown setting [{section}] {key}")
            try:
                out[field] = _coerce(field, _unquote(raw))
            except ValueError as exc:
                raise ConfigFileError(f"config file {path}: [{section}] {key}: {exc}") from exc
    return out


def read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as ``PTPIPD_*`` environment variables."""
    out: dict[str, Any] = {}
    for name, field in ENV_KEYS.items():
        if name in env:
            try:
                out[field] = _coerce(field, env[name])
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from exc
    return out


def load_settings(
    flags: Mapping[str, Any], config_file: Path | None = None, env: Mapping[str, str] = os.environ
) -> Settings:
    """Merges defaults, environment, flags and the config file (in that order) and validates the result."""
    merged: dict[str, Any] = {}
    merged.update(read_env(env))
    merged.update({k: v for k, v in flags.items() if v is not None})
    if config_file is not None:
        merged.update(read_ini(config_file))
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from exc
    settings.check()
    return settings


def persistent_guid(settings: Settings, env: Mapping[str, str] = os.environ) -> bytes:
    """The initiator GUID: the configured one, else one generated once and kept in the state directory.

    Cameras pair with the GUID (and Fuji cameras with the name), so it must not change between runs.
    """
    if settings.guid:
        return uuid.UUID(settings.guid).bytes
    path = settings.state_path(env) / "guid"
    try:
        return uuid.UUID(path.read_text().strip()).bytes
    except (OSError, ValueError):
        pass
    new = uuid.uuid4()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{new}\n")
        os.replace(tmp, path)
    except OSError:
        pass  # read-only state: this run uses a fresh GUID, which only matters for pairing
    return new.bytes
