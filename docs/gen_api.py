#!/usr/bin/env python3
"""Writes docs/api.md: the JSON-RPC API from ``rpc.discover``, with a real example of every method and every
error code.

The examples are produced, not written: the daemon's own dispatcher (``make_dispatcher``) answers them,
with a :class:`~ptpipd.service.CameraService` connected to the built-in simulated camera, all in this
process. What changes from run to run is normalised so the output is deterministic: the simulator's port
becomes 15740, the capture directory ``/var/lib/ptpipd/captures``, times a fixed instant.

    python docs/gen_api.py --output docs/api.md     # what `make docs` runs
    python docs/gen_api.py --check docs/api.md      # exit 1 (and a diff) when the file is stale
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import difflib
import errno
import json
import logging
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ptpipd.files import AtomicFile
from ptpipd.ip.transport import Timeouts
from ptpipd.rpc import Client, Dispatcher, make_dispatcher
from ptpipd.rpc.errors import ERROR_TABLE
from ptpipd.service import CameraService, ConnectionState, ServiceOptions, Subscription
from ptpipd.sim.server import SimServer, start_simulator
from ptpipd.vendors.base import CameraConfig

#: What the examples show instead of what varies between runs.
SHOWN_PORT = 15740
SHOWN_CAPTURE_DIR = "/var/lib/ptpipd/captures"
SHOWN_TIME = 1717236000.0  # 2024-06-01 10:00:00 UTC
TOKEN = "example-token"
WIDTH = 100
WAIT = 10.0  # seconds: bound on every wait for the simulator and the service


# ---------------------------------------------------------------------------------------------- JSON


def dumps(value: Any, indent: int = 0) -> str:
    """JSON, indented, with every object or array that fits in the line width kept on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        lines, line = [], ""
        for item in (json.dumps(v, ensure_ascii=False) for v in value):
            if line and len(pad) + len(line) + len(item) + 2 > WIDTH:
                lines.append(line)
                line = ""
            line = f"{line} {item}," if line else f"{item},"
        lines.append(line.rstrip(","))
        return "[\n" + "\n".join(pad + ln for ln in lines) + "\n" + " " * indent + "]"
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + dumps(v, indent + 2) for v in value) + "\n" + " " * indent + "]"


class Normaliser:
    """Replaces the run's ports, paths and times by the values the docs show."""

    def __init__(self) -> None:
        self.ports: dict[int, int] = {}
        self.paths: dict[str, str] = {}

    def text(self, s: str) -> str:
        for real, shown in self.paths.items():
            s = s.replace(real, shown)
        for real, shown in self.ports.items():
            s = s.replace(f":{real}", f":{shown}").replace(f", {real})", f", {shown})")
        return s

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            if key == "ports":
                return [self.ports.get(v, v) for v in value]
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float) and key in ("connected_since", "time"):
            return SHOWN_TIME
        return value


# ------------------------------------------------------------------------------------------ sessions


@dataclasses.dataclass
class Example:
    """One request line and what the daemon answered (plus notifications that followed)."""

    title: str
    request: Any
    response: Any
    notes: list[Any] = dataclasses.field(default_factory=list)
    text: str = ""
    fold: bool = False


