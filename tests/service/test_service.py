"""CameraService in-process, against fake cameras: backoff, the queue cap, keepalive failure, subscribers
that fall behind, requests failed when the link drops, polled events and live view, the ordered end.

Everything waits on the service's own signals (state changes, notifications, futures), never on time;
timings are shrunk through ServiceOptions so the whole file runs in well under a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
from collections.abc import Callable

import pytest

from ptpipd.errors import CameraTimeout, NotConnected, TooManyRequests
from ptpipd.ip.errors import TransactionTimeout
from ptpipd.ip.packets import Event
from ptpipd.ptp import EventCode
from ptpipd.service import Backoff, CameraService, ConnectionState, SubscriberOverflow
from ptpipd.service.outages import Outages
from ptpipd.vendors.base import Capabilities, DeviceSummary, EventDelivery
from ptpipd.vendors.liveview import LiveFrame, LiveView, PolledLiveView
from tests.service.fake import WAIT, FakeCamera, States, World, hold_camera, make_service

CONNECTED = ConnectionState.CONNECTED
DISCONNECTED = ConnectionState.DISCONNECTED


async def within(aw: asyncio.Future[object] | asyncio.Task[object] | object, timeout: float = WAIT) -> object:
    return await asyncio.wait_for(aw, timeout)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool]) -> None:
    """Lets the loop run until ``predicate`` holds (bounded by the caller's ``within``), for service state
    that has no signal of its own, such as how many requests wait for the camera."""
    while not predicate():  # noqa: ASYNC110 - nothing to wait on but the loop's own progress
        await asyncio.sleep(0)


# ------------------------------------------------------------------------------------------------ backoff


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 10.0, random.Random(1))
    delays = [backoff.next() for _ in range(12)]
    ceilings = [min(10.0, 0.5 * 2**n) for n in range(12)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert max(delays) <= 10.0
    factors = [d / c for d, c in zip(delays, ceilings, strict=True)]
    assert statistics.pstdev(factors) > 0.05  # jittered, not a fixed fraction
    backoff.reset()
    assert 0.25 <= backoff.next() <= 0.5


async def test_failed_attempts_back_off_then_connect() -> None:
    world = World(refuse=3)
    service = make_service(world, stable_after=0.3)
    states = States(service)
    delays: list[float] = []
    draw = service.session.backoff.next
    service.session.backoff.next = lambda: delays.append(draw()) or delays[-1]  # type: ignore[method-assign]
    async with service:
        await states.wait_for(CONNECTED)
        assert world.attempts == 4
        assert [s for s, _ in states.seen] == [ConnectionState.CONNECTING, DISCONNECTED] * 3 + [
            ConnectionState.CONNECTING,
            CONNECTED,
        ]
        assert states.seen[1][1] == "attempt 1 refused"
        assert len(delays) == 3 and all(0.0005 <= d <= 0.002 for d in delays), delays
        assert service.session.backoff.attempt == 3  # a connection alone does not start the backoff over…
        await within(until(lambda: service.session.backoff.attempt == 0))  # …a link that stayed up does
        assert service.session.stable
        status = service.status()
        assert status["state"] == "connected" and status["reconnects"] == 0
        assert status["last_error"] == "attempt 3 refused"


def counting_delays(service: CameraService) -> list[float]:
    """The backoff's delays, as the session draws them."""
    delays: list[float] = []
    draw = service.session.backoff.next
    service.session.backoff.next = lambda: delays.append(draw()) or delays[-1]  # type: ignore[method-assign]
    return delays


async def test_a_link_that_does_not_stay_up_counts_as_a_failed_attempt() -> None:
    """Review w/rev-daemon: a camera that drops each session right after opening it was reconnected at once,
    in a tight loop. A link lost before ``stable_after`` is retried after the backoff's wait, which grows."""
    world = World()
    service = make_service(world, stable_after=60.0)
    states = States(service)
    delays = counting_delays(service)
    async with service:
        for cycle in range(1, 4):
            await states.wait_for(CONNECTED, cycle)
            world.camera.drop("the camera went to sleep")
            await states.wait_for(DISCONNECTED, cycle)
        await states.wait_for(CONNECTED, 4)
        assert len(delays) == 3 and service.session.backoff.attempt == 3, delays
        assert delays[2] > 0.001  # the third wait comes from the doubled delay (0.001 × 2² capped at 0.002)
        assert service.status()["reconnects"] == 3


async def test_the_loss_of_a_link_that_stayed_up_is_reconnected_at_once() -> None:
    world = World(refuse=2)
    service = make_service(world, stable_after=0.05)
    states = States(service)
    delays = counting_delays(service)
    async with service:
        await states.wait_for(CONNECTED)
        assert len(delays) == 2
        await within(until(lambda: service.session.stable))
        world.camera.drop("the cable was pulled")
        await states.wait_for(CONNECTED, 2)
        assert len(delays) == 2 and service.session.backoff.attempt == 0  # no wait, and none counted


async def test_a_camera_left_off_logs_its_failure_once(caplog: pytest.LogCaptureFixture) -> None:
    """Review w/rev-daemon: every failed attempt logged a WARNING and two INFO lines, for as long as the
    camera stayed away. The first failure and a changed reason are WARNINGs, the repeats DEBUG, and the
    recovery INFO."""
    world = World(refuse=6)
    service = make_service(world, stable_after=0.05)
    states = States(service)
    reasons = iter(["connection refused"] * 3 + ["no route to host"] * 3)
    open_ = FakeCamera.open

    async def refused(camera: FakeCamera) -> DeviceSummary:
        if camera.world.refuse > 0:
            camera.world.refuse -= 1
            raise NotConnected(next(reasons))
        return await open_(camera)

    caplog.set_level(logging.DEBUG, "ptpipd.service")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeCamera, "open", refused)
        async with service:
            await states.wait_for(CONNECTED)
            await within(until(lambda: service.session.stable))
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "ptpipd.service"]
    loud = [line for line in lines if line[0] >= logging.INFO]
    assert loud == [
        (logging.INFO, "camera connecting"),
        (logging.WARNING, "camera disconnected: connection refused"),
        (logging.WARNING, "camera disconnected: no route to host"),
        (logging.INFO, "camera connected to Fake Camera (serial 1) at fake"),
        (logging.INFO, "camera disconnected: daemon stopping"),
    ], lines
    assert len([line for line in lines if line[1].startswith("reconnecting in")]) == 6


