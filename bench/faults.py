"""The reliability suite of issue 14: fuzzing, garbage input, camera kills and a soak, with the figures.

Run ``make fuzz`` or ``.venv/bin/python bench/faults.py [--parts fuzz,garbage,kills,soak] [options]``.
Not part of the CI run (the full run takes several minutes); every part has options to shorten it. It
prints each part's figures and a final table of the goals of issue 14, each "met" or "NOT met", and never
exits non-zero because of a figure (only when the suite itself cannot run).

* **fuzz** — the sans-I/O decoders fed mutated bytes that start from the real vectors in
  ``tests/data/vectors``: ``ptpipd.ip.packets.decode_generic``, ``ptpipd.ip.fuji.decode_container``, the
  ``ptpipd.ptp.datasets`` decoders (stable API, DESIGN.md §3), and the streaming codecs of both dialects
  (fed in random splits). A decoder may succeed or raise its own error type (``PTPIPError``,
  ``DecodeError``); anything else is a *foreign exception* (goal: 0). A value that decodes must also
  re-encode and decode to the same value (round-trip mismatches, goal: 0). Mutations: bit flips,
  interesting bytes and 32-bit values, insertions, deletions, truncation, splicing, and the length field
  fixed up half of the time so that mutants get past the length check. Plain ``random`` with a seed: no
  extra package needed.
* **garbage** — a real ``ptpipd --simulate generic`` gets random, mutated and type-confused JSON-RPC lines
  (each followed by a ``status`` sentinel, so every answer is accounted for) and random legacy text lines
  (one per connection, as ``nc`` sends them). Figures: lines, answers by code, -32603 answers (goal: 0),
  answers that are not standard JSON, lost answers, and whether the daemon still answers afterwards.
* **kills** — a ``ptpipd-sim`` subprocess (capture delay 3 s) is SIGKILLed while a capture and two ``get``
  calls are in flight, stays away ``--away`` seconds and is restarted on the same port. Figures: time from
  the kill until each in-flight call is answered (goal: max ≤ 100 ms), their codes, time from the camera's
  return (its ``listening on`` line) until ``notify.connection`` says connected (goal: max ≤ 2 s), and
  ``Future exception was never retrieved`` in the daemon's log.
* **soak** — ``--soak-clients`` (100) clients on one daemon: a warm-up, an unloaded phase, then
  ``--soak-seconds`` (60) with one more client flooding batches of 10,000 ``get`` calls. Figures: lost
  answers (goal: 0), -32006 answers, the daemon's VmRSS growth over the flooded soak (goal: < 5 MB), and
  each client's p99 under the flood against its own unloaded p99 (goal: ≤ 10×).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.legacy.conftest import legacy_port  # noqa: E402
from tests.procs import DaemonProcess, SimProcess, draining, running_daemon, start_sim  # noqa: E402
from tests.rpcclient import RpcConnection  # noqa: E402
from tests.vectors import load_vectors  # noqa: E402

NEVER_RETRIEVED = "Future exception was never retrieved"


# ------------------------------------------------------------------------------------------------ goals


@dataclass
class Goal:
    """One goal of issue 14 and today's figure."""

    part: str
    name: str
    figure: str
    met: bool


GOALS: list[Goal] = []


def goal(part: str, name: str, figure: str, met: bool) -> None:
    GOALS.append(Goal(part, name, figure, met))


