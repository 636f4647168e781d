"""The pacer's priority rule, on the pure bucket and on virtual time: batch never takes the
last ``interactive_reserve`` of the bucket, interactive waiters go first, and no window of
60 s ever sees more than ``per_minute`` whatever the mix."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from zenhire_async._pacing import RequestPacer
from zenhire_async._rate_limit import DEFAULT_INTERACTIVE_RESERVE, Priority, check_priority

pytestmark = pytest.mark.anyio


def most_in_any_minute(times: list[float]) -> int:
    """The most acquisitions that fell in one window of 60 s."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 60) - i for i, t in enumerate(times)), default=0)


# -- the pure bucket ------------------------------------------------------------------------


def test_the_reserve_is_a_share_of_the_bucket() -> None:
    pacer = RequestPacer(500)
    assert pacer.interactive_reserve == DEFAULT_INTERACTIVE_RESERVE == 0.2
    assert pacer.reserve_tokens == pytest.approx(1.0)  # one token of five


def test_batch_cannot_drain_the_reserve_and_interactive_can_take_it() -> None:
    pacer = RequestPacer(500)
    taken = 0
    while pacer.wait_time(0.0, 1, "batch") <= 0:
        pacer.take()
        taken += 1
    assert taken == 4  # the fifth token stays for a person
    assert pacer.wait_time(0.0, 1, "interactive") == 0
    pacer.take()
    # Empty now: batch waits for the reserve to be refilled as well as its own token.
    token_time = 1 / pacer.refill_per_second
    assert pacer.wait_time(0.0, 1, "interactive") == pytest.approx(token_time)
    assert pacer.wait_time(0.0, 1, "batch") == pytest.approx(2 * token_time)


def test_interactive_can_use_the_whole_bucket() -> None:
    pacer = RequestPacer(500)
    for _ in range(5):
        assert pacer.wait_time(0.0) == 0
        pacer.take()
    assert pacer.wait_time(0.0) > 0


def test_a_batch_cost_leaves_the_reserve_too() -> None:
    pacer = RequestPacer(1000, burst=10)  # reserve: 2 tokens
    pacer.take()
    assert pacer.wait_time(0.0, 8, "batch") > 0  # 9 there: 8 would leave 1
    assert pacer.wait_time(0.0, 8, "interactive") == 0
    assert pacer.wait_time(0.0, 7, "batch") == 0
    # A cost the reserve cannot fit beside waits for a full bucket and leaves what it can.
    assert pacer.wait_time(0.0, 9, "batch") == pytest.approx(1 / pacer.refill_per_second)


def test_a_bucket_of_one_still_serves_batch() -> None:
    # A fifth of one token cannot be kept aside: batch waits for the whole token.
    pacer = RequestPacer(60)
    assert pacer.burst == 1
    assert pacer.wait_time(0.0, 1, "batch") == 0


def test_no_reserve_makes_batch_like_interactive() -> None:
    pacer = RequestPacer(500, interactive_reserve=0)
    for _ in range(5):
        assert pacer.wait_time(0.0, 1, "batch") == 0
        pacer.take()


@pytest.mark.parametrize("bad", [-0.1, 1, 1.5, "0.2", True, math.nan])
def test_a_bad_reserve_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="interactive_reserve"):
        RequestPacer(500, interactive_reserve=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Batch", "", "low", None, 1])
def test_a_bad_priority_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="priority"):
        check_priority(bad)


async def test_acquire_refuses_a_bad_priority_and_takes_nothing() -> None:
    pacer = RequestPacer(500)
    with pytest.raises(ValueError, match="priority"):
        await pacer.acquire(1, "urgent")  # type: ignore[arg-type]
    for _ in range(5):
        assert await pacer.acquire() == 0.0


# -- on the event loop (virtual time) ---------------------------------------------------------