def test_an_outage_is_logged_at_its_start_when_it_changes_and_as_a_reminder() -> None:
    now = [0.0]
    outages = Outages(reminder=600.0, clock=lambda: now[0])
    failed = ConnectionState.DISCONNECTED

    def step(state: ConnectionState, reason: str | None = None, after: float = 1.0) -> tuple[int, str]:
        now[0] += after
        return outages.level(state, reason)

    assert step(ConnectionState.CONNECTING) == (logging.INFO, "")
    assert step(failed, "refused") == (logging.WARNING, "")
    assert [step(s, r) for s, r in [(ConnectionState.CONNECTING, None), (failed, "refused")]] == [
        (logging.DEBUG, ""),
        (logging.DEBUG, ""),
    ]
    assert step(failed, "refused", after=600.0) == (logging.WARNING, " (still, after 3 failures in 10 min)")
    assert step(failed, "refused") == (logging.DEBUG, "")
    # back, dropped at once, back again: the first connection after a WARNING is INFO, the next one DEBUG
    assert step(ConnectionState.CONNECTED) == (logging.INFO, "")
    assert step(failed, "closed by the camera") == (logging.WARNING, "")
    assert step(ConnectionState.CONNECTED) == (logging.INFO, "")
    assert step(failed, "closed by the camera") == (logging.DEBUG, "")
    assert step(ConnectionState.CONNECTED) == (logging.DEBUG, "")
    # that link stays up: the recovery logged quietly is said at INFO, and the outage is over
    now[0] += 10.0
    assert outages.stable() == "camera connection stable again after 6 failures in 618 s"
    assert outages.routine == logging.INFO and outages.stable() is None
    assert step(failed, "closed by the camera") == (logging.WARNING, "")