def print_goals() -> None:
    print("\n== goals (issue 14)")
    width = max((len(g.name) for g in GOALS), default=10)
    for g in GOALS:
        print(f"  {g.part:8} {g.name:{width}}  {g.figure:42}  {'met' if g.met else 'NOT met'}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


# ------------------------------------------------------------------------------------------------- fuzz

INTERESTING_U32 = (
    0,
    1,
    2,
    4,
    7,
    8,
    11,
    12,
    13,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
)
INTERESTING_U8 = (0, 1, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(rng: random.Random, data: bytes, pool: list[bytes], fix_length: bool) -> bytes:
    """One mutant of ``data``: 1-4 stacked mutations; with ``fix_length`` the leading u32 becomes the size."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[at % len(b)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[at % len(b)] = rng.choice(INTERESTING_U8)
        elif op == 2 and len(b) >= 4:
            at = min(at, len(b) - 4)
            b[at : at + 4] = rng.choice(INTERESTING_U32).to_bytes(4, "little")
        elif op == 3:
            b[at:at] = rng.randbytes(rng.choice((1, 2, 4, rng.randint(1, 64))))
        elif op == 4 and b:
            del b[at : at + rng.randint(1, 16)]
        elif op == 5:
            del b[rng.randrange(len(b) + 1) :]
        elif op == 6 and pool:
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            b = b[:at] + bytearray(other[cut:])
        elif op == 7 and b:
            chunk = b[at : at + rng.randint(1, 32)]
            b[at:at] = chunk * rng.randint(1, 8)
        else:
            b += rng.randbytes(rng.randint(1, 16))
    if fix_length and len(b) >= 4:
        b[0:4] = len(b).to_bytes(4, "little")
    return bytes(b)


@dataclass
class Target:
    """A decoder under fuzz: its seeds, what it may raise, and an optional round-trip check."""

    name: str
    decode: Callable[[bytes], Any]
    allowed: tuple[type[BaseException], ...]
    seeds: list[bytes]
    roundtrip: Callable[[Any], Any] | None = None
    length_prefixed: bool = False
    inputs: int = 0
    decoded: int = 0
    refused: int = 0
    foreign: Counter[str] = field(default_factory=Counter)
    example: dict[str, bytes] = field(default_factory=dict)
    mismatches: int = 0


def stream_decoder(make_codec: Callable[[], Any], rng: random.Random) -> Callable[[bytes], Any]:
    """Feeds bytes to a fresh streaming codec in random splits and drains every event."""

    def decode(data: bytes) -> int:
        codec = make_codec()
        events, at = 0, 0
        while at < len(data):
            step = rng.choice((1, 3, 8, 12, 64, len(data)))
            codec.receive_data(data[at : at + step])
            at += step
            while codec.next_event() is not None:
                events += 1
        return events

    return decode


def fuzz_targets(rng: random.Random) -> list[Target]:
    """The decoders of the stable API and the streaming codecs, seeded from the real vectors."""
    from ptpipd.ip import packets
    from ptpipd.ip.errors import PTPIPError
    from ptpipd.ip.fuji import decode_container, encode_container
    from ptpipd.ptp import DecodeError
    from ptpipd.ptp.datasets import DeviceInfo, DevicePropDesc, ObjectInfo, StorageInfo

    vectors = [v for v in load_vectors() if v.complete]
    generic = [v.data for v in vectors if v.file.startswith("generic")]
    fuji = [v.data for v in vectors if v.file.startswith("fuji") and not v.payload_only]
    payloads = (
        [v.data for v in vectors if v.payload_only] + [d[12:] for d in fuji] + [d[12:] for d in generic]
    )
    targets = [
        Target(
            "ip.packets.decode_generic", packets.decode_generic, (PTPIPError,), generic, packets.encode, True
        ),
        Target("ip.fuji.decode_container", decode_container, (PTPIPError,), fuji, encode_container, True),
    ]
    for cls in (DeviceInfo, ObjectInfo, StorageInfo, DevicePropDesc):
        seeds = [p for p in payloads if _decodes(cls.decode, p)]
        targets.append(
            Target(f"ptp.datasets.{cls.__name__}", cls.decode, (DecodeError,), seeds or payloads, cls.encode)
        )
    targets += streaming_targets(rng, generic, fuji, PTPIPError)
    return targets


def streaming_targets(
    rng: random.Random, generic: list[bytes], fuji: list[bytes], error: type[BaseException]
) -> list[Target]:
    """The streaming codecs (not part of the stable API: skipped with a note when they moved)."""
    try:
        from ptpipd.ip.codec import Role
        from ptpipd.ip.fuji import FUJI
        from ptpipd.ip.generic import GENERIC
    except ImportError as exc:
        print(f"  streaming codecs skipped: {exc}")
        return []
    streams = [b"".join(rng.sample(generic, k=min(3, len(generic)))) for _ in range(20)]
    fuji_streams = [b"".join(rng.sample(fuji, k=min(3, len(fuji)))) for _ in range(20)]
    out = []
    for dialect, seeds in ((GENERIC, streams), (FUJI, fuji_streams)):
        for role in Role:
            name = f"ip codec {dialect.name} {role.value}"
            make = lambda d=dialect, r=role: d.command_codec(r)  # noqa: E731
            out.append(Target(name, stream_decoder(make, rng), (error,), seeds, None, False))
    return out


def _decodes(decode: Callable[[bytes], Any], data: bytes) -> bool:
    try:
        decode(data)
    except Exception:
        return False
    return True


def fuzz_one(target: Target, data: bytes) -> None:
    target.inputs += 1
    try:
        value = target.decode(data)
    except target.allowed:
        target.refused += 1
        return
    except Exception as exc:  # a foreign exception: the finding this part looks for
        key = f"{type(exc).__name__}: {str(exc)[:80]}"
        target.foreign[type(exc).__name__] += 1
        target.example.setdefault(key, data)
        return
    target.decoded += 1
    if target.roundtrip is not None:
        try:
            again = target.decode(target.roundtrip(value))
        except Exception:
            again = None
        if again != value:
            target.mismatches += 1


def run_fuzz(seconds: float, seed: int) -> None:
    print(f"\n== fuzz: decoders fed mutated real vectors for {seconds:g} s (seed {seed})")
    rng = random.Random(seed)
    targets = fuzz_targets(rng)
    pool = [s for t in targets for s in t.seeds]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for target in targets:
            for _ in range(200):
                data = mutate(
                    rng, rng.choice(target.seeds), pool, target.length_prefixed and rng.random() < 0.5
                )
                fuzz_one(target, data)
    print(f"  {'decoder':34} {'inputs':>9} {'decoded':>9} {'refused':>9} {'foreign':>8} {'round-trip':>10}")
    for t in targets:
        foreign = sum(t.foreign.values())
        print(f"  {t.name:34} {t.inputs:9d} {t.decoded:9d} {t.refused:9d} {foreign:8d} {t.mismatches:10d}")
        for key, data in list(t.example.items())[:5]:
            print(f"      foreign {key}  input {data[:48].hex(' ')}{' …' if len(data) > 48 else ''}")
    total = sum(t.inputs for t in targets)
    foreign = sum(sum(t.foreign.values()) for t in targets)
    mismatches = sum(t.mismatches for t in targets)
    goal("fuzz", "foreign exceptions", f"{foreign} in {total:,} inputs", foreign == 0)
    goal("fuzz", "round-trip mismatches", f"{mismatches} in {total:,} inputs", mismatches == 0)


# ---------------------------------------------------------------------------------------------- garbage

METHODS = (
    "status",
    "get",
    "set",
    "describe",
    "info",
    "files",
    "opreq",
    "subscribe",
    "unsubscribe",
    "auth",
    "rpc.discover",
    "state",
    "nope",
    "",
    "rpc.",
    "get\x00",
)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice((0, -1, 1, 2**31, 2**32, 2**63, -(2**63), 2**64 + 1, 0x500F, 20495))
    if kind == 1:
        return rng.choice((0.5, -0.0, 1e308, 3.0, float(rng.randint(0, 1 << 20))))
    if kind == 2:
        return rng.choice(
            (
                "iso",
                "0x500f",
                "500f",
                "ISO",
                "800",
                "0x",
                "0x" + "f" * rng.choice((4, 40, 5000)),
                "9" * rng.choice((10, 5000)),
                "",
                " ",
                "\x00",
                "é",
                "\u202e",
                "a" * rng.randint(100, 3000),
                "../../etc/passwd",
            )
        )
    if kind == 3:
        return rng.choice((True, False, None))
    if kind in (4, 5):
        return rng.choice(("iso", "exp-bias", "battery", 12345, "0x5005"))
    if kind == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    keys = ("property", "value", "code", "params", "handle", "inline", "topics", "token", "x")
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def jsonrpc_garbage(rng: random.Random) -> bytes:
    """One hostile JSON-RPC line (no newline inside)."""
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randint(1, 300)).replace(b"\n", b" ")
    if kind == 1:
        depth = rng.choice((10, 1000, 100_000))
        return (
            (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)
        )
    if kind == 2:
        number = rng.choice(
            ("9" * 5000, "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, "0x10")
        )
        field_ = rng.choice(("id", "params"))
        body = {"jsonrpc": "2.0", "method": rng.choice(("status", "get", "opreq")), "id": 1}
        plain = json.dumps(body)
        return plain.replace('"id": 1', f'"{field_}": {number}', 1).encode()
    if kind == 3:
        return rng.choice(
            (b"[]", b"[1,2,3]", b"{}", b"null", b'"x"', b"[{}]", b'{"jsonrpc":"2.0"}', b"\xef\xbb\xbf{}")
        )
    version = "2.0" if rng.random() < 0.8 else rng.choice(("1.0", 2, None))
    request: dict[str, Any] = {"jsonrpc": version, "method": rng.choice(METHODS)}
    if rng.random() < 0.8:
        request["params"] = random_json(rng)
    if kind in (6, 7, 8):  # the right method and parameter names, hostile values
        method, names = rng.choice(PARAMS)
        values = [random_json(rng) for _ in names]
        request["method"] = method
        request["params"] = dict(zip(names, values, strict=True)) if kind != 8 else values
    roll = rng.random()
    if roll < 0.7:
        request["id"] = rng.randint(1, 1 << 20)
    elif roll < 0.9:
        request["id"] = rng.choice((rng.randint(-(2**70), 2**70), "a", None, [], {}, 1.5, True))
    text = json.dumps(request).encode()
    if kind == 4:
        text = mutate(rng, text, [], False).replace(b"\n", b" ")
    if kind == 5:
        batch = [request, {"jsonrpc": "2.0", "method": "status", "id": 2}, random_json(rng)]
        text = json.dumps(batch).encode()
    return text


PARAMS = (
    ("get", ("property",)),
    ("describe", ("property",)),
    ("set", ("property", "value")),
    ("opreq", ("code", "params")),
    ("download", ("handle", "inline")),
    ("subscribe", ("topics",)),
    ("auth", ("token",)),
)

LEGACY_WORDS = (
    "get",
    "set",
    "describe",
    "info",
    "state",
    "opreq",
    "help",
    "capture",
    "shoot",
    "snap",
    "json",
    "pretty",
    "iso",
    "exp-bias",
    "0x500f",
    "0x0",
    "0x",
    "0xFFFFFFFFFF",
    "-1",
    "auto",
    "800",
    "é",
)


def legacy_garbage(rng: random.Random) -> bytes:
    """One hostile legacy text line. Never ``capture PATH`` (issue 14 defect 1: it writes anywhere)."""
    kind = rng.randrange(5)
    if kind == 0:
        line = rng.randbytes(rng.randint(1, 200)).replace(b"\n", b" ")
    elif kind == 1:
        line = b"get " + b"x" * rng.choice((10, 4000, 5000, 70000))
    elif kind == 2:
        hexes = (f"0x{rng.getrandbits(rng.choice((4, 16, 32, 40))):x}" for _ in range(rng.randint(0, 8)))
        line = ("opreq " + " ".join(hexes)).encode()
    else:
        line = " ".join(rng.choice(LEGACY_WORDS) for _ in range(rng.randint(1, 5))).encode()
        if kind == 4:
            line = mutate(rng, line, [], False).replace(b"\n", b" ")
    parts = line.split()
    if parts and parts[0].lower() in (b"capture", b"shoot", b"shutter", b"snap") and len(parts) > 1:
        line = parts[0]  # no PATH
    return line


@dataclass
class GarbageTally:
    lines: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    internal: int = 0
    non_standard: int = 0
    lost: int = 0
    closed: int = 0
    examples: list[str] = field(default_factory=list)


def strict_json(line: bytes) -> Any:
    def refuse(token: str) -> Any:
        raise ValueError(token)

    return json.loads(line, parse_constant=refuse)


class RawLines(RpcConnection):
    """An RpcConnection that hands out raw answer lines."""

    def read_raw_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self._buf += chunk
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        return line


def read_until_sentinel(conn: RawLines, sentinel: str, tally: GarbageTally, line: bytes) -> bool:
    """Reads answers until the sentinel's; False when the connection must be replaced."""
    while True:
        try:
            raw = conn.read_raw_line(10.0)
        except TimeoutError:
            tally.lost += 1
            return False
        except (EOFError, OSError):
            tally.closed += 1
            return False
        try:
            message = strict_json(raw)
        except ValueError:
            tally.non_standard += 1
            message = json.loads(raw)
        answers = message if isinstance(message, list) else [message]
        for answer in answers:
            if isinstance(answer, dict) and answer.get("id") == sentinel:
                return True
            code = str(answer.get("error", {}).get("code", "result")) if isinstance(answer, dict) else "?"
            tally.answers[code] += 1
            if code == "-32603":
                tally.internal += 1
                if len(tally.examples) < 5:
                    tally.examples.append(f"{line[:100]!r} → {raw[:200]!r}")


def jsonrpc_garbage_run(daemon: DaemonProcess, count: int, rng: random.Random) -> GarbageTally:
    tally = GarbageTally()
    conn = RawLines(str(daemon.socket_path), 15)
    try:
        for n in range(count):
            line = jsonrpc_garbage(rng)
            sentinel = f"sentinel-{n}"
            tally.lines += 1
            try:
                conn.send_line(
                    line + b"\n" + json.dumps({"jsonrpc": "2.0", "method": "status", "id": sentinel}).encode()
                )
                ok = read_until_sentinel(conn, sentinel, tally, line)
            except OSError:
                tally.closed += 1
                ok = False
            if not ok:
                conn.close()
                conn = RawLines(str(daemon.socket_path), 15)
    finally:
        conn.close()
    return tally


def legacy_garbage_run(host: str, port: int, count: int, rng: random.Random) -> GarbageTally:
    tally = GarbageTally()
    for _ in range(count):
        line = legacy_garbage(rng)
        tally.lines += 1
        answer = b""
        try:
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(line + b"\n")
                sock.shutdown(socket.SHUT_WR)
                while chunk := sock.recv(65536):
                    answer += chunk
        except TimeoutError:
            tally.lost += 1
            continue
        except OSError:
            tally.closed += 1
        text = answer.decode(errors="replace")
        kind = (
            "empty"
            if not text
            else "error line"
            if " error: " in text or "unknown command" in text
            else "answer"
        )
        tally.answers[kind] += 1
        if "internal error" in text.lower():
            tally.internal += 1
            if len(tally.examples) < 5:
                tally.examples.append(f"{line[:100]!r} → {text[:200]!r}")
    return tally


def print_garbage(name: str, tally: GarbageTally) -> None:
    answers = ", ".join(f"{code} ×{n}" for code, n in tally.answers.most_common())
    print(f"  {name}: {tally.lines} lines; answers: {answers}")
    print(
        f"    -32603/internal errors {tally.internal}, non-standard JSON answers {tally.non_standard}, "
        f"lost {tally.lost}, connections closed by the daemon {tally.closed}"
    )
    for example in tally.examples:
        print(f"    e.g. {example}")


def run_garbage(lines: int, legacy_lines: int, seed: int, workdir: Path) -> None:
    print(f"\n== garbage: {lines} JSON-RPC lines, {legacy_lines} legacy lines (seed {seed})")
    rng = random.Random(seed)
    with running_daemon(
        workdir / "garbage", "--simulate", "generic", "--legacy", "127.0.0.1:0", "--log-level", "warning"
    ) as daemon:
        daemon.wait_connected()
        rpc = jsonrpc_garbage_run(daemon, lines, rng)
        legacy = legacy_garbage_run("127.0.0.1", legacy_port(daemon), legacy_lines, rng)
        alive = daemon.proc.poll() is None and daemon.call("status")["state"] in ("connected", "connecting")
    print_garbage("JSON-RPC", rpc)
    print_garbage("legacy", legacy)
    print(f"  daemon still serving afterwards: {alive}")
    internal = rpc.internal + legacy.internal
    goal("garbage", "-32603 answers", f"{internal} in {rpc.lines + legacy.lines:,} lines", internal == 0)
    goal(
        "garbage",
        "non-standard JSON answers",
        f"{rpc.non_standard} in {rpc.lines:,} lines",
        rpc.non_standard == 0,
    )
    goal("garbage", "lost answers", f"{rpc.lost + legacy.lost}", rpc.lost + legacy.lost == 0 and alive)


# ------------------------------------------------------------------------------------------------ kills


@dataclass
class KillTally:
    in_flight: list[float] = field(default_factory=list)
    capture: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    captures_in_flight: int = 0
    reconnect: list[float] = field(default_factory=list)
    unanswered: int = 0
    never_reconnected: int = 0


def send(conn: RpcConnection, method: str, params: Any, rid: int) -> None:
    conn.send_line(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rid}))


