"""Who may use the data plane: the rule of JSON-RPC over TCP, for HTTP.

* The Unix socket and loopback peers are let in (the sockets' modes and the loopback rule decide, as for
  JSON-RPC), unless ``http_require_token`` asks the token of loopback peers too (a reverse proxy on this
  machine, whose clients would all look local).
* A request let in without a token over TCP must name the daemon in its ``Host``: ``localhost`` (or a name
  under ``.localhost``), a loopback address, the address it reached, or this machine's host name; anything
  else is refused (403). Otherwise a foreign web page whose DNS name is re-pointed at 127.0.0.1 (DNS
  rebinding) would be the daemon's "own" origin to the browser, and could read pictures and drive the camera.
* With ``auth_token`` set, a peer off loopback shows the token in one of three ways:

  - ``Authorization: Bearer TOKEN`` (scripts, curl);
  - ``?token=TOKEN`` on the URL (an ``<img src>`` or a player that cannot send headers; the URL then holds
    the token, so the daemon never logs query strings);
  - the ``ptpipd_session_PORT`` cookie that ``POST /auth`` (form field or JSON ``token``) sets: HttpOnly,
    SameSite=Strict, valid until the token changes. Browsers keep cookies per host, not per port, so the
    name holds the daemon's port: two daemons on one machine keep their sessions apart. This is the browser's way: the page asks for the token
    once and it never sits in a URL, the history or a log.

  Without one, the answer is 401 with ``-32010``; ``/`` and ``/static/…`` (the page, no camera access) and
  ``POST /auth`` need none. A WebSocket at ``/rpc`` may also open without one and send JSON-RPC ``auth``
  first, exactly as on NDJSON TCP.
* A wrong token (header, query or ``POST /auth``) counts against the peer's address as a wrong JSON-RPC
  ``auth`` does: after three, the address is locked out for a time that doubles with each further one, the
  right token refused meanwhile (:mod:`ptpipd.rpc.auth`).
* Browsers let any web site send requests to loopback, so state-changing requests and WebSockets that carry
  an ``Origin`` are refused (403) unless it is the daemon's own origin (the ``Host`` they were sent to, which
  the ``Host`` rule above has checked when no token was shown).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from ptpipd.errors import ErrorCode as codes
from ptpipd.net import ip_address, is_loopback_host, is_loopback_peer
from ptpipd.rpc.auth import AuthGuard, AuthRefused, token_bytes
from ptpipd.web.errors import HttpError

COOKIE = "ptpipd_session"
#: Paths anyone may fetch: the page (it holds nothing) and the login.
OPEN_PATHS = ("/", "/auth", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CREDENTIALS = "ptpipd.credentials"
#: Why a token the request showed was refused (a wrong one, or its address locked out), for the 401.
REFUSAL = "ptpipd.refusal"


def session_value(token: str) -> str:
    """The cookie value for ``token``: derived from it (the cookie never holds the token itself)."""
    return hmac.new(token_bytes(token), b"ptpipd web session v1", hashlib.sha256).hexdigest()


def _local(request: web.Request) -> object:
    """The address the request's connection reached: ``(host, port, …)`` on TCP, a path on the Unix socket."""
    return request.transport.get_extra_info("sockname") if request.transport is not None else None


def cookie_name(request: web.Request) -> str:
    """The session cookie's name on the port the request reached: ``ptpipd_session_15780`` (a browser sends
    one host's cookies to every port of it, so each daemon needs its own name); ``ptpipd_session`` on the Unix
    socket."""
    local = _local(request)
    return f"{COOKIE}_{local[1]}" if isinstance(local, tuple) else COOKIE


def peer_key(request: web.Request) -> str:
    """The client's address: the key its wrong tokens count against (shared with JSON-RPC ``auth``) and its
    JSON-RPC client's peer; ``"unix"`` behind the Unix socket, which has none."""
    return request.remote or "unix"