class Load:
    """Callers of one pacer, recording when each acquisition was served and how long it waited."""

    def __init__(self, pacer: RequestPacer) -> None:
        self.pacer = pacer
        self.served: dict[Priority, list[float]] = {"interactive": [], "batch": []}
        self.waits: dict[Priority, list[float]] = {"interactive": [], "batch": []}

    async def one(self, priority: Priority) -> None:
        asked = anyio.current_time()
        await self.pacer.acquire(1, priority)
        now = anyio.current_time()
        self.served[priority].append(now)
        self.waits[priority].append(now - asked)

    async def saturate(self, priority: Priority, until: float) -> None:
        while anyio.current_time() < until:
            await self.one(priority)

    async def every(self, priority: Priority, interval: float, until: float) -> None:
        while anyio.current_time() < until:
            await self.one(priority)
            await anyio.sleep(interval)

    def all_served(self) -> list[float]:
        return self.served["interactive"] + self.served["batch"]


async def run_load(pacer: RequestPacer, *plans: Callable[[Load], object]) -> Load:
    load = Load(pacer)
    async with anyio.create_task_group() as tg:
        for plan in plans:
            tg.start_soon(plan, load)  # type: ignore[arg-type]
    return load


async def test_with_batch_saturating_an_interactive_call_waits_at_most_a_token_time() -> None:
    rate = 500
    pacer = RequestPacer(rate)
    token_time = 1 / pacer.refill_per_second
    bound = 60 / (rate * pacer.interactive_reserve) + token_time
    start = anyio.current_time()

    def batch(load: Load) -> object:
        return load.saturate("batch", start + 180)

    def person(load: Load) -> object:
        return load.every("interactive", 7.3, start + 180)

    load = await run_load(pacer, *[batch] * 20, person)
    waits = load.waits["interactive"]
    assert len(waits) >= 20
    assert max(waits) <= token_time + 1e-6 <= bound
    # Most of them find the reserve's token at once.
    assert sum(1 for w in waits if w == 0) >= len(waits) // 2
    assert most_in_any_minute(load.all_served()) <= rate
    # Batch still gets (nearly) everything the person leaves: the budget is not wasted.
    minute = [t for t in load.all_served() if start + 60 <= t < start + 120]
    assert len(minute) >= rate - pacer.burst - 2


async def test_batch_alone_gets_the_whole_refill() -> None:
    rate = 500
    pacer = RequestPacer(rate)
    start = anyio.current_time()
    load = await run_load(pacer, *[lambda ld: ld.saturate("batch", start + 120)] * 8)
    second_minute = [t for t in load.served["batch"] if start + 60 <= t < start + 120]
    assert len(second_minute) >= rate - pacer.burst - 2
    assert most_in_any_minute(load.served["batch"]) <= rate


async def test_interactive_demand_at_the_reserve_is_served_beside_saturating_batch() -> None:
    # A person's share at exactly the reserve (100 of 500 a minute): every call is served
    # within a token time, batch gets at most the rest, and the total never overshoots.
    rate = 500
    pacer = RequestPacer(rate)
    token_time = 1 / pacer.refill_per_second
    start = anyio.current_time()
    end = start + 240
    interval = 60 / (rate * pacer.interactive_reserve)

    def batch(load: Load) -> object:
        return load.saturate("batch", end)

    def person(load: Load) -> object:
        return load.every("interactive", interval, end)

    load = await run_load(pacer, *[batch] * 16, person)
    assert max(load.waits["interactive"]) <= token_time + 1e-6
    for lo in range(60, 180, 30):
        window = (start + lo, start + lo + 60)
        batch_n = sum(1 for t in load.served["batch"] if window[0] <= t < window[1])
        person_n = sum(1 for t in load.served["interactive"] if window[0] <= t < window[1])
        assert person_n >= 95
        assert batch_n <= (1 - pacer.interactive_reserve) * rate + 1
    assert most_in_any_minute(load.all_served()) <= rate