def one_kill(
    daemon: DaemonProcess,
    sim: SimProcess,
    watcher: RpcConnection,
    rng: random.Random,
    away: float,
    tally: KillTally,
) -> SimProcess:
    """One cycle: a capture and two gets in flight, SIGKILL; the camera returns ``away`` s after the kill
    whether or not the calls were answered; returns the new sim once the answers are in."""
    conns = [daemon.connect(timeout=60) for _ in range(3)]
    try:
        send(conns[0], "capture", {"inline": True}, 1)
        for conn in conns[1:]:
            send(conn, "get", ["iso"], 1)
        time.sleep(rng.uniform(0.2, 1.0))  # the scenario: kill at some point of the 3 s capture
        sim.kill()
        killed = time.monotonic()
        readers = [
            threading.Thread(target=collect, args=(conn, index == 0, killed, tally), daemon=True)
            for index, conn in enumerate(conns)
        ]
        for reader in readers:
            reader.start()
        time.sleep(away)  # the scenario: the camera stays away
        sim = restart(sim, watcher, tally)
        for reader in readers:
            reader.join(65)
    finally:
        for conn in conns:
            conn.close()
    return sim


def collect(conn: RpcConnection, is_capture: bool, killed: float, tally: KillTally) -> None:
    """Reads one in-flight call's answer and records how long after the kill it came."""
    try:
        response = conn.read_response(timeout=60)
    except TimeoutError:
        tally.unanswered += 1
        return
    took = time.monotonic() - killed
    code = str(response.get("error", {}).get("code", "result"))
    tally.codes[code] += 1
    tally.in_flight.append(took)
    if is_capture:
        tally.capture.append(took)
        tally.captures_in_flight += code != "result"


