"""Watching many sessions: batching, budget, coalescing, faults, monotonic statuses, resume."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from zenhire_async import (
    TERMINAL_STATUSES,
    LinkExpiredError,
    NotFoundError,
    WaitTimeout,
    WatchState,
    ZenHireClient,
)
from zenhire_async.testing import Emulator, FaultKind, Simulation

pytestmark = pytest.mark.anyio

FAST = Simulation(open_delay=(30, 600), duration=(120, 600), fail_probability=0.15)


def client(emu: Emulator, **kw: object) -> ZenHireClient:
    return ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, **kw)  # type: ignore[arg-type]


def polling_requests(emu: Emulator) -> int:
    return emu.request_counts["GET /sessions"] + emu.request_counts["GET /sessions/{id}"]


@pytest.mark.slow
async def test_two_thousand_sessions_every_terminal_status_exactly_once() -> None:
    async with Emulator(simulation=FAST, seed=11) as emu, client(emu) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(2_000)]
        emu.reset_counts()
        started = anyio.current_time()
        terminal: Counter[str] = Counter()
        statuses: dict[str, str] = {}
        async for row in zh.sessions.watch(ids):
            if row.status in TERMINAL_STATUSES:
                terminal[row.id] += 1
            statuses[row.id] = row.status
        minutes = (anyio.current_time() - started) / 60
        assert set(terminal) == set(ids) and set(terminal.values()) == {1}
        assert all(statuses[i] == emu.session(i)["status"] for i in ids)
        used = polling_requests(emu)
        # The batched bound: polling takes at most half the 500/min budget (plus one sweep).
        assert used <= 250 * minutes + 25
        # Naive per-session polling every 5 s over the same span would have cost:
        naive = 2_000 * minutes * 60 / 5
        assert used < 0.02 * naive
        assert emu.request_counts["GET /sessions"] > 0  # list sweeps did the work


@pytest.mark.slow
async def test_sessions_this_client_created_are_swept_over_their_window() -> None:
    async with Emulator(simulation=FAST, seed=3) as emu, client(emu) as zh:
        persona = await zh.personas.create("Engineer", "en")
        ids = [
            (await zh.sessions.create(persona.id, consent_mode="explicit")).id for _ in range(300)
        ]
        emu.reset_counts()
        started = anyio.current_time()
        seen = [row async for row in zh.sessions.watch(ids)]
        minutes = (anyio.current_time() - started) / 60
        done = {r.id: r.status for r in seen if r.status in TERMINAL_STATUSES}
        assert set(done) == set(ids)
        assert all(done[i] == emu.session(i)["status"] for i in ids)
        # Known creation times: list pages over the window did most of the work; GETs only
        # at the tail, when one or two sessions remain and a GET is cheaper than a page.
        assert emu.request_counts["GET /sessions/{id}"] < 0.2 * polling_requests(emu)
        assert polling_requests(emu) < 0.05 * (300 * minutes * 60 / 5)


async def test_first_observation_and_each_change_are_reported_in_order(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    a, b = (emu.create_session(persona, consent_mode="explicit") for _ in range(2))
    emu.start_session(b)
    reports: list[tuple[str, str]] = []

    async def drive() -> None:
        await anyio.sleep(60)
        emu.start_session(a)
        await anyio.sleep(60)
        emu.complete_session(a)
        emu.fail_session(b)

    async with anyio.create_task_group() as tg:
        tg.start_soon(drive)
        async for row in zh.sessions.watch([a, b]):
            reports.append((row.id, row.status))
    assert [s for i, s in reports if i == a] == ["initiated", "active", "completed"]
    assert [s for i, s in reports if i == b] == ["active", "failed"]


async def test_a_jump_straight_to_terminal_is_reported_as_it_is(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    sid = emu.create_session(persona, consent_mode="explicit")
    watch = zh.sessions.watch([sid])
    first = await watch.__anext__()
    assert first.status == "initiated"
    emu.start_session(sid)
    emu.complete_session(sid)
    assert [r.status async for r in watch] == ["completed"]


async def test_statuses_never_go_backwards_under_a_stale_replica(emu: Emulator) -> None:
    async with client(emu) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(150)]

        async def drive() -> None:
            for step in range(3):
                await anyio.sleep(40)
                for i in ids:
                    if step == 0:
                        emu.start_session(i)
                    elif step == 1:
                        emu.complete_session(i)

        emu.faults.add("stale_read", rate=0.4)
        history: dict[str, list[str]] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive)
            async for row in zh.sessions.watch(ids):
                history.setdefault(row.id, []).append(row.status)
        for statuses in history.values():
            assert statuses == sorted(statuses, key=["initiated", "active", "completed"].index)
            assert statuses[-1] == "completed" and statuses.count("completed") == 1
        assert emu.faults.injected["stale_read"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["500", "502_html", "503", "reset", "429", "truncated"])
async def test_faults_delay_but_never_lose_or_duplicate_a_transition(kind: FaultKind) -> None:
    async with Emulator(simulation=FAST, seed=5) as emu, client(emu, max_retries=1) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(250)]
        emu.faults.add(kind, rate=0.2, retry_after=3)
        reports: Counter[tuple[str, str]] = Counter()
        async for row in zh.sessions.watch(ids):
            reports[(row.id, row.status)] += 1
        assert max(reports.values()) == 1
        for i in ids:
            assert (i, emu.session(i)["status"]) in reports
        assert emu.faults.injected[kind] > 0


@pytest.mark.slow
async def test_expired_links_end_the_watch_quietly(zh: ZenHireClient, emu: Emulator) -> None:
    persona = emu.create_persona("Engineer", "en")
    never, done = (emu.create_session(persona, consent_mode="explicit") for _ in range(2))
    emu.start_session(done)
    emu.complete_session(done)
    watch = zh.sessions.watch([never, done])
    rows = [(r.id, r.status) async for r in watch]
    assert rows.count((never, "initiated")) == 2  # first look, then the expiry report
    assert watch.expired == {never}
    assert (done, "completed") in rows


async def test_timeout_carries_every_unfinished_session(zh: ZenHireClient, emu: Emulator) -> None:
    persona = emu.create_persona("Engineer", "en")
    a, b, c = (emu.create_session(persona, consent_mode="explicit") for _ in range(3))
    emu.start_session(a)
    emu.complete_session(c)
    started = anyio.current_time()
    with pytest.raises(WaitTimeout) as info:
        async for _ in zh.sessions.watch([a, b, c], timeout=600):
            pass
    assert 600 <= anyio.current_time() - started < 620
    pending = info.value.pending
    assert set(pending) == {a, b}
    last_a = pending[a]
    assert last_a is not None and last_a.status == "active"


async def test_unknown_ids_raise_not_found(zh: ZenHireClient) -> None:
    with pytest.raises(NotFoundError):
        async for _ in zh.sessions.watch(["no-such-session"]):
            pass
    with pytest.raises(TypeError):
        zh.sessions.watch("one-id-not-a-list")


async def test_watch_resumes_from_saved_state_in_a_new_client(emu: Emulator) -> None:
    persona = emu.create_persona("Engineer", "en")
    ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(120)]
    for i in ids[:40]:
        emu.start_session(i)
        emu.complete_session(i)
    async with client(emu) as zh:
        watch = zh.sessions.watch(ids)
        before = [await watch.__anext__() for _ in range(len(ids))]  # first observations
        saved = watch.state().to_json()
    assert {r.id for r in before} == set(ids)
    for i in ids[40:]:
        emu.start_session(i)
        emu.fail_session(i)
    emu.reset_counts()
    async with client(emu) as again:
        rows = [r async for r in again.sessions.watch(WatchState.from_json(saved))]
    assert {r.id for r in rows} == set(ids[40:])  # finished ones are not reported twice
    assert {r.status for r in rows} == {"failed"}
    assert emu.request_counts["POST /personas/{id}/sessions"] == 0
    with pytest.raises(ValueError, match="watch state"):
        WatchState.from_json(b'{"sessions": 5}')


async def test_cancelling_a_watch_leaves_nothing_running(emu: Emulator) -> None:
    async with client(emu) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(5)]
        with anyio.move_on_after(30):
            async for _ in zh.sessions.watch(ids):
                pass
        assert (await zh.sessions.get(ids[0])).status == "initiated"


# -- coalesced await_completion ---------------------------------------------------------------


async def _waits(emu: Emulator, ids: list[str], zh: ZenHireClient) -> dict[str, str]:
    results: dict[str, str] = {}

    async def one(i: str) -> None:
        results[i] = (await zh.sessions.await_completion(i)).status

    async with anyio.create_task_group() as tg:
        for i in ids:
            tg.start_soon(one, i)
    return results


@pytest.mark.slow
async def test_500_awaiters_cost_what_one_watch_costs() -> None:
    async def cost(use_watch: bool) -> tuple[int, dict[str, str]]:
        async with Emulator(simulation=FAST, seed=21) as emu, client(emu) as zh:
            persona = emu.create_persona("Engineer", "en")
            ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(500)]
            emu.reset_counts()
            if use_watch:
                final = {r.id: r.status async for r in zh.sessions.watch(ids)}
            else:
                final = await _waits(emu, ids, zh)
            expected = {i: emu.session(i)["status"] for i in ids}
            assert final == expected
            # await_completion fetches each terminal session's detail once; exclude those.
            return polling_requests(emu) - (0 if use_watch else len(ids)), final

    watch_cost, _ = await cost(use_watch=True)
    wait_cost, _ = await cost(use_watch=False)
    assert wait_cost <= watch_cost * 1.2 + 10
    assert wait_cost < 500 * 5  # far below one GET per session per look


async def test_cancelling_one_awaiter_does_not_disturb_the_others(emu: Emulator) -> None:
    async with client(emu) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(20)]
        results: dict[str, str] = {}
        scopes: dict[str, anyio.CancelScope] = {}

        async def one(i: str) -> None:
            with anyio.CancelScope() as scope:
                scopes[i] = scope
                results[i] = (await zh.sessions.await_completion(i)).status

        async def drive() -> None:
            await anyio.sleep(30)
            for scope in list(scopes.values())[:5]:  # cancel the first five, the driver too
                scope.cancel()
            await anyio.sleep(30)
            for i in ids:
                emu.start_session(i)
                emu.complete_session(i)

        async with anyio.create_task_group() as tg:
            for i in ids:
                tg.start_soon(one, i)
            tg.start_soon(drive)
        assert set(results) == set(ids[5:])
        assert set(results.values()) == {"completed"}


async def test_two_awaiters_of_one_session_both_get_every_change(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    sid = emu.create_session(persona, consent_mode="explicit")
    seen: dict[int, list[str]] = {1: [], 2: []}

    async def wait(n: int) -> None:
        await zh.sessions.await_completion(sid, on_status=lambda s: seen[n].append(s.status))

    async def drive() -> None:
        await anyio.sleep(100)
        emu.start_session(sid)
        await anyio.sleep(100)
        emu.complete_session(sid)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, 1)
        tg.start_soon(wait, 2)
        tg.start_soon(drive)
    assert seen[1] == seen[2] == ["initiated", "active", "completed"]


@pytest.mark.slow
async def test_awaiter_expiry_and_timeout_are_per_waiter(zh: ZenHireClient, emu: Emulator) -> None:
    persona = emu.create_persona("Engineer", "en")
    quick, slow = (emu.create_session(persona, consent_mode="explicit") for _ in range(2))
    outcomes: dict[str, BaseException] = {}

    async def wait(i: str, timeout: float | None) -> None:
        try:
            await zh.sessions.await_completion(i, timeout=timeout)
        except (WaitTimeout, LinkExpiredError) as exc:
            outcomes[i] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, quick, 60.0)
        tg.start_soon(wait, slow, None)
    assert isinstance(outcomes[quick], WaitTimeout)
    assert isinstance(outcomes[slow], LinkExpiredError)


async def test_closing_the_client_wakes_waiters(emu: Emulator) -> None:
    zh = client(emu)
    persona = emu.create_persona("Engineer", "en")
    sid = emu.create_session(persona, consent_mode="explicit")
    errors: list[BaseException] = []

    async def wait() -> None:
        try:
            await zh.sessions.await_completion(sid)
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.sleep(100)
        await zh.aclose()
    assert errors and "closed" in str(errors[0])


def test_watch_state_round_trips_through_json() -> None:
    state = WatchState.from_json(b'{"version": 1, "sessions": [{"id": "a", "status": "active"}]}')
    assert WatchState.from_json(state.to_json()) == state
    assert [(s.id, s.status, s.expires_at) for s in state.sessions] == [("a", "active", None)]
    expires = datetime(2026, 5, 8, 12, 30, tzinfo=UTC)  # a link expiry survives, zone and all
    links = WatchState.from_json(WatchState.for_links({"b": expires}).to_json())
    assert [(s.id, s.status, s.expires_at) for s in links.sessions] == [("b", None, expires)]
    with pytest.raises(ValueError, match="not a saved watch state"):
        WatchState.from_json(b'{"version": 1, "sessions": 3}')


async def test_a_watch_for_links_ends_an_unused_session_when_its_own_link_expires(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    unused, known = (emu.create_session(persona, consent_mode="explicit") for _ in range(2))
    emu.start_session(known)
    emu.complete_session(known)
    # A link that lives one day (as a journal recorded it), not the 7-day default.
    expires = emu.clock_now() + timedelta(days=1)
    started = anyio.current_time()
    watch = zh.sessions.watch(WatchState.for_links({unused: expires, known: None}))
    rows = [(r.id, r.status) async for r in watch]
    assert watch.expired == {unused}
    assert (known, "completed") in rows
    waited = anyio.current_time() - started
    assert 86_400 <= waited < 86_400 + 3_600  # ended at the recorded expiry, not after 7 days
