"""The one entry point to the methods: :meth:`Dispatcher.call` for structured callers, and
:meth:`Dispatcher.respond` for JSON-RPC 2.0 messages (a text line, a WebSocket message, a ``POST /rpc``
body, or a message some other layer has already parsed).

The JSON-RPC envelope is ours (about 150 lines, as in moonraker) rather than jsonrpcserver's, for four
reasons measured on this code base:

* **strict JSON**: Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e400`` and writes them back, which a
  strict parser (JavaScript's ``JSON.parse``) rejects; owning the parse refuses them (-32700) and owning the
  encoding guarantees no response ever contains one (``allow_nan=False``);
* **one validation**: the request is checked once, here, and the params once, by the method's pydantic
  model; jsonrpcserver checked the request again (jsonschema), inspected every handler's signature per
  call, and wanted results wrapped in its own ``Result`` type;
* **results are models**: handlers return the pydantic result models that ``rpc.discover`` documents, and
  the response is built from them (pydantic's JSON-mode dump, then one ``json.dumps`` of the envelope: the
  text keeps the ``", "``/``": "`` spacing and ASCII escapes responses always had, which line-oriented
  scripts such as contrib/timelapse.sh match on);
* **one dependency chain less** (jsonrpcserver → jsonschema, oslash), whose deprecation warnings the test
  suite had to filter.

Rules (JSON-RPC 2.0): a request without ``id`` is a notification and is never answered; a batch is answered
member by member (an invalid member gets its own -32600, the valid ones run concurrently, as jsonrpcserver
did, at most :data:`BATCH_CONCURRENCY` at a time); an empty batch, or a batch of notifications only, gets no
answer at all except the -32600 of the former. Every failure of a method becomes its JSON-RPC error
(:mod:`ptpipd.rpc.errors`); anything unexpected is a bug: -32603, logged with its traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ptpipd.errors import CameraError
from ptpipd.errors import ErrorCode as codes
from ptpipd.rpc.auth import AuthGuard
from ptpipd.rpc.errors import RpcError, invalid_params, json_safe, problem
from ptpipd.rpc.methods import Client, Method
from ptpipd.rpc.models import Params
from ptpipd.service.turns import REQUESTER

log = logging.getLogger(__name__)

_REQUEST_KEYS = frozenset({"jsonrpc", "method", "id", "params"})
#: Members of one batch running at once: below the service's queue per client (64), so no member is
#: refused for being in a large batch.
BATCH_CONCURRENCY = 32
#: DESIGN.md §4: the largest request or batch, 1 MiB (an NDJSON line, a WebSocket message or a ``POST /rpc``
#: body over it is refused; the transports read no more than this).
MAX_MESSAGE = 1 << 20


# ------------------------------------------------------------------------------------------ strict JSON


class NotStrictJson(ValueError):
    """A number JSON (RFC 8259) cannot carry: NaN, Infinity, or a float beyond the double range."""


def _no_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStrictJson(f"the number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def parse_json(text: str | bytes | bytearray) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no float out of range; ``ValueError`` otherwise."""
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 (byte {exc.start})") from None
    return _DECODER.decode(text)


def _dumps(body: dict[str, Any]) -> str:
    """The envelope's text: strict JSON, in the spacing of Python's (and jsonrpcserver's) ``json.dumps``."""
    try:
        return json.dumps(body, allow_nan=False)
    except (ValueError, TypeError):  # data a client sent us that strict JSON cannot carry
        if "error" in body:
            body["error"] = {**body["error"], "data": json_safe(body["error"].get("data"))}
        if "params" in body:
            body["params"] = json_safe(body["params"])
        return json.dumps(body, allow_nan=False, default=repr)


def error_response(code: int, message: str, request_id: object = None, *, data: object = None) -> str:
    """A JSON-RPC error response line (without newline), also for errors found before any request."""
    return _error_text(RpcError(code, message, data), request_id)


def _error_text(error: RpcError, request_id: object) -> str:
    return _dumps({"jsonrpc": "2.0", "error": error.to_dict(), "id": request_id})


def notification_text(method: str, params: object) -> str:
    """A notification line (without newline): ``{"jsonrpc": "2.0", "method": …, "params": …}``."""
    return _dumps({"jsonrpc": "2.0", "method": method, "params": params})


def check_request(request: object) -> dict[str, Any]:
    """``request`` when it is a JSON-RPC 2.0 request object; ``ValueError`` saying why it is not."""
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
        raise ValueError('"jsonrpc": "2.0" and a string "method" are required')
    if not request.keys() <= _REQUEST_KEYS:
        raise ValueError(f"unknown members {sorted(request.keys() - _REQUEST_KEYS)}")
    if "id" in request:
        rid = request["id"]
        if isinstance(rid, bool) or not (rid is None or isinstance(rid, str | int | float)):
            raise ValueError("id must be a string, a number or null")
        if isinstance(rid, float) and not math.isfinite(rid):
            raise ValueError("id must be a finite number")
    if "params" in request and not isinstance(request["params"], list | dict):
        raise ValueError("params must be an array or an object")
    return request