def restart(sim: SimProcess, watcher: RpcConnection, tally: KillTally) -> SimProcess:
    """Starts the camera again on its port; records how long the daemon takes to say it is connected."""
    new = start_sim("generic", "--port", str(sim.port), "--capture-delay", "3")
    back = time.monotonic()
    deadline = back + 60
    while (left := deadline - time.monotonic()) > 0:
        try:
            note = watcher.notification("notify.connection", timeout=left)
        except TimeoutError:
            break
        if note["params"]["state"] == "connected":
            tally.reconnect.append(time.monotonic() - back)
            return new
    tally.never_reconnected += 1
    return new


def run_kills(cycles: int, away: float, seed: int, workdir: Path) -> None:
    print(
        f"\n== kills: {cycles} camera SIGKILL cycles with a capture in flight, {away:g} s away (seed {seed})"
    )
    rng = random.Random(seed)
    tally = KillTally()
    sim = start_sim("generic", "--capture-delay", "3")
    try:
        with running_daemon(workdir / "kills", "--host", sim.host, "--port", str(sim.port)) as daemon:
            daemon.wait_connected()
            with daemon.connect(timeout=60) as watcher, draining(daemon):
                watcher.call("subscribe", {"topics": ["connection"]})
                for _ in range(cycles):
                    sim = one_kill(daemon, sim, watcher, rng, away, tally)
            log = daemon.stderr_text()
    finally:
        sim.stop()
    print_kills(tally, cycles, log)


