"""The one owner of the camera session: state, serialised transactions, reconnects, keepalive, events.

Cameras accept a single initiator and pairing is slow, so the daemon keeps exactly one session open for as
long as it runs, and every client's request goes through :class:`CameraService` (:mod:`.core`): one at a
time, clients taking turns (:mod:`.turns`), at most ``max_queue`` waiting per client; when the camera
vanishes, stalls or sends garbage, the request in flight and those queued fail at once and the session loop (:mod:`.session`) reconnects with capped,
jittered backoff (:mod:`.state`). A keepalive notices a silent camera while nobody asks anything; a camera
that does not push its events is polled instead (its vendor's capabilities say which). Events fan out to
subscribers through bounded per-client queues (:mod:`.notify`): a slow subscriber is dropped, it never
holds up the camera.
"""

from ptpipd.service.core import CameraFactory, CameraService
from ptpipd.service.notify import TOPICS, Notification, SubscriberOverflow, Subscription
from ptpipd.service.state import TRANSITIONS, Backoff, ConnectionState, ServiceOptions
from ptpipd.service.turns import REQUESTER, Turns

__all__ = ["TOPICS", "TRANSITIONS", "Backoff", "CameraFactory", "CameraService", "ConnectionState"]
__all__ += ["REQUESTER", "Notification", "ServiceOptions", "SubscriberOverflow", "Subscription", "Turns"]
