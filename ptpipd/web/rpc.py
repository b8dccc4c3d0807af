"""JSON-RPC over the data plane: a WebSocket at ``GET /rpc`` (one text message per request, batch, response
or notification, ``subscribe`` included) and ``POST /rpc`` (one request or batch per HTTP request). Both go
through the same dispatcher as NDJSON, so methods, params and errors are the same.

A WebSocket opened without credentials starts unauthenticated, like a TCP client off loopback: only ``auth``
and ``rpc.discover`` run until ``auth {token}`` succeeds. Messages are capped at the NDJSON line cap (a
longer one closes the WebSocket with 1009, unread); a binary message is answered -32600; a client that falls
behind with its notifications is dropped with a final ``notify.connection {state: "dropped"}`` (its queue is
bounded by the service).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from functools import partial

from aiohttp import WSMsgType, web

from ptpipd.errors import ErrorCode as codes
from ptpipd.rpc import Client, Dispatcher, error_response, notification_text, notifying
from ptpipd.rpc.dispatcher import MAX_MESSAGE
from ptpipd.service import SubscriberOverflow, Subscription
from ptpipd.web.auth import CREDENTIALS, peer_key, unauthorised
from ptpipd.web.backend import Backend

log = logging.getLogger(__name__)

#: Client ids of data-plane connections start high so they do not collide with the NDJSON clients' in logs.
_IDS = itertools.count(1_000_000)


async def post_rpc(request: web.Request, backend: Backend) -> web.Response:
    """``POST /rpc``: the body is one JSON-RPC request or batch; the answer its response (204 when none)."""
    if not request[CREDENTIALS]:
        raise unauthorised()
    # the body is read already, within http_timeout and the 1 MiB cap (ptpipd.web.limits); bytes, so that one
    # that is not UTF-8 is the dispatcher's -32700 as on NDJSON
    body = await request.read()
    client = Client(next(_IDS), "http", peer_key(request))
    async with notifying(client, backend.service, None):
        answer = await backend.dispatcher.respond(body, client)
    if answer is None:
        return web.Response(status=204)
    return web.Response(text=answer, content_type="application/json")


async def websocket(request: web.Request, backend: Backend, heartbeat: float) -> web.WebSocketResponse:
    """``GET /rpc``: JSON-RPC over a WebSocket until either side closes."""
    # aiohttp refuses a message of max_msg_size bytes or more; 1 MiB itself is allowed, as on NDJSON and POST
    limit = MAX_MESSAGE + 1
    ws = web.WebSocketResponse(max_msg_size=limit, heartbeat=heartbeat, compress=False)
    await ws.prepare(request)
    # without credentials only ``auth`` and ``rpc.discover`` run until ``auth`` succeeds
    client = Client(next(_IDS), "websocket", peer_key(request), authenticated=bool(request[CREDENTIALS]))
    try:
        async with notifying(client, backend.service, partial(_notify, ws)):
            await _serve(ws, backend.dispatcher, client)
    finally:
        await ws.close()
    return ws


async def _serve(ws: web.WebSocketResponse, dispatcher: Dispatcher, client: Client) -> None:
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            answer = await dispatcher.respond(message.data, client)
        elif message.type == WSMsgType.BINARY:
            answer = error_response(codes.INVALID_REQUEST, "Invalid request: send JSON-RPC as text messages")
        else:  # an error or a close: the iteration ends by itself
            continue
        if answer is not None:
            await ws.send_str(answer)
        if client.closing:
            await ws.close(code=1008, message=b"too many wrong tokens")
            return


async def _notify(ws: web.WebSocketResponse, sub: Subscription) -> None:
    """Sends the notifications of ``sub``, in order, until it overflows: then one final
    ``notify.connection {state: "dropped"}`` goes out and the client is disconnected."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        try:
            while True:
                note = await sub.next()
                await ws.send_str(notification_text(note.method, note.params))
        except SubscriberOverflow as exc:
            dropped = {"state": "dropped", "reason": str(exc)}
            await ws.send_str(notification_text("notify.connection", dropped))
        await ws.close(code=1013, message=b"notifications overflowed")
