"""Events: every type emitted against the emulator, hooks that fail or lag, and no cost idle.

Calls, attempts and retries under injected faults, 429s and pacing waits, status changes of
sessions moved by the simulator on virtual time, bulk rows; then the hook rules: a raising
hook is logged once and ignored, a coroutine hook runs beside the calls through a bounded
queue and is flushed by ``aclose()``, and with no hook the dispatcher is never entered.
"""

from __future__ import annotations

import itertools
import logging
import sys
import typing
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType
from typing import TypeVar

import anyio
import pytest
from aiohttp import web

import zenhire_async._events_dispatch as dispatch_module
import zenhire_async._events_hooks as hooks_module
from zenhire_async import NotFoundError, ServerError, ZenHireClient, events
from zenhire_async._events_dispatch import EventDispatcher, event_route
from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

E = TypeVar("E")

FAST = Simulation(open_delay=(30, 600), duration=(120, 600), fail_probability=0.3)


class Recorder:
    """A sync hook that keeps every event."""

    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def for_call(self, call_id: int) -> list[events.Event]:
        return [e for e in self.events if getattr(e, "call_id", None) == call_id]


def client(emu: Emulator, hook: object, **kw: object) -> ZenHireClient:
    return ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, on_event=hook, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def recorded(emu: Emulator) -> AsyncIterator[tuple[ZenHireClient, Recorder]]:
    rec = Recorder()
    async with client(emu, rec) as zh:
        yield zh, rec


async def test_a_get_is_one_call_of_one_attempt_with_the_request_id(
    recorded: tuple[ZenHireClient, Recorder], emu: Emulator
) -> None:
    zh, rec = recorded
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    rec.events.clear()
    await zh.sessions.get(session_id)
    started, sent, received, ended = rec.events
    assert isinstance(started, events.CallStarted) and started.call == "sessions.get"
    assert isinstance(sent, events.RequestSent)
    assert (sent.call_id, sent.method, sent.route, sent.attempt) == (
        started.call_id,
        "GET",
        "/sessions/{session_id}",
        1,
    )
    assert isinstance(received, events.ResponseReceived)
    assert received.status == 200 and received.attempt == 1
    assert received.request_id and received.request_id.startswith("req_")
    assert received.elapsed >= 0
    assert isinstance(ended, events.CallEnded)
    assert (ended.call, ended.call_id, ended.outcome) == ("sessions.get", started.call_id, "ok")
    assert ended.elapsed == pytest.approx(ended.at - started.at)
    assert started.at <= sent.at <= received.at <= ended.at
    assert session_id not in repr(rec.events[1:3])  # routes are templates


async def test_retries_under_faults_are_attempts_of_one_call(
    recorded: tuple[ZenHireClient, Recorder], emu: Emulator
) -> None:
    zh, rec = recorded
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    emu.faults.add("503", count=1, route="GET /sessions/{id}", retry_after=2)
    emu.faults.add("slow", count=1, route="GET /sessions/{id}", delay=60)  # past the timeout
    rec.events.clear()
    await zh.sessions.get(session_id)
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds == [
        "CallStarted",
        "RequestSent",
        "ResponseReceived",  # the 503, with its request id
        "RequestFailed",
        "RetryScheduled",
        "RequestSent",
        "RequestFailed",  # the timeout: no response
        "RetryScheduled",
        "RequestSent",
        "ResponseReceived",
        "CallEnded",
    ]
    first_failure, second_failure = rec.of(events.RequestFailed)
    assert isinstance(first_failure, events.RequestFailed)
    assert isinstance(second_failure, events.RequestFailed)
    assert (first_failure.attempt, first_failure.error) == (1, "ServerError")
    assert (second_failure.attempt, second_failure.error) == (2, "APITimeoutError")
    retries = rec.of(events.RetryScheduled)
    assert [(r.attempt, r.reason) for r in retries] == [
        (1, "ServerError"),
        (2, "APITimeoutError"),
    ]
    assert retries[0].delay == 2  # the server's Retry-After
    responses = rec.of(events.ResponseReceived)
    assert [(r.status, r.attempt) for r in responses] == [(503, 1), (200, 3)]
    assert all(r.request_id for r in responses)
    sent = rec.of(events.RequestSent)
    assert [s.attempt for s in sent] == [1, 2, 3]
    assert {getattr(e, "call_id", None) for e in rec.events} == {sent[0].call_id}
    ended = rec.events[-1]
    assert isinstance(ended, events.CallEnded) and ended.outcome == "ok"