async def test_saturating_interactive_takes_everything_and_never_overshoots() -> None:
    rate = 300
    pacer = RequestPacer(rate)
    start = anyio.current_time()
    end = start + 150

    def batch(load: Load) -> object:
        return load.saturate("batch", end)

    def person(load: Load) -> object:
        return load.saturate("interactive", end)

    load = await run_load(pacer, *[batch] * 4, *[person] * 4)
    assert most_in_any_minute(load.all_served()) <= rate
    in_minute = [t for t in load.served["interactive"] if start + 60 <= t < start + 120]
    assert len(in_minute) >= rate - pacer.burst - 2
    # Batch got only the start (the bucket's tokens above the reserve) and the very end.
    assert len([t for t in load.served["batch"] if t < end - 1]) <= pacer.burst


async def order_of_service(pacer: RequestPacer, arrivals: list[tuple[str, Priority]]) -> list[str]:
    order: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await pacer.acquire(1, priority)
        order.append(name)

    async with anyio.create_task_group() as tg:
        for name, priority in arrivals:
            tg.start_soon(one, name, priority)
            await anyio.sleep(0.001)  # arrive in this order, well before any token refills
    return order


async def test_interactive_waiters_go_before_batch_waiters_each_first_come_first_served() -> None:
    pacer = RequestPacer(60, burst=10)
    pacer.hold(anyio.current_time(), 0.0)  # empty bucket: everyone queues
    arrivals: list[tuple[str, Priority]] = [
        ("b1", "batch"),
        ("i1", "interactive"),
        ("b2", "batch"),
        ("i2", "interactive"),
        ("b3", "batch"),
        ("i3", "interactive"),
    ]
    assert await order_of_service(pacer, arrivals) == ["i1", "i2", "i3", "b1", "b2", "b3"]


async def test_an_interactive_call_passes_queued_batch_when_a_token_is_there() -> None:
    pacer = RequestPacer(500)  # reserve: 1 token
    while pacer.wait_time(anyio.current_time(), 1, "batch") <= 0:
        pacer.take()
    async with anyio.create_task_group() as tg:
        tg.start_soon(pacer.acquire, 1, "batch")
        await anyio.lowlevel.checkpoint()
        assert len(pacer._batch) == 1  # queued for a token above the reserve
        assert await pacer.acquire() == 0.0  # the reserve's token, at once
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("victim", ["i1", "i2", "b1", "b2"])
async def test_a_cancelled_waiter_takes_nothing_and_the_queue_moves_on(victim: str) -> None:
    pacer = RequestPacer(60, burst=10)
    pacer.hold(anyio.current_time(), 0.0)
    token_time = 1 / pacer.refill_per_second
    served: dict[str, float] = {}
    start = anyio.current_time()

    async def one(name: str, priority: Priority) -> None:
        await pacer.acquire(1, priority)
        served[name] = anyio.current_time() - start

    async with anyio.create_task_group() as tg:
        scopes: dict[str, anyio.CancelScope] = {}
        for name in ("i1", "i2", "b1", "b2"):
            scope = scopes[name] = anyio.CancelScope()

            async def run(name: str = name, scope: anyio.CancelScope = scope) -> None:
                with scope:
                    await one(name, "interactive" if name[0] == "i" else "batch")

            tg.start_soon(run)
        await anyio.sleep(token_time / 2)
        scopes[victim].cancel()
    assert victim not in served
    # The three others are served one token time apart, in order (batch needs the reserve
    # refilled too: 2 of 10 tokens, so the first batch comes 3 token times after the last
    # interactive's).
    order = sorted(served, key=served.__getitem__)
    assert order == [n for n in ("i1", "i2", "b1", "b2") if n != victim]
    interactive = [served[n] for n in order if n[0] == "i"]
    assert interactive == pytest.approx([token_time * (k + 1) for k in range(len(interactive))])
    first_batch = served[next(n for n in order if n[0] == "b")]
    assert first_batch == pytest.approx(token_time * (len(interactive) + 1 + 2))