# ------------------------------------------------------------------------------------------------ queue


async def test_queue_cap_refuses_with_the_queue_length() -> None:
    world = World()
    async with make_service(world, max_queue=3) as service:
        await States(service).wait_for(CONNECTED)
        world.gate.clear()
        waiting = [asyncio.create_task(service.get("iso")) for _ in range(3)]
        await within(world.started.wait())  # one in flight, two queued behind it
        with pytest.raises(TooManyRequests) as refused:
            await service.get("iso")
        assert refused.value.data() == {"queued": 3}
        world.gate.set()
        results = await within(asyncio.gather(*waiting))
        assert [r.value for r in results] == [400] * 3  # type: ignore[attr-defined]
        assert (await service.get("iso")).value == 400  # room again


# ------------------------------------------------------------------------------------------------ keepalive


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("fail", "keepalive failed: the camera did not answer the probe"),
        ("hang", "keepalive failed: no answer within 0.05 s"),
    ],
)
async def test_keepalive_failure_reconnects(mode: str, reason: str) -> None:
    world = World()
    service = make_service(world, keepalive_interval=0.01, keepalive_timeout=0.05)
    states = States(service)
    async with service:
        await states.wait_for(CONNECTED)
        first = world.camera
        world.keepalive = mode
        assert await states.wait_for(DISCONNECTED) == reason
        world.keepalive = "ok"
        await states.wait_for(CONNECTED, 2)
        assert first.closed and world.camera is not first
        status = service.status()
        assert status["reconnects"] == 1 and status["last_error"] == reason


async def test_a_camera_that_stops_answering_while_a_request_holds_it_is_noticed() -> None:
    """Issue 14 defect 2: a request holds the camera (a capture waiting for its events) and the camera stops
    answering. A probe beside the request notices: the request fails as a timeout, the queued one as not
    connected, long before either's own timeout, and the service reconnects."""
    world = World()
    service = make_service(world, keepalive_interval=0.01, keepalive_timeout=0.05)
    states = States(service)
    async with service:
        await states.wait_for(CONNECTED)
        in_flight = await hold_camera(world, service)
        queued = asyncio.create_task(service.get("iso"))
        world.keepalive = "hang"
        with pytest.raises(CameraTimeout, match=r"keepalive failed: no answer within 0\.05 s"):
            await within(in_flight, 1.0)
        with pytest.raises(NotConnected, match="camera connection lost: keepalive failed"):
            await within(queued, 1.0)
        assert await states.wait_for(DISCONNECTED) == "keepalive failed: no answer within 0.05 s"
        world.keepalive = "ok"
        world.gate.set()
        await states.wait_for(CONNECTED, 2)


# ------------------------------------------------------------------------------------------------ subscribers


async def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_are_not() -> None:
    world = World()
    async with make_service(world, subscriber_queue=2) as service:
        await States(service).wait_for(CONNECTED)
        slow = service.subscribe(["event"])
        fast = service.subscribe(["event"])
        fast.limit = 100
        for n in range(3):
            world.camera.emit(0x4002, n)
        with pytest.raises(SubscriberOverflow, match="more than 2 notifications"):
            await within(slow.next())
        assert slow not in service.fanout.subscriptions
        got = [await within(fast.next()) for _ in range(3)]
        assert [n.params["params"] for n in got] == [[0], [1], [2]]  # type: ignore[union-attr]
        assert {n.method for n in got} == {"notify.event"}  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ link loss