async def test_a_call_that_gives_up_ends_with_the_error_class(
    recorded: tuple[ZenHireClient, Recorder], emu: Emulator
) -> None:
    zh, rec = recorded
    emu.faults.add("500", route="GET /sessions/{id}")
    with pytest.raises(ServerError):
        await zh.sessions.get("sess_missing")
    assert [e.attempt for e in rec.of(events.RequestFailed)] == [1, 2, 3, 4]
    assert len(rec.of(events.RetryScheduled)) == 3  # max_retries: the last failure is final
    ended = rec.events[-1]
    assert isinstance(ended, events.CallEnded) and ended.outcome == "ServerError"
    emu.faults.clear()
    rec.events.clear()
    with pytest.raises(NotFoundError):
        await zh.sessions.get("sess_missing")
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds == ["CallStarted", "RequestSent", "ResponseReceived", "RequestFailed", "CallEnded"]
    received = rec.events[2]
    assert isinstance(received, events.ResponseReceived) and received.status == 404
    assert received.request_id
    rec.events.clear()
    with pytest.raises(ValueError, match="session_id"):
        await zh.sessions.get("a/b")
    assert [(type(e).__name__, getattr(e, "outcome", None)) for e in rec.events] == [
        ("CallStarted", None),
        ("CallEnded", "ValueError"),
    ]


async def test_a_429_is_rate_limited_and_the_next_requests_are_paced(emu: Emulator) -> None:
    rec = Recorder()
    async with client(emu, rec, rate_limit_per_minute=60) as zh:
        persona = emu.create_persona("Engineer", "en")
        session_id = emu.create_session(persona, consent_mode="explicit")
        emu.faults.add("429", count=1, route="GET /sessions/{id}", retry_after=3)
        await zh.sessions.get(session_id)
        await zh.sessions.get(session_id)
    (limited,) = rec.of(events.RateLimited)
    assert isinstance(limited, events.RateLimited) and limited.retry_after == 3
    (retry,) = rec.of(events.RetryScheduled)
    assert isinstance(retry, events.RetryScheduled)
    assert (retry.attempt, retry.delay, retry.reason) == (1, 3, "RateLimitError")
    waits = rec.of(events.PacingWaited)
    # 60/min with a burst of 1: after the 429 emptied the bucket, each request waits for a
    # token (60/59 s apart); the first went out at once.
    assert len(waits) == 2
    for wait in waits:
        assert isinstance(wait, events.PacingWaited) and wait.priority == "interactive"
        assert wait.seconds == pytest.approx(60 / 59, rel=0.05)
    first_send = rec.of(events.RequestSent)[0]
    assert first_send.at < waits[0].at


async def test_status_changes_of_a_watch_are_reported_once_each() -> None:
    rec = Recorder()
    async with Emulator(simulation=FAST, seed=5) as emu, client(emu, rec) as zh:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona, consent_mode="explicit") for _ in range(30)]
        rows = [(row.id, str(row.status)) async for row in zh.sessions.watch(ids)]
        changes = rec.of(events.StatusChanged)
        assert [(c.session_id, c.new) for c in changes] == rows
        for session_id in ids:
            mine = [c for c in changes if c.session_id == session_id]
            assert mine[0].old is None and mine[0].seconds_in_old is None
            for before, after in itertools.pairwise(mine):
                assert after.old == before.new
                assert after.seconds_in_old == pytest.approx(after.at - before.at, abs=0.5)
                assert after.polls > before.polls
            assert mine[-1].new == emu.session(session_id)["status"]
        assert {c.new for c in changes} >= {"completed", "failed"}
        polls = rec.of(events.CallStarted)
        assert {c.call for c in polls} <= {"sessions.get", "sessions.list"}


async def test_await_completion_is_a_call_whose_polls_are_calls_too() -> None:
    rec = Recorder()
    async with Emulator(simulation=FAST, seed=9) as emu, client(emu, rec) as zh:
        persona = await zh.personas.create("Engineer", "en")
        invite = await zh.sessions.create(persona.id, consent_mode="explicit")
        rec.events.clear()
        done = await zh.sessions.await_completion(invite.id)
    started = rec.events[0]
    assert isinstance(started, events.CallStarted) and started.call == "sessions.await_completion"
    ended = rec.events[-1]
    assert isinstance(ended, events.CallEnded) and ended.call_id == started.call_id
    assert ended.outcome == "ok" and ended.elapsed > 60  # virtual minutes
    changes = rec.of(events.StatusChanged)
    assert changes[0].old is None
    assert changes[-1].new == done.status
    assert len({(c.old, c.new) for c in changes}) == len(changes)
    inner = [e for e in rec.of(events.CallStarted) if e is not started]
    assert inner and {c.call for c in inner} <= {"sessions.get", "sessions.list"}
    # Every request belongs to one of the inner calls, none to the wait itself.
    assert {e.call_id for e in rec.of(events.RequestSent)} <= {c.call_id for c in inner}