class Session:
    """A dispatcher on a service on a simulated camera, and a client calling it."""

    def __init__(
        self,
        norm: Normaliser,
        capture_dir: Path,
        *,
        auth_token: str | None = None,
        options: ServiceOptions | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.norm = norm
        self.capture_dir = capture_dir
        self.auth_token = auth_token
        self.options = options or ServiceOptions(keepalive_interval=3600)
        self.timeouts = timeouts or Timeouts()
        self.sim: SimServer | None = None
        self.service: CameraService | None = None
        self.dispatcher: Dispatcher | None = None
        self.client = Client(1, "unix", "example", authenticated=auth_token is None)
        self._ids = 0

    @contextlib.asynccontextmanager
    async def running(self, vendor: str | None = "generic", **sim_options: Any) -> AsyncIterator[Session]:
        """The session with a simulated camera (``vendor``) or, with None, a camera nobody answers for."""
        if vendor is not None:
            self.sim = await start_simulator(
                vendor, host="127.0.0.1", port=0, battery_interval=0, **sim_options
            )
            host, ports = self.sim.host, list(self.sim.ports)
        else:
            host, ports = "127.0.0.1", [closed_port()]
        for i, port in enumerate(ports):
            self.norm.ports[port] = SHOWN_PORT if vendor != "fuji" else 55740 + i
        config = CameraConfig(
            host=host,
            vendor=vendor or "generic",
            port=ports[0],
            event_port=ports[1] if len(ports) > 1 else None,
            stream_port=ports[2] if len(ports) > 2 else None,
            guid=uuid.UUID(int=0x5054_5049_5044).bytes,
            friendly_name="ptpipd",
            timeouts=self.timeouts,
        )
        self.service = CameraService(config, self.options)
        connected = asyncio.Event()
        disconnected = asyncio.Event()

        def on_state(state: ConnectionState, reason: str | None) -> None:
            if state is ConnectionState.CONNECTED:
                connected.set()
            elif state is ConnectionState.DISCONNECTED:
                disconnected.set()

        self.service.add_state_listener(on_state)
        # one example client, as the daemon's listeners would count it
        self.dispatcher = make_dispatcher(
            self.service, self.capture_dir, self.auth_token, client_count=lambda: 1
        )
        try:
            async with self.service:
                await asyncio.wait_for((connected if vendor else disconnected).wait(), WAIT)
                yield self
        finally:
            if self.sim is not None:
                await self.sim.close()

    def request(self, method: str, params: Any = None) -> dict[str, Any]:
        """A request object with the next id."""
        self._ids += 1
        req: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            req["params"] = params
        req["id"] = self._ids
        return req

    async def line(self, line: str, client: Client | None = None) -> Any:
        """The daemon's answer to one request line (parsed), normalised."""
        assert self.dispatcher is not None
        answer = await self.dispatcher.respond(line, client or self.client)
        return self.norm(json.loads(answer)) if answer is not None else None

    async def call(
        self, title: str, method: str, params: Any = None, client: Client | None = None
    ) -> Example:
        """One example: the request and its response."""
        req = self.request(method, params)
        return Example(title, req, await self.line(json.dumps(req), client))

    async def batch(self, title: str, requests: list[dict[str, Any]]) -> Example:
        """One example of a batch request."""
        return Example(title, requests, await self.line(json.dumps(requests)))

    async def notifications(self, sub: Subscription, expected: set[str]) -> list[Any]:
        """Notifications until one of each ``expected`` kind has come, normalised, in a stable order.

        A kind is ``method:code`` (``notify.event:0x4002``) or ``method:property``; the camera's event
        channel and the command channel race, so arrival order is not reproducible and the notes are sorted.
        """
        out = []
        missing = set(expected)
        while missing:
            note = await asyncio.wait_for(sub.next(), WAIT)
            params = note.params
            missing.discard(f"{note.method}:{params.get('code')}")
            missing.discard(f"{note.method}:{params.get('property')}")
            out.append(self.norm({"jsonrpc": "2.0", "method": note.method, "params": params}))
        return sorted(out, key=lambda n: (n["method"], json.dumps(n["params"], sort_keys=True)))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------- scenarios


async def method_examples(norm: Normaliser, capture_dir: Path) -> tuple[dict[str, list[Example]], Any]:
    """Every method on a connected generic camera; returns the examples and the rpc.discover document."""
    ex: dict[str, list[Example]] = {}

    def add(method: str, example: Example) -> None:
        ex.setdefault(method, []).append(example)

    s = Session(norm, capture_dir)
    async with s.running("generic"):
        add("status", await s.call("The daemon and the camera connection", "status"))
        add(
            "info",
            dataclasses.replace(await s.call("Everything the camera says about itself", "info"), fold=True),
        )
        add("get", await s.call("A property by its unified name", "get", {"property": "iso"}))
        add("get", await s.call("By PTP code, params by position", "get", ["0x5007"]))
        add("describe", await s.call("Type, default and allowed values", "describe", {"property": "iso"}))
        add(
            "set",
            await s.call("A label; the result is read back", "set", {"property": "iso", "value": "800"}),
        )
        add("set", await s.call("Exposure bias", "set", {"property": "exp-bias", "value": "-1/3"}))
        shot = await s.call("Saved by the daemon", "capture")
        add("capture", shot)
        add("files", await s.call("The card", "files"))
        add("download", await s.call("Saved by the daemon", "download", {"handle": 3}))
        handle = shot.response["result"]["handle"]
        add("delete", await s.call("The picture just taken", "delete", {"handle": handle}))
        add(
            "opreq",
            await s.call(
                "GetDevicePropValue (0x1015) of ExposureIndex (0x500F)",
                "opreq",
                {"code": "0x1015", "params": ["0x500f"]},
            ),
        )
        sub_ex = await s.call(
            "Property changes and camera events", "subscribe", {"topics": ["property", "event"]}
        )
        sub = s.client.subscription
        assert sub is not None
        other = Client(2, "unix", "other")
        await s.line(json.dumps(s.request("set", {"property": "whitebalance", "value": "daylight"})), other)
        sub_ex.notes += await s.notifications(sub, {"notify.property:whitebalance", "notify.event:0x4006"})
        await s.line(json.dumps(s.request("capture")), other)
        sub_ex.notes += await s.notifications(sub, {"notify.event:0x4002", "notify.event:0x400d"})
        sub_ex.text = "Then another client sets `whitebalance` and takes a picture; this connection receives:"
        add("subscribe", sub_ex)
        add("unsubscribe", await s.call("No more notifications on this connection", "unsubscribe"))
        add(
            "rpc.discover",
            dataclasses.replace(await s.call("This API as an OpenRPC document", "rpc.discover"), fold=True),
        )
        document = ex["rpc.discover"][0].response["result"]
        add("state", await s.call("On a generic camera", "state"))

    fuji = Session(norm, capture_dir)
    try:
        async with fuji.running("fuji"):
            add("state", await fuji.call("On a Fujifilm X-T1", "state"))
    except NotImplementedError:
        pass  # the Fuji simulator is not there yet: the generic example stands alone

    t = Session(norm, capture_dir, auth_token=TOKEN)
    async with t.running("generic"):
        await t.call("", "status")  # refused: shown under -32010
        add("auth", await t.call("With the daemon's auth_token", "auth", {"token": TOKEN}))
    return ex, document


async def error_examples(norm: Normaliser, capture_dir: Path) -> dict[int, Example]:
    """One real example of every error code."""
    out: dict[int, Example] = {}
    s = Session(norm, capture_dir)
    async with s.running("generic"):
        out[-32700] = Example("A line that is not JSON", '{"jsonrpc": "2.0", "method": "status"', None)
        out[-32700].response = await s.line(out[-32700].request)
        bad = {"jsonrpc": "1.0", "method": "status", "id": 1}
        out[-32600] = Example("Not JSON-RPC 2.0", bad, await s.line(json.dumps(bad)))
        out[-32601] = await s.call("A method that does not exist", "shoot")
        out[-32602] = await s.call("A missing parameter", "get", {})
        out[-32002] = await s.call("A handle the camera does not have", "download", {"handle": 999})
        out[-32003] = await s.call("Fuji's state list on a generic camera", "state")
        out[-32004] = await s.call("A name the camera does not have", "get", {"property": "zoom"})
        out[-32005] = await s.call(
            "A value the camera does not allow (nothing is sent to it)",
            "set",
            {"property": "iso", "value": "123"},
        )
        assert s.service is not None

        def broken() -> dict[str, Any]:
            raise RuntimeError("an example bug")

        status: Callable[[], dict[str, Any]] = s.service.status
        s.service.status = broken  # type: ignore[method-assign]
        out[-32603] = await s.call("A bug (here injected into `status`)", "status")
        s.service.status = status  # type: ignore[method-assign]

        def full(self: AtomicFile, data: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        write = AtomicFile.write
        AtomicFile.write = full  # type: ignore[method-assign,assignment]
        out[-32007] = await s.call(
            "A full disk (here injected into the daemon's file writes)", "download", {"handle": 3}
        )
        AtomicFile.write = write  # type: ignore[method-assign]

    d = Session(norm, capture_dir, options=ServiceOptions(keepalive_interval=3600, wait_connected=0))
    async with d.running(None):
        out[-32000] = await d.call("No camera at the configured address", "get", {"property": "iso"})

    t = Session(norm, capture_dir, timeouts=Timeouts(transaction=0.2))
    async with t.running("generic") as session:
        assert session.sim is not None
        session.sim.options = dataclasses.replace(session.sim.options, response_delay=1.0)
        out[-32001] = await t.call(
            "The camera takes longer than [daemon] timeout", "get", {"property": "iso"}
        )

    q = Session(norm, capture_dir, options=ServiceOptions(keepalive_interval=3600, max_queue=1))
    async with q.running("generic"):
        out[-32006] = await q.batch(
            "More requests than the queue holds (here a daemon with a queue of 1 and a batch of 2)",
            [q.request("get", {"property": "iso"}), q.request("get", {"property": "fnumber"})],
        )

    a = Session(norm, capture_dir, auth_token=TOKEN)
    async with a.running("generic"):
        a.client.transport, a.client.peer = "tcp", "192.0.2.7:50123"
        out[-32010] = await a.call("A non-loopback TCP client before `auth`", "status")
    missing = set(ERROR_TABLE) - set(out)
    assert not missing, f"no example for {sorted(missing)}"
    return out


# ------------------------------------------------------------------------------------------ markdown


def schema_type(schema: dict[str, Any]) -> str:
    """A short type name for a JSON schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "properties" in schema and "title" in schema:
        return f"[{schema['title']}](#{schema['title'].lower()})"
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " \\| ".join(json.dumps(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(schema_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return f"array of {schema_type(items)}" if items else "array"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "object"
    return str(kind or "any")


def block(value: Any) -> str:
    return "```json\n" + (value if isinstance(value, str) else dumps(value)) + "\n```"


def render_example(e: Example) -> list[str]:
    lines = [f"*{e.title}*" if e.title else "", "", block(e.request), ""]
    if e.fold:
        lines += ["<details><summary>Response</summary>", "", block(e.response), "", "</details>"]
    else:
        lines.append(block(e.response))
    if e.notes:
        lines += ["", e.text, "", "```json\n" + "\n".join(json.dumps(n) for n in e.notes) + "\n```"]
    return lines


def render(document: dict[str, Any], methods: dict[str, list[Example]], errors: dict[int, Example]) -> str:
    out: list[str] = []
    w = out.append
    info = document["info"]
    w(f"# {info['title']} JSON-RPC API {info['version']}")
    w("")
    w(
        "<!-- Generated by docs/gen_api.py from rpc.discover (`make docs`); do not edit. The examples are "
        "real: the daemon's dispatcher answered them, with the built-in simulated camera. -->"
    )
    w("")
    w(info["description"])
    w("")
    w(
        "- **Where:** the Unix socket `/run/ptpipd/ptpipd.sock` (mode 0660, group `ptpipd`; "
        "`/run/ptpipd/NAME.sock` for `ptpipd@NAME`) and TCP `127.0.0.1:15741`.\n"
        "- **Framing:** one JSON-RPC 2.0 request (or batch) per line, UTF-8, ending in `\\n`; one response "
        "line per request line, in order. A line over 1 MiB is answered with -32600 and the connection is "
        "closed.\n"
        "- **Params** by name (an object) or by position (an array, in the order listed).\n"
        "- **Properties** are unified names (`iso`, `exp-bias`, `whitebalance`, …; `info` lists the "
        'camera\'s) or codes (`"0x500f"`, `20495`). **Values** are labels (`"800"`, `"+1/3"`, '
        "case-insensitive), integers, or hex strings.\n"
        "- **Camera transactions** from all clients are serialised; requests in one batch run concurrently."
    )
    w("")
    w("```sh")
    w('echo \'{"jsonrpc": "2.0", "method": "get", "params": {"property": "iso"}, "id": 1}\' \\')
    w("  | socat - UNIX-CONNECT:/run/ptpipd/ptpipd.sock")
    w("```")
    w("")
    w("## Methods")
    w("")
    w("| method | summary |")
    w("|---|---|")
    for m in document["methods"]:
        w(f"| [`{m['name']}`](#{anchor(m['name'])}) | {m['summary']} |")
    for m in document["methods"]:
        name = m["name"]
        w("")
        w(f"### {name}")
        w("")
        w(m["summary"])
        w("")
        if m["params"]:
            w("| param | type | required | description |")
            w("|---|---|---|---|")
            for p in m["params"]:
                desc = p.get("description") or p["schema"].get("description", "")
                default = p["schema"].get("default")
                if default is not None and not p["required"]:
                    desc = (desc + f" Default `{json.dumps(default)}`.").strip()
                w(
                    f"| `{p['name']}` | {schema_type(p['schema'])} | {'yes' if p['required'] else 'no'} | {desc} |"
                )
        else:
            w("No params.")
        w("")
        w(f"**Result:** {schema_type(m['result']['schema'])}")
        w("")
        codes = ", ".join(f"[{e['code']}](#{e['code']})" for e in m["errors"])
        w(f"**Errors:** {codes}")
        for example in methods.get(name, []):
            w("")
            out.extend(render_example(example))
    w("")
    w("## Notifications")
    w("")
    w(
        "After `subscribe`, the connection also receives notifications (no `id`): `notify.event` "
        "`{code, name, params, time}`, `notify.property` `{property, code, value, label}` and "
        "`notify.connection` `{state, reason?}`, and with tethered ingest on (`[ingest] dir`) `notify.ingest` "
        "`{path, handle, size, sha256, filename, captured}` once a new picture is stored in its folder (topic "
        "`ingest`). A client that does not read them is disconnected with a "
        'last `notify.connection {"state": "dropped"}` line rather than slowing the camera down. '
        "See [`subscribe`](#subscribe) for real ones."
    )
    w("")
    w("## Errors")
    w("")
    w("| code | meaning |")
    w("|---|---|")
    for code, text in ERROR_TABLE.items():
        w(f"| [{code}](#{code}) | {text} |")
    for code in ERROR_TABLE:
        w("")
        w(f"### {code}")
        w("")
        w(ERROR_TABLE[code])
        w("")
        out.extend(render_example(errors[code]))
    w("")
    w("## Types")
    types: dict[str, Any] = {}
    for m in document["methods"]:
        result = m["result"]["schema"]
        if "properties" in result and "title" in result:
            types[result["title"]] = result
    types.update(document["components"]["schemas"])
    for name, schema in types.items():
        w("")
        w(f"### {name}")
        w("")
        if schema.get("description"):
            w(schema["description"])
            w("")
        props = schema.get("properties")
        if not props:
            w(f"{schema_type(schema)}")
            continue
        required = set(schema.get("required", []))
        w("| field | type | description |")
        w("|---|---|---|")
        for field, prop in props.items():
            optional = "" if field in required else " (optional)"
            w(f"| `{field}`{optional} | {schema_type(prop)} | {prop.get('description', '')} |")
    return "\n".join(out) + "\n"


def anchor(name: str) -> str:
    return name.replace(".", "").lower()


async def generate() -> str:
    """The whole of docs/api.md."""
    norm = Normaliser()
    with tempfile.TemporaryDirectory(prefix="ptpipd-docs-") as tmp:
        capture_dir = Path(tmp) / "captures"
        norm.paths[str(capture_dir)] = SHOWN_CAPTURE_DIR
        methods, document = await method_examples(norm, capture_dir)
        errors = await error_examples(norm, capture_dir)
    names = [m["name"] for m in document["methods"]]
    missing = [n for n in names if n not in methods]
    assert not missing, f"no example for {missing}"
    return render(document, methods, errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--output", type=Path, help="write the API document here")
    group.add_argument("--check", type=Path, help="compare with this file; exit 1 when it differs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the injected bug's traceback is expected
    text = asyncio.run(generate())
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current == text:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), text.splitlines(keepends=True), str(args.check), "generated"
    )
    sys.stdout.writelines(list(diff)[:200])
    print(f"\n{args.check} is stale: run `make docs`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
