"""Reading systemd unit files, and turning a service + socket pair into what systemd would run.

PID 1 is not systemd here, so the tests do what systemd would do with our units, from the unit text:
the ExecStart command line (specifiers expanded), the sockets of ListenStream= (bound by the real
``systemd-socket-activate``, with FileDescriptorName= as LISTEN_FDNAMES), and the environment systemd
sets (RUNTIME_DIRECTORY, STATE_DIRECTORY, CONFIGURATION_DIRECTORY, WATCHDOG_USEC, NOTIFY_SOCKET). Paths
under /etc, /run and /var/lib are moved into a test directory; nothing else is changed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
ACTIVATE = shutil.which("systemd-socket-activate")
ANALYZE = shutil.which("systemd-analyze")
LISTENING_ON = re.compile(r"Listening on (?P<address>\S+) as (?P<fd>\d+)\.")
#: The binary the repository's units name (make install rewrites it for its PREFIX).
UNIT_BINARY = "/usr/bin/ptpipd"


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections → (key, value) in order; repeated keys kept (systemd.syntax(7): comments, continuations)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a unit line: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


@dataclass
class Unit:
    """A unit file's settings."""

    name: str
    sections: dict[str, list[tuple[str, str]]]

    @classmethod
    def load(cls, path: Path) -> Unit:
        return cls(path.name, parse_unit(path.read_text()))

    def values(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def one(self, section: str, key: str) -> str:
        found = self.values(section, key)
        assert len(found) == 1, f"{self.name}: [{section}] {key} appears {len(found)} times"
        return found[0]


def expand(text: str, instance: str | None) -> str:
    """%i and %% (the only specifiers our units use); anything else is an error in the test."""
    out = []
    i = 0
    while i < len(text):
        if text[i] == "%":
            spec = text[i + 1 : i + 2]
            if spec == "%":
                out.append("%")
            elif spec == "i" and instance is not None:
                out.append(instance)
            else:
                raise AssertionError(f"unexpected specifier %{spec} in {text!r}")
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def seconds(text: str) -> float:
    """A systemd time span such as 30s, 2min, 500ms, 1min 30s."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text):
        total += float(number) * units[unit or "s"]
    return total


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulation:
    """What systemd would start for a service and its socket unit, moved into ``root``."""

    argv: list[str]
    env: dict[str, str]
    listen: list[str]
    fdnames: list[str]
    unix_sockets: list[Path] = field(default_factory=list)
    tcp: list[tuple[str, int]] = field(default_factory=list)
    dirs: dict[str, Path] = field(default_factory=dict)
    umask: str | None = None

    def command(self) -> list[str]:
        """The systemd-socket-activate command line (UMask= applied by a shell that then execs the daemon
        in the same process, as LISTEN_PID requires)."""
        assert ACTIVATE is not None
        cmd = [ACTIVATE, *(f"--listen={a}" for a in self.listen)]
        if self.fdnames:
            cmd.append("--fdname=" + ":".join(self.fdnames))
        cmd += [f"--setenv={k}={v}" for k, v in self.env.items()]
        if self.umask is not None:
            cmd += ["/bin/sh", "-c", f'umask {self.umask} && exec "$@"', "sh"]
        return [*cmd, *self.argv]


def emulate(
    service: Unit,
    sockets: list[Unit],
    root: Path,
    *,
    instance: str | None = None,
    daemon: Path | None = None,
) -> Emulation:
    """The daemon's command line, sockets and environment for ``service`` activated by ``sockets``
    (systemd passes the fds of every socket unit of the service, in order)."""

    def move(path: str) -> Path:
        assert path.startswith(("/etc/", "/run/", "/var/lib/")), f"unexpected path {path}"
        return root / path.lstrip("/")

    words = shlex.split(expand(service.one("Service", "ExecStart"), instance))
    assert words[0] == UNIT_BINARY, words
    binary = daemon or Path(sys.executable).with_name("ptpipd")
    argv = [str(binary)]
    for word in words[1:]:
        argv.append(str(move(word)) if word.startswith("/") else word)
    env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
    dirs: dict[str, Path] = {}
    for key, base, var in (
        ("RuntimeDirectory", "/run/", "RUNTIME_DIRECTORY"),
        ("StateDirectory", "/var/lib/", "STATE_DIRECTORY"),
        ("ConfigurationDirectory", "/etc/", "CONFIGURATION_DIRECTORY"),
    ):
        path = move(base + expand(service.one("Service", key), instance))
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
        dirs[var] = path
    env["WATCHDOG_USEC"] = str(int(seconds(service.one("Service", "WatchdogSec")) * 1_000_000))
    umask = service.values("Service", "UMask")
    emu = Emulation(argv, env, [], [], dirs=dirs, umask=umask[-1] if umask else None)
    for sock in sockets:
        names = sock.values("Socket", "FileDescriptorName")
        for address in (expand(a, instance) for a in sock.values("Socket", "ListenStream")):
            if address.startswith("/"):
                path = move(address)
                path.parent.mkdir(parents=True, exist_ok=True)
                emu.unix_sockets.append(path)
                emu.listen.append(str(path))
            else:
                host, _, _port = address.rpartition(":")
                port = free_tcp_port()  # the unit's fixed port may be taken on a shared test machine
                emu.tcp.append((host, port))
                emu.listen.append(f"{host}:{port}")
            emu.fdnames.append(names[-1] if names else "")
    if not any(emu.fdnames):
        emu.fdnames = []
    return emu
