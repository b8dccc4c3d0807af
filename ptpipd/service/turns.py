"""Whose turn it is with the camera: one request at a time, taken in turns by the clients.

A client's flood must cost only that client (issue 14): each client (the *owner* of a request) has its
own queue, owners take turns round-robin, and each owner's requests keep their arrival order. Admission is
bounded per owner (``per_owner``: a client that queues more is refused, the others are not) and in all
(``total``, far larger: a hundred well-behaved clients fit).

The owner of a request is :data:`REQUESTER` of the calling task's context: the JSON-RPC dispatcher sets it to
the client for the duration of a call (a batch's members, run as tasks, inherit it). Requests made by the
daemon itself (keepalive, polls, property refresh) and by callers that set nothing share the owner None.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextvars import ContextVar
from typing import Final

from ptpipd.errors import TooManyRequests

#: The client a request is made for (any hashable; None: the daemon itself).
REQUESTER: Final[ContextVar[object]] = ContextVar("ptpipd_requester", default=None)


class Turns:
    """A lock handed out in turns between owners, with bounded admission.

    ``admit(owner)`` / ``leave(owner)`` bracket a request's whole stay (waiting and running);
    ``acquire(owner)`` / ``release()`` its turn with the camera.
    """

    def __init__(self, per_owner: int, total: int) -> None:
        self.per_owner = per_owner
        self.total = total
        self.locked = False
        self.admitted = 0
        self._counts: dict[object, int] = {}
        # owners with waiting requests, in the order of their next turn (a dict: O(1) move to the back)
        self._waiting: dict[object, deque[asyncio.Future[None]]] = {}

    def admit(self, owner: object) -> None:
        """Counts a new request of ``owner``; :class:`TooManyRequests` when its queue (or all) is full."""
        mine = self._counts.get(owner, 0)
        if mine >= self.per_owner or self.admitted >= self.total:
            raise TooManyRequests(mine if mine >= self.per_owner else self.admitted)
        self._counts[owner] = mine + 1
        self.admitted += 1

    def leave(self, owner: object) -> None:
        """The request of ``owner`` is over (answered, failed or cancelled)."""
        self.admitted -= 1
        left = self._counts[owner] - 1
        if left:
            self._counts[owner] = left
        else:
            del self._counts[owner]

    async def acquire(self, owner: object) -> None:
        """Waits for ``owner``'s turn: after the request holding the camera, one request of every owner
        waiting before this one's next."""
        if not self.locked and not self._waiting:
            self.locked = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(owner, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn came with the cancellation: pass it on
            else:
                self._forget(owner, turn)
            raise

    def _forget(self, owner: object, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(owner)
        if queue is None:
            return
        try:
            queue.remove(turn)
        except ValueError:
            return
        if not queue:
            del self._waiting[owner]

    def release(self) -> None:
        """Ends the current turn: the next owner in rotation gets the camera (it then goes to the back)."""
        waiting = self._waiting
        while waiting:
            owner = next(iter(waiting))
            queue = waiting.pop(owner)
            turn = queue.popleft()
            if queue:
                waiting[owner] = queue
            if not turn.done():
                turn.set_result(None)
                return
        self.locked = False
