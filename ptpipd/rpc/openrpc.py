"""``rpc.discover``: the API as an OpenRPC 1.2.6 document, generated from the methods table's models."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ptpipd import API_VERSION
from ptpipd.errors import ErrorCode as codes
from ptpipd.rpc.errors import ERROR_TABLE
from ptpipd.rpc.methods import Method

REF_TEMPLATE = "#/components/schemas/{model}"


#: The errors of the envelope itself, listed after the ones methods answer with.
_ENVELOPE_ERRORS = (codes.PARSE_ERROR, codes.INVALID_REQUEST, codes.METHOD_NOT_FOUND)


def openrpc_document(methods: list[Method]) -> dict[str, Any]:
    """The OpenRPC document for ``methods`` (schemas shared under ``components.schemas``)."""
    schemas: dict[str, Any] = {}

    def schema_of(tp: Any) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template=REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        return schema

    def error(code: int) -> dict[str, Any]:
        return {"code": code, "message": ERROR_TABLE[code]}

    out = []
    for method in methods:
        params_schema = schema_of(method.params)
        required = set(params_schema.get("required", []))
        params = [
            {"name": name, "required": name in required, "schema": prop}
            | ({"description": prop["description"]} if "description" in prop else {})
            for name, prop in params_schema.get("properties", {}).items()
        ]
        out.append(
            {
                "name": method.name,
                "summary": method.summary,
                "paramStructure": "either",
                "params": params,
                "result": {"name": f"{method.name}Result", "schema": schema_of(method.result)},
                "errors": [error(code) for code in (*method.errors, codes.INVALID_PARAMS)],
            }
        )
    order = [code for code in ERROR_TABLE if code not in _ENVELOPE_ERRORS] + list(_ENVELOPE_ERRORS)
    return {
        "openrpc": "1.2.6",
        "info": {
            "title": "ptpipd",
            "version": API_VERSION,
            "description": "Remote control of a camera over PTP/IP. One JSON-RPC 2.0 request or batch per line "
            "(NDJSON) on the Unix socket or TCP; notifications after `subscribe`.",
        },
        "methods": out,
        "components": {"schemas": schemas, "errors": {str(code): error(code) for code in order}},
    }