def print_kills(tally: KillTally, cycles: int, log: str) -> None:
    never = log.count(NEVER_RETRIEVED)
    codes = ", ".join(f"{c} ×{n}" for c, n in tally.codes.most_common())
    print(
        f"  in-flight calls answered after the kill: max {ms(max(tally.in_flight, default=float('nan')))}, "
        f"median {ms(statistics.median(tally.in_flight)) if tally.in_flight else '-'}; codes: {codes}; "
        f"unanswered within 60 s: {tally.unanswered}"
    )
    print(
        f"  captures in flight at the kill: {tally.captures_in_flight}/{cycles}; capture answered after "
        f"max {ms(max(tally.capture, default=float('nan')))}"
    )
    print(
        f"  reconnected after the camera's return: max {ms(max(tally.reconnect, default=float('nan')))}, "
        f"median {ms(statistics.median(tally.reconnect)) if tally.reconnect else '-'}; "
        f"never: {tally.never_reconnected}"
    )
    print(f"  '{NEVER_RETRIEVED}' in the daemon's log: {never}")
    worst = max(tally.in_flight, default=float("inf")) if not tally.unanswered else float("inf")
    goal("kills", "in-flight calls fail within 100 ms", f"max {ms(worst)}", worst <= 0.1)
    back = max(tally.reconnect, default=float("inf")) if not tally.never_reconnected else float("inf")
    goal("kills", "reconnected within 2 s of return", f"max {ms(back)}", back <= 2.0)
    goal("kills", "no unretrieved future in the log", f"{never}", never == 0)