async def test_requests_in_flight_and_queued_fail_at_once_when_the_link_drops() -> None:
    world = World()
    service = make_service(world)
    states = States(service)
    async with service:
        await states.wait_for(CONNECTED)
        # the camera never answers: only the link loss can end these
        in_flight = await hold_camera(world, service)
        queued = [asyncio.create_task(service.get("iso")) for _ in range(2)]
        await within(
            until(lambda: service.requests.queued == 3)
        )  # the one in flight, and both waiting for it
        world.camera.drop("the cable was pulled")
        with pytest.raises(NotConnected, match="camera connection lost: the cable was pulled"):
            await within(in_flight, 1.0)
        for task in queued:
            with pytest.raises(NotConnected):
                await within(task, 1.0)
        assert await states.wait_for(DISCONNECTED) == "the cable was pulled"
        world.gate.set()
        await states.wait_for(CONNECTED, 2)
        assert (await service.get("iso")).value == 400
        assert service.status()["reconnects"] == 1


async def test_a_link_lost_to_a_timeout_fails_the_request_as_a_timeout() -> None:
    world = World()
    async with make_service(world) as service:
        await States(service).wait_for(CONNECTED)
        in_flight = await hold_camera(world, service)
        world.camera.drop(TransactionTimeout("operation 0x1015", 0.2, opcode=0x1015))
        with pytest.raises(CameraTimeout, match=r"did not answer: operation 0x1015: no answer within 0\.2 s"):
            await within(in_flight, 1.0)
        world.gate.set()


async def test_cancelling_a_request_is_not_mistaken_for_a_link_loss() -> None:
    world = World()
    async with make_service(world) as service:
        await States(service).wait_for(CONNECTED)
        task = await hold_camera(world, service)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        world.gate.set()
        assert (await service.get("iso")).value == 400
        assert service.state is CONNECTED


# ------------------------------------------------------------------------------------------------ polling


async def test_polled_events_reach_subscribers_through_the_queue() -> None:
    world = World(capabilities=Capabilities(events=EventDelivery.POLL, poll_interval=0.001))
    async with make_service(world) as service:
        assert service.status()["capabilities"]["events"] == "channel"  # the generic vendor's declaration
        await States(service).wait_for(CONNECTED)
        assert service.status()["capabilities"]["events"] == "poll"  # what this body does
        events = service.subscribe(["event"])
        values = service.subscribe(["property"])
        world.iso = 800
        world.to_poll.append(Event(EventCode.DevicePropChanged, 0, (0x500F,)))
        note = await within(events.next())
        assert note.params["code"] == "0x4006" and note.params["params"] == [0x500F]  # type: ignore[union-attr]
        value = await within(values.next())
        assert value.params["value"] == 800  # type: ignore[union-attr]
        # polls are queued requests: the next one waits for the request that holds the camera
        del world.calls[:]
        busy = await hold_camera(world, service)
        await within(until(lambda: service.requests.queued == 2))  # the get, and a poll queued behind it
        assert world.calls == ["get iso"]
        world.gate.set()
        await within(busy)
        await within(until(lambda: "poll" in world.calls))
        assert world.calls[:2] == ["get iso", "poll"]
        assert "keepalive" not in world.calls  # a polled camera needs no keepalive


# ------------------------------------------------------------------------------------------------ live view


async def test_polled_live_view_frames_are_queued_requests() -> None:
    world = World()
    async with make_service(world) as service:
        await States(service).wait_for(CONNECTED)
        held: list[bool] = []
        stopped = asyncio.Event()

        async def fetch() -> bytes:
            held.append(service.requests.busy)
            return b"\xff\xd8frame\xff\xd9"

        async def stop() -> None:
            held.append(service.requests.busy)
            stopped.set()

        world.liveview = lambda: PolledLiveView(fetch, stop)
        frames = service.live_frames()
        got = [await within(anext(frames)) for _ in range(3)]
        await frames.aclose()  # type: ignore[attr-defined]
        assert [f.sequence for f in got] == [1, 2, 3]  # type: ignore[union-attr]
        assert stopped.is_set()
        assert held == [True] * 4  # every fetch and the stop ran holding the camera