async def test_every_bulk_row_finishes_with_its_outcome(emu: Emulator, tmp_path: Path) -> None:
    rec = Recorder()
    persona = emu.create_persona("Engineer", "en")
    rows: list[dict[str, object]] = [{"candidate_ref": f"c{n}"} for n in range(6)]
    rows += [{"candidate_ref": "c0"}, {"candidate_ref": ""}]  # a duplicate, an invalid row
    journal = tmp_path / "job.jsonl"
    async with client(emu, rec) as zh:
        report = await zh.sessions.bulk_invite(
            persona, rows, consent_mode="explicit", journal=journal
        )
        again = await zh.sessions.bulk_invite(
            persona, rows[:6], consent_mode="explicit", journal=journal
        )
    finished = rec.of(events.BulkRowFinished)
    outcomes = Counter(e.outcome for e in finished)
    assert outcomes == {"created": 6, "failed": 2, "skipped": 6}
    assert report.created == 6 and again.skipped == 6
    assert {e.job_id for e in finished} == {report.job_id}
    calls = Counter(e.call for e in rec.of(events.CallStarted))
    assert calls["sessions.bulk_invite"] == 2 and calls["sessions.create"] == 6


@pytest.mark.real_time  # the download writes its file from a thread
async def test_every_public_call_has_its_name(emu: Emulator, tmp_path: Path) -> None:
    rec = Recorder()
    async with client(emu, rec) as zh:
        persona = await zh.personas.create("Engineer", "en")
        await zh.personas.get(persona.id)
        await zh.personas.list()
        _ = [p async for p in zh.personas.iter()]
        invite = await zh.sessions.create(persona.id, consent_mode="explicit")
        emu.start_session(invite.id)
        emu.complete_session(invite.id, duration_sec=60)
        await zh.sessions.get(invite.id)
        await zh.sessions.list()
        _ = [s async for s in zh.sessions.iter()]
        await zh.sessions.await_completion(invite.id)
        await zh.sessions.transcript(invite.id)
        async with zh.sessions.stream_recording(invite.id) as chunks:
            async for _chunk in chunks:
                pass
        await zh.sessions.download_recording(invite.id, tmp_path / "r.wav")
        await zh.health()
        await zh.credits()
    calls = [e.call for e in rec.of(events.CallStarted)]
    assert set(calls) == {
        "personas.create",
        "personas.get",
        "personas.list",
        "sessions.create",
        "sessions.get",
        "sessions.list",
        "sessions.await_completion",
        "sessions.transcript",
        "sessions.stream_recording",
        "sessions.download_recording",
        "health",
        "credits",
    }
    assert len(rec.of(events.CallEnded)) == len(calls)
    stream = next(e for e in rec.of(events.CallStarted) if e.call == "sessions.stream_recording")
    assert any(
        isinstance(e, events.ResponseReceived) and e.route == "/sessions/{session_id}/recording"
        for e in rec.for_call(stream.call_id)
    )


async def test_request_id_prefers_the_header_then_the_envelope() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = b'{"error":{"code":"NOT_FOUND","message":"no","requestId":"req_from_body"}}'
        headers = {"X-Request-Id": "req_from_header"} if request.query.get("h") else {}
        return web.Response(status=404, body=body, content_type="application/json", headers=headers)

    app = web.Application()
    app.router.add_get("/api/v1/interview/sessions/{sid}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rec = Recorder()
    try:
        async with ZenHireClient(
            api_key="zh_api_test_key_0000", base_url=f"http://127.0.0.1:{port}", on_event=rec
        ) as zh:
            with pytest.raises(NotFoundError):
                await zh.sessions.get("s1")
    finally:
        await runner.cleanup()
    (received,) = rec.of(events.ResponseReceived)
    assert isinstance(received, events.ResponseReceived)
    assert received.request_id == "req_from_body"


async def test_a_raising_hook_is_logged_once_and_never_breaks_a_call(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: events.Event) -> None:
        raise RuntimeError(f"hook bug, key {emu.api_key}")

    rec = Recorder()
    caplog.set_level(logging.DEBUG, logger="zenhire_async")
    async with client(emu, [broken, rec]) as zh:
        persona = await zh.personas.create("Engineer", "en")
        for _ in range(3):
            await zh.personas.get(persona.id)
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == "zenhire_async"
    ]
    assert len(warnings) == 1
    assert "broken" in warnings[0].getMessage() and "RuntimeError" in warnings[0].getMessage()
    assert emu.api_key not in caplog.text
    assert len(rec.of(events.CallEnded)) == 4  # the hook after it saw everything