# ------------------------------------------------------------------------------------------------- soak

BATCH = 10_000


@dataclass
class Client:
    latencies: list[float] = field(default_factory=list)  #: of the calls answered with a result
    errors: Counter[str] = field(default_factory=Counter)
    lost: int = 0

    @property
    def calls(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def p99(self) -> float:
        """p99 of the calls that got a result; infinite for a client that got none (starved)."""
        return pct(self.latencies, 0.99) if self.latencies else float("inf")


def soak_request(rng: random.Random, rid: int) -> bytes:
    roll = rng.random()
    if roll < 0.6:
        method, params = "get", ["iso"]
    elif roll < 0.8:
        method, params = "status", None
    elif roll < 0.95:
        method, params = "describe", ["exp-bias"]
    else:
        method, params = "set", ["iso", rng.choice(("400", "800"))]
    request = {"jsonrpc": "2.0", "method": method, "id": rid, **({"params": params} if params else {})}
    return (json.dumps(request) + "\n").encode()


async def soak_client(path: str, until: float, client: Client, seed: int) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 24)
    rid = 0
    try:
        while time.monotonic() < until:
            rid += 1
            started = time.perf_counter()
            writer.write(soak_request(rng, rid))
            try:
                line = await asyncio.wait_for(reader.readline(), 30)
                answer = json.loads(line)
            except (TimeoutError, ValueError, ConnectionError):
                client.lost += 1
                return
            if answer.get("id") != rid:
                client.lost += 1
                return
            if "error" in answer:
                client.errors[str(answer["error"]["code"])] += 1
            else:
                client.latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def flooder(path: str, stop: asyncio.Event, counts: Counter[str]) -> None:
    line = (
        json.dumps([{"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": i} for i in range(BATCH)])
        + "\n"
    ).encode()
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 26)
    try:
        while not stop.is_set():
            writer.write(line)
            answer = await asyncio.wait_for(reader.readline(), 120)
            counts["batches"] += 1
            counts["refused"] += answer.count(b'"code": -32006')
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def soak_phase(
    path: str, clients: int, seconds: float, seed: int, flood: bool
) -> tuple[list[Client], Counter[str]]:
    until = time.monotonic() + seconds
    tallies = [Client() for _ in range(clients)]
    stop, counts = asyncio.Event(), Counter[str]()
    flood_task = asyncio.create_task(flooder(path, stop, counts)) if flood else None
    await asyncio.gather(*(soak_client(path, until, t, seed * 1000 + i) for i, t in enumerate(tallies)))
    stop.set()
    if flood_task is not None:
        await flood_task
    return tallies, counts