class StreamView(LiveView):
    polled = False

    def __init__(self, busy: list[bool], service_busy: object) -> None:
        self.busy, self.service_busy, self.count = busy, service_busy, 0

    async def next_frame(self) -> LiveFrame:
        self.busy.append(self.service_busy())  # type: ignore[operator]
        self.count += 1
        return LiveFrame(self.count, self.count, 0.0, b"\xff\xd8\xff\xd9")

    async def close(self) -> None:
        pass


async def test_streamed_live_view_frames_need_no_lock() -> None:
    world = World()
    async with make_service(world) as service:
        await States(service).wait_for(CONNECTED)
        busy: list[bool] = []
        world.liveview = lambda: StreamView(busy, lambda: service.requests.busy)
        blocked = await hold_camera(world, service)  # holds the camera the whole time
        frames = service.live_frames()
        opening = asyncio.create_task(anext(frames))  # type: ignore[arg-type]
        await within(until(lambda: service.requests.queued == 2))  # opening waits behind the held request
        world.gate.set()  # opening the view is a request: it waits for the get
        await within(blocked)
        first = await within(opening)
        blocked = await hold_camera(world, service)
        second = await within(anext(frames))  # while the get holds the camera
        assert (first.counter, second.counter) == (1, 2)  # type: ignore[union-attr]
        assert busy[-1] is True
        world.gate.set()
        await within(blocked)
        await frames.aclose()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ lifecycle


async def test_leaving_lets_the_request_in_flight_finish_then_closes_the_camera() -> None:
    world = World()
    service = make_service(world)
    states = States(service)
    async with service:
        await states.wait_for(CONNECTED)
        in_flight = await hold_camera(world, service)
        draining = asyncio.create_task(service.drain())
        await within(service.session.stopped.wait())  # the drain has begun: the session loop was told to stop
        with pytest.raises(NotConnected, match="stopping"):
            await service.get("iso")  # nothing new once the end has begun
        assert not world.camera.closed
        world.gate.set()
        assert (await within(in_flight)).value == 400  # type: ignore[attr-defined]
        await within(draining)
        assert world.camera.closed
        assert states.seen[-1] == (DISCONNECTED, "daemon stopping")
    assert world.attempts == 1  # no reconnection after the end


async def test_a_request_still_running_after_the_grace_fails_as_the_daemon_stopping() -> None:
    world = World()
    service = make_service(world, shutdown_grace=0.05)
    async with service:
        await States(service).wait_for(CONNECTED)
        in_flight = await hold_camera(world, service)  # the camera never answers it
        draining = asyncio.create_task(service.drain())
        with pytest.raises(NotConnected, match=r"^the daemon is stopping$"):
            await within(in_flight)
        await within(draining)
        assert world.camera.closed


async def test_leaving_while_the_camera_is_away_ends_at_once() -> None:
    world = World(refuse=10**6)
    service = make_service(world, backoff_initial=30.0, backoff_max=30.0)
    states = States(service)
    async with asyncio.timeout(WAIT):
        async with service:
            await states.wait_for(DISCONNECTED)
    assert service.state is DISCONNECTED


async def test_pairing_steps_in_status() -> None:
    world = World(pairing=asyncio.Event())
    service = make_service(world, vendor="fuji")
    states = States(service)
    async with service:
        reason = await states.wait_for(ConnectionState.PAIRING)
        status = service.status()
        assert status["state"] == "pairing"
        assert status["pairing"] == ["press OK on the camera to let 'pytest' connect (first connection only)"]
        assert reason == status["pairing"][0]
        assert status["capabilities"]["liveview"] == "stream" and status["capabilities"]["state_list"]
        world.pairing.set()  # type: ignore[union-attr]
        await states.wait_for(CONNECTED)
        assert service.status()["pairing"] == []