async def test_a_coroutine_hook_runs_beside_the_calls_in_order_and_is_flushed(
    emu: Emulator,
) -> None:
    seen: list[events.Event] = []
    gate = anyio.Event()

    async def slow(event: events.Event) -> None:
        await gate.wait()
        seen.append(event)

    rec = Recorder()
    zh = client(emu, [slow, rec])
    async with zh:
        persona = await zh.personas.create("Engineer", "en")
        await zh.personas.get(persona.id)
        assert seen == []  # the calls did not wait for the hook
        gate.set()
    assert seen == rec.events  # aclose() let it catch up, in order


async def test_a_stuck_coroutine_hook_drops_events_with_one_warning(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    async def stuck(event: events.Event) -> None:
        await anyio.sleep_forever()

    caplog.set_level(logging.WARNING, logger="zenhire_async")
    rec = Recorder()
    zh = client(emu, [stuck, rec])
    async with zh:
        persona = await zh.personas.create("Engineer", "en")
        for _ in range(300):  # 4 events each: past the 1,024 the queue holds
            await zh.personas.get(persona.id)
        dispatcher = zh._transport.events
        assert dispatcher is not None
        assert dispatcher.dropped == len(rec.events) - 1 - hooks_module.QUEUE_SIZE
        behind = [r for r in caplog.records if "behind" in r.getMessage()]
        assert len(behind) == 1
        closing_started = anyio.current_time()
    # aclose() waited for the hook at most FLUSH_TIMEOUT, then cancelled it.
    waited = anyio.current_time() - closing_started
    assert waited == pytest.approx(hooks_module.FLUSH_TIMEOUT, abs=1.0)
    messages = [r.getMessage() for r in caplog.records]
    assert any("did not catch up" in m for m in messages)
    assert any(f"missed {len(rec.events) - 1} event(s)" in m for m in messages)


async def test_with_no_hook_the_request_path_never_enters_the_dispatcher(
    zh: ZenHireClient, emu: Emulator
) -> None:
    persona = emu.create_persona("Engineer", "en")
    session_id = emu.create_session(persona, consent_mode="explicit")
    assert zh._transport.events is None
    entered: list[str] = []
    machinery = {dispatch_module.__file__, hooks_module.__file__}

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename in machinery:
            entered.append(frame.f_code.co_name)

    await zh.sessions.get(session_id)  # warm
    sys.setprofile(profile)
    try:
        for _ in range(5):
            await zh.sessions.get(session_id)
    finally:
        sys.setprofile(None)
    assert set(entered) == {"wrapper"}  # the decorator's check, and nothing after it


def test_routes_are_templates_named_by_their_resource() -> None:
    assert event_route("GET /sessions/{id}") == "/sessions/{session_id}"
    assert event_route("POST /personas/{id}/sessions") == "/personas/{persona_id}/sessions"
    assert event_route("GET /sessions/{id}/recording") == "/sessions/{session_id}/recording"
    assert event_route("GET /sessions") == "/sessions"


def test_derived_hooks_add_to_the_parents_and_share_its_queues() -> None:
    def a(event: events.Event) -> None: ...

    async def b(event: events.Event) -> None: ...

    def c(event: events.Event) -> None: ...

    parent = EventDispatcher.build([a, b])
    assert parent is not None
    assert EventDispatcher.derive(parent, None) is parent
    child = EventDispatcher.derive(parent, c)
    assert child is not None and child is not parent
    assert child._sync == (a, c) and child._async == parent._async and child._own == ()
    assert EventDispatcher.derive(None, None) is None
    with pytest.raises(TypeError, match="callable"):
        EventDispatcher.build([a, "not a hook"])  # type: ignore[list-item]


def test_every_event_type_is_in_the_union_and_frozen() -> None:
    kinds = set(typing.get_args(events.Event))
    assert events.LeaderChanged in kinds and len(kinds) == 11
    change = events.LeaderChanged(leading=True, at=1.0)
    with pytest.raises(AttributeError):
        change.leading = False  # type: ignore[misc]