class TokenRule:
    """Decides for each request, by the token of ``guard``; no token means nobody is ever asked."""

    def __init__(self, guard: AuthGuard, *, loopback_exempt: bool = True) -> None:
        #: the session cookie's value for the daemon's token (None: no token is set)
        self.session = session_value(guard.token) if guard.token is not None else None
        #: wrong tokens counted per peer address (:mod:`ptpipd.rpc.auth`), in the daemon's one record that
        #: JSON-RPC ``auth`` shares: after a few, the address is locked out for a time that doubles, right
        #: token or not, whichever way it tries
        self.guard = guard
        #: False: loopback TCP peers show the token too (``http_require_token``: a reverse proxy here)
        self.loopback_exempt = loopback_exempt

    def exempt(self, request: web.Request) -> bool:
        """True when the request needs no token (no token set, Unix socket, or loopback peer unless
        :attr:`loopback_exempt` is off)."""
        if self.session is None:
            return True
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not isinstance(peer, tuple):
            return True  # the Unix socket: its mode decides
        return self.loopback_exempt and is_loopback_peer(peer)

    def presented(self, request: web.Request) -> bool:
        """True when the request carries the token (session cookie, header or query). A token shown in the
        header or the query is checked by :attr:`guard`: a wrong one counts against the peer's address, and
        while it is locked out none is taken; why is kept in ``request[REFUSAL]``."""
        assert self.session is not None
        cookie = request.cookies.get(cookie_name(request))
        if cookie is not None and hmac.compare_digest(token_bytes(cookie), self.session.encode()):
            return True
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        given = value.strip() if scheme.lower() == "bearer" else request.query.get("token")
        if given is None:
            return False
        try:
            self.guard.check(given, peer_key(request), 0)
        except AuthRefused as exc:
            request[REFUSAL] = str(exc)
            return False
        return True


def same_origin(request: web.Request) -> bool:
    """True without an ``Origin`` header (not a browser) or when it names the host the request went to."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.host.lower()


def own_host(request: web.Request) -> bool:
    """True when the ``Host`` header names this daemon (or is absent: not a browser): ``localhost`` or a name
    under ``.localhost`` (browsers resolve those to loopback themselves), a loopback address, the address
    the connection reached, or this machine's host name. A DNS name an attacker controls is none of these."""
    host = request.headers.get("Host")
    if host is None:
        return True
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if not name:
        return False
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or is_loopback_host(name):
        return True
    local = _local(request)
    if isinstance(local, tuple) and _same_address(name, str(local[0])):
        return True
    return name == socket.gethostname().lower()


def _same_address(name: str, address: str) -> bool:
    given = ip_address(name)
    return given is not None and given == ip_address(address)


def foreign_host(request: web.Request, *, token: bool) -> HttpError:
    """403 for a request let in without a token whose ``Host`` does not name the daemon (``token``: the daemon
    has one, which the message then offers)."""
    shown = (request.headers.get("Host") or "")[:100]
    return HttpError(
        403,
        codes.UNAUTHORISED,
        f"Host {shown!r} is not a name of this daemon: use localhost or its address (a foreign name on "
        "this port is refused, as a DNS-rebinding web page would send)"
        + (", or send the token" if token else ""),
    )


def unauthorised(message: str = "unauthorised: this address needs the daemon's token") -> HttpError:
    """401 with -32010 and the header that says how to authenticate."""
    return HttpError(401, codes.UNAUTHORISED, message, None, {"WWW-Authenticate": 'Bearer realm="ptpipd"'})


def middleware(rule: TokenRule) -> Middleware:
    """The aiohttp middleware applying ``rule``; it also stores whether the request came with credentials."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        exempt = rule.exempt(request)
        # let in without a token, a request must name the daemon (a DNS-rebinding page names its own host);
        # one that shows the token may name any (a local proxy passing its public Host)
        foreign = exempt and isinstance(_local(request), tuple) and not own_host(request)
        if foreign and (rule.session is None or not rule.presented(request)):
            raise foreign_host(request, token=rule.session is not None)
        allowed = exempt or rule.presented(request)
        request[CREDENTIALS] = allowed
        path = request.path
        is_ws = path == "/rpc" and request.method == "GET"
        if (request.method not in ("GET", "HEAD") or is_ws) and not same_origin(request):
            raise HttpError(403, codes.UNAUTHORISED, "cross-site request refused (Origin is not this daemon)")
        if not (allowed or is_ws or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)):
            raise unauthorised(request[REFUSAL]) if REFUSAL in request else unauthorised()
        return await handler(request)

    return guard
