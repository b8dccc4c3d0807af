"""The one owner of the camera session: state, serialised transactions, reconnects, keepalive, events.

Cameras accept a single initiator and pairing is slow, so the daemon keeps exactly one session open for as
long as it runs, and every client's request goes through :class:`CameraService`:

* **State** is one :class:`ConnectionState` with explicit transitions
  (disconnected → connecting → pairing → connected → disconnected …); every change is announced to
  listeners (systemd STATUS=, ``notify.connection``).
* **Serialisation**: requests from all clients run one at a time, in arrival order; at most
  ``max_queue`` may wait (more get :class:`~ptpipd.errors.TooManyRequests`).
* **Failure**: when the camera vanishes, stalls or sends garbage, the request in flight fails at once
  (-32000, or -32001 for a timeout), queued ones fail with -32000, and the service reconnects with capped
  exponential backoff and jitter. A keepalive notices a silent camera while nobody is asking anything; a
  camera that does not push its events is polled instead (its vendor's capabilities say which).
* **Events** fan out to subscribers through bounded per-client queues: a slow subscriber is dropped, it
  never holds up the camera.

Modules: :mod:`.state` (states, options, backoff), :mod:`.session` (the reconnect loop), :mod:`.notify`
(subscriptions and notifications), :mod:`.core` (:class:`CameraService` and its requests).
"""

from ptpipd.service.core import CameraFactory, CameraService
from ptpipd.service.notify import TOPICS, Notification, SubscriberOverflow, Subscription
from ptpipd.service.state import TRANSITIONS, Backoff, ConnectionState, ServiceOptions

__all__ = [
    "TOPICS",
    "TRANSITIONS",
    "Backoff",
    "CameraFactory",
    "CameraService",
    "ConnectionState",
    "Notification",
    "ServiceOptions",
    "SubscriberOverflow",
    "Subscription",
]
