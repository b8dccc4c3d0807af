"""Dispatching JSON-RPC request lines with jsonrpcserver's ``async_dispatch`` and the explicit methods table.

Each table entry becomes an async function that checks authentication, validates the params with the
method's pydantic model (positional arrays map onto the model's fields in order), runs the handler, and
turns every known exception into its JSON-RPC error; anything else is a bug (-32603, logged with its
traceback). The request itself is checked against the JSON-RPC 2.0 request schema by a plain function
equivalent to jsonrpcserver's jsonschema one, because this runs for every request and must be cheap.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from jsonrpcserver import Error, Result, Success, async_dispatch
from pydantic import ValidationError

from ptpipd.errors import CameraError
from ptpipd.rpc import errors as codes
from ptpipd.rpc.errors import RpcError, camera_error, invalid_params, rpc_error
from ptpipd.rpc.methods import Client, Method

log = logging.getLogger(__name__)

_REQUEST_KEYS = frozenset({"jsonrpc", "method", "id", "params"})


def _check_one(request: object) -> None:
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
    if "params" in request and not isinstance(request["params"], list | dict):
        raise ValueError("params must be an array or an object")


def validate_request(request: object) -> object:
    """Raises unless ``request`` is a JSON-RPC 2.0 request or a non-empty batch (the schema's rules)."""
    if isinstance(request, list):
        if not request:
            raise ValueError("an empty batch")
        for item in request:
            _check_one(item)
    else:
        _check_one(request)
    return request


class Dispatcher:
    """Answers request lines for a client."""

    def __init__(self, methods: list[Method]) -> None:
        self.table = {method.name: method for method in methods}
        self.methods: dict[str, Callable[..., Coroutine[Any, Any, Result]]] = {
            method.name: self._wrap(method) for method in methods
        }

    @staticmethod
    def _wrap(method: Method) -> Callable[..., Coroutine[Any, Any, Result]]:
        fields = list(method.params.model_fields)

        async def call(client: Client, /, *args: Any, **kwargs: Any) -> Result:
            if method.needs_auth and not client.authenticated:
                return Error(codes.UNAUTHORISED, "unauthorised: call auth {token} first")
            try:
                if args:
                    if len(args) > len(fields):
                        return Error(
                            codes.INVALID_PARAMS,
                            "Invalid params",
                            [
                                {
                                    "type": "too_many_arguments",
                                    "loc": [],
                                    "msg": f"{method.name} takes at most {len(fields)} positional params: {fields}",
                                }
                            ],
                        )
                    kwargs = dict(zip(fields, args, strict=False))
                params = method.params.model_validate(kwargs)
            except ValidationError as exc:
                return invalid_params(exc)
            try:
                return Success(await method.handler(client, params))
            except CameraError as exc:
                return camera_error(exc)
            except RpcError as exc:
                return rpc_error(exc)
            except ValueError as exc:  # e.g. unknown subscription topics
                return Error(
                    codes.INVALID_PARAMS,
                    "Invalid params",
                    [{"type": "value_error", "loc": [], "msg": str(exc)}],
                )

        call.__name__ = method.name.replace(".", "_")
        # async_dispatch checks every call with inspect.signature(); a precomputed one makes that cheap.
        call.__signature__ = inspect.signature(call)  # type: ignore[attr-defined]
        return call

    async def dispatch(self, request: str, client: Client) -> str:
        """The response line for one request line (without the newline); ``""`` when nothing is due.

        The line is parsed once; jsonrpcserver's ``async_dispatch`` then runs the request (or batch) against
        the methods table. A batch with invalid members is answered member by member (JSON-RPC 2.0 §6):
        each invalid one gets its own -32600 and the valid ones run as usual.
        """
        try:
            parsed = json.loads(request)
        except (ValueError, RecursionError) as exc:
            return error_response(codes.PARSE_ERROR, "Parse error", data=str(exc))
        if isinstance(parsed, dict):
            try:
                _check_one(parsed)
            except ValueError as exc:
                return error_response(codes.INVALID_REQUEST, "Invalid request", data=str(exc))
            return await self._dispatch(parsed, client)
        if not isinstance(parsed, list) or not parsed:
            what = "an empty batch" if isinstance(parsed, list) else "a request is a JSON object or an array"
            return error_response(codes.INVALID_REQUEST, "Invalid request", data=what)
        valid: list[dict[str, Any]] = []
        invalid: list[dict[str, Any]] = []
        for item in parsed:
            try:
                _check_one(item)
            except ValueError as exc:
                invalid.append(_error(codes.INVALID_REQUEST, "Invalid request", str(exc)))
            else:
                valid.append(item)
        if not invalid:
            return await self._dispatch(parsed, client)
        answered = json.loads(await self._dispatch(valid, client) or "[]") if valid else []
        responses = [*answered, *invalid]
        return json.dumps(responses) if responses else ""

    async def _dispatch(self, parsed: object, client: Client) -> str:
        # The request is already parsed and checked: hand it over as it is.
        return await async_dispatch(
            "", methods=self.methods, context=client, validator=_valid, deserializer=lambda _: parsed
        )


def _valid(request: object) -> object:
    return request


def _error(code: int, message: str, data: object = None) -> dict[str, Any]:
    error: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": None}


def error_response(code: int, message: str, request_id: object = None, *, data: object = None) -> str:
    """A JSON-RPC error response line built without a request (e.g. for an over-long line)."""
    return json.dumps(_error(code, message, data) | {"id": request_id})