def run_soak(clients: int, seconds: float, unloaded: float, seed: int, workdir: Path) -> None:
    print(
        f"\n== soak: {clients} clients, {unloaded:g} s unloaded, then {seconds:g} s with one client flooding "
        f"batches of {BATCH:,} (seed {seed})"
    )
    with running_daemon(workdir / "soak", "--simulate", "generic", "--log-level", "warning") as daemon:
        daemon.wait_connected()
        path = str(daemon.socket_path)
        # warm-up, a flood included, so that first-time allocations do not count as growth
        asyncio.run(soak_phase(path, clients, min(3.0, unloaded), seed, True))
        alone, _ = asyncio.run(soak_phase(path, clients, unloaded, seed + 1, False))
        rss_start = daemon.rss_kib()
        loaded, counts = asyncio.run(soak_phase(path, clients, seconds, seed + 2, True))
        rss_end = daemon.rss_kib()
    print_phase("unloaded", alone)
    print_phase("flooded", loaded)
    print(f"  flooder: {counts['batches']} batches of {BATCH:,}, {counts['refused']:,} of its calls refused")
    print_soak(alone, loaded, rss_start, rss_end)


def print_phase(name: str, clients: list[Client]) -> None:
    errors = Counter[str]()
    for c in clients:
        errors.update(c.errors)
    p99s = [c.p99 for c in clients]
    print(
        f"  {name}: {sum(c.calls for c in clients):,} calls, {sum(len(c.latencies) for c in clients):,} "
        f"results, errors {dict(errors) or 'none'}, lost {sum(c.lost for c in clients)}; p99 of results per "
        f"client: median {ms(statistics.median(p99s))}, max {ms(max(p99s))}"
    )