# ------------------------------------------------------------------------------------------ dispatcher


def _internal(method: str, exc: Exception) -> RpcError:
    """-32603 for a bug, logged with its traceback; ``data`` says what happened even when the exception is
    silent (an empty ``TimeoutError``)."""
    log.exception("%s failed", method)
    return RpcError(codes.INTERNAL_ERROR, "Internal error", str(exc) or type(exc).__name__)


class Dispatcher:
    """Runs the methods table for clients.

    * :meth:`call` — ``(method, params, client) -> result | RpcError``: params as an object, an array or
      the method's params model; the result is the handler's (a pydantic result model, a list of them,
      ``bool``, or the discovery document). It never raises for a failure of the method.
    * :meth:`respond` — one JSON-RPC message (text or already parsed) → the response text, or None when
      nothing is due (a notification).
    """

    def __init__(self, methods: Iterable[Method], guard: AuthGuard | None = None) -> None:
        self.table: dict[str, Method] = {method.name: method for method in methods}
        #: the record of wrong ``auth`` tokens per address, which the data plane's token checks share
        self.guard = guard if guard is not None else AuthGuard(None)
        self._fields = {name: tuple(method.params.model_fields) for name, method in self.table.items()}
        self._results: dict[str, TypeAdapter[Any]] = {
            name: TypeAdapter(method.result) for name, method in self.table.items()
        }

    async def call(self, method: str, params: object, client: Client) -> Any:
        """The result of ``method``, or the :class:`RpcError` it failed with."""
        entry = self.table.get(method)
        if entry is None:
            return RpcError(codes.METHOD_NOT_FOUND, "Method not found", method)
        if entry.needs_auth and not client.authenticated:
            return RpcError(codes.UNAUTHORISED, "unauthorised: call auth {token} first")
        token = REQUESTER.set(client)  # the service queues this client's camera requests on their own
        try:
            args = self._params(entry, params)
            return await entry.handler(client, args)
        except RpcError as exc:
            return exc
        except CameraError as exc:  # its JSON-RPC error
            return RpcError(exc.rpc_code, str(exc), exc.data())
        except Exception as exc:  # params were checked above: anything else (a ValueError too) is a bug
            return _internal(method, exc)
        finally:
            REQUESTER.reset(token)

    def _params(self, entry: Method, params: object) -> Params:
        if isinstance(params, entry.params):
            return params
        if params is None:
            params = {}
        elif isinstance(params, list):
            fields = self._fields[entry.name]
            if len(params) > len(fields):
                raise problem(
                    "too_many_arguments",
                    f"{entry.name} takes at most {len(fields)} positional params: {list(fields)}",
                )
            params = dict(zip(fields, params, strict=False))
        try:
            return entry.params.model_validate(params)
        except ValidationError as exc:
            raise invalid_params(exc) from None

    async def respond(self, message: str | bytes | bytearray | object, client: Client) -> str | None:
        """The response to one JSON-RPC message: text (``str`` or UTF-8 ``bytes``) to parse, or a request
        object or batch already parsed. None when no answer is due."""
        if isinstance(message, str | bytes | bytearray):
            try:
                message = parse_json(message)
            except (ValueError, RecursionError) as exc:
                return error_response(codes.PARSE_ERROR, "Parse error", data=str(exc))
        if not isinstance(message, list):
            return await self._one(message, client)
        if not message:
            return error_response(codes.INVALID_REQUEST, "Invalid request", data="an empty batch")
        answers = await self._batch(message, client)
        given = [answer for answer in answers if answer is not None]
        return f"[{', '.join(given)}]" if given else None

    async def _batch(self, members: list[Any], client: Client) -> list[str | None]:
        """The answers to a batch's members, in order. They run concurrently, but at most
        :data:`BATCH_CONCURRENCY` at a time: a batch of 10,000 calls is that client's queue, worked through
        (its members wait their turn rather than being refused), and it never floods the event loop with
        10,000 tasks ahead of other clients' requests."""
        answers: list[str | None] = [None] * len(members)
        todo = iter(enumerate(members))

        async def worker() -> None:
            for i, member in todo:
                answers[i] = await self._one(member, client)

        if len(members) == 1:
            await worker()
        else:
            await asyncio.gather(*(worker() for _ in range(min(len(members), BATCH_CONCURRENCY))))
        return answers

    async def _one(self, request: object, client: Client) -> str | None:
        try:
            checked = check_request(request)
        except ValueError as exc:
            return error_response(codes.INVALID_REQUEST, "Invalid request", data=str(exc))
        name = checked["method"]
        result = await self.call(name, checked.get("params"), client)
        if "id" not in checked:
            return None
        rid = checked["id"]
        if isinstance(result, RpcError):
            return _error_text(result, rid)
        return self._success(name, result, rid)

    def _success(self, name: str, result: Any, request_id: object) -> str:
        try:
            body = self._results[name].dump_python(result, mode="json")
            return json.dumps({"jsonrpc": "2.0", "result": body, "id": request_id}, allow_nan=False)
        except Exception as exc:  # a handler returned something its declared result type cannot hold
            return _error_text(_internal(name, exc), request_id)