def print_soak(alone: list[Client], loaded: list[Client], rss_start: int, rss_end: int) -> None:
    lost = sum(c.lost for c in alone + loaded)
    calls = sum(c.calls for c in alone + loaded)
    ratios = [b.p99 / a.p99 for a, b in zip(alone, loaded, strict=True)]
    growth = (rss_end - rss_start) / 1024
    print(
        f"  p99 flooded / unloaded per client: median {statistics.median(ratios):.1f}×, max {max(ratios):.1f}×"
    )
    print(f"  daemon VmRSS {rss_start / 1024:.1f} MiB → {rss_end / 1024:.1f} MiB over the flooded soak")
    refused = sum(c.errors["-32006"] for c in loaded)
    goal("soak", "lost answers", f"{lost} in {calls:,} calls", lost == 0)
    goal(
        "soak",
        "others get no -32006 in the flood",
        f"{refused:,} of {sum(c.calls for c in loaded):,}",
        not refused,
    )
    goal("soak", "RSS growth < 5 MB", f"{growth:+.1f} MiB", growth * 1.048576 < 5)
    goal(
        "soak",
        "others' p99 ≤ 10× unloaded",
        f"max {max(ratios):.1f}×, median {statistics.median(ratios):.1f}×",
        max(ratios) <= 10,
    )


# ------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Issue 14's reliability suite (prints figures; never fails on one)."
    )
    p.add_argument(
        "--parts", default="fuzz,garbage,kills,soak", help="comma-separated: fuzz,garbage,kills,soak"
    )
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--fuzz-seconds", type=float, default=60.0, help="time spent fuzzing (default 60)")
    p.add_argument("--garbage-lines", type=int, default=5000, help="JSON-RPC garbage lines (default 5000)")
    p.add_argument("--legacy-lines", type=int, default=2000, help="legacy garbage lines (default 2000)")
    p.add_argument("--cycles", type=int, default=10, help="camera kill cycles (default 10)")
    p.add_argument("--away", type=float, default=1.0, help="seconds the killed camera stays away (default 1)")
    p.add_argument("--soak-clients", type=int, default=100)
    p.add_argument("--soak-seconds", type=float, default=60.0, help="the flooded soak (default 60)")
    p.add_argument("--unloaded-seconds", type=float, default=10.0, help="the unloaded phase (default 10)")
    return p.parse_args(argv)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ptpipd-faults-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"fuzz", "garbage", "kills", "soak"}
    if unknown:
        raise SystemExit(f"unknown parts: {sorted(unknown)}")
    started = time.monotonic()
    with scratch() as workdir:
        if "fuzz" in parts:
            run_fuzz(args.fuzz_seconds, args.seed)
        if "garbage" in parts:
            run_garbage(args.garbage_lines, args.legacy_lines, args.seed, workdir)
        if "kills" in parts:
            run_kills(args.cycles, args.away, args.seed, workdir)
        if "soak" in parts:
            run_soak(args.soak_clients, args.soak_seconds, args.unloaded_seconds, args.seed, workdir)
    print_goals()
    print(f"\n(total {time.monotonic() - started:.0f} s; goals are reported, never enforced)")


if __name__ == "__main__":
    main()
