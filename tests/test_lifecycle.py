"""Resource lifecycle: one loop per client, nothing left running, cancellation anywhere.

* A client used from a second event loop (a second ``asyncio.run`` while the first still
  owns it) raises a clear ``RuntimeError`` from every entry point, and the first loop goes on
  using and closing it cleanly.
* ``aclose()`` leaves no task of the SDK alive — also when waits on the shared watcher are
  still running (they are woken and raise) — and the emulator sees no open connection.
* Cancellation at *every* await point of ``await_completion``, ``watch``, ``bulk_invite``
  and ``download_recording``: a task factory counts each suspension of every task the
  operation creates (its workers and batches included) and cancels the operation at the
  k-th one, for k = 1, 2, … until the operation finishes before being cancelled. After
  each cut: no task of the operation is alive, no partial file is left, the journal has
  no torn or doubled record, and the same call run again completes correctly.

The whole suite runs with ``PYTHONASYNCIODEBUG=1`` and warnings as errors (``make pytest``);
``test_make_pytest_runs_in_asyncio_debug_mode_with_warnings_as_errors`` checks it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import warnings
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio
import pytest
from bulk_support import check_job_invariants
from fuzz_support import CANCELLATION_POINTS, Stepped

from zenhire_async import (
    AuthenticationError,
    CreatedRecord,
    JobRecord,
    SessionSummary,
    ZenHireClient,
    read_journal,
)
from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

QUICK = Simulation(open_delay=(5.0, 20.0), duration=(30.0, 90.0), fail_probability=0.0)


def test_make_pytest_runs_in_asyncio_debug_mode_with_warnings_as_errors(
    pytestconfig: pytest.Config,
) -> None:
    """``make pytest`` sets ``PYTHONASYNCIODEBUG=1``; pyproject turns every warning into an
    error (an unclosed session or a never-awaited coroutine fails the test that caused it)."""
    makefile = (pytestconfig.rootpath / "Makefile").read_text()
    recipe = makefile.split("\npytest:", 1)[1].split("\n\n", 1)[0]
    assert "PYTHONASYNCIODEBUG=1" in recipe
    assert pytestconfig.getini("filterwarnings") == ["error"]
    with pytest.raises(ResourceWarning):
        warnings.warn("any warning fails the test", ResourceWarning, stacklevel=1)
    if os.environ.get("PYTHONASYNCIODEBUG"):
        loop = asyncio.new_event_loop()
        try:
            assert loop.get_debug()
        finally:
            loop.close()


# -- one event loop per client --------------------------------------------------------------


async def test_a_second_event_loop_gets_a_clear_error_from_every_entry_point(
    tmp_path: Path,
) -> None:
    async with Emulator(simulation=QUICK) as emu:
        persona_id = emu.create_persona()
        session_id = emu.create_session(persona_id)
        client = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
        async with client:
            await client.sessions.get(session_id)  # the client now belongs to this loop

            async def watch_all() -> None:
                async for _ in client.sessions.watch([session_id]):
                    pass

            async def download() -> None:
                await client.sessions.download_recording(session_id, tmp_path / "r.wav")

            async def bulk() -> None:
                await client.sessions.bulk_invite(
                    persona_id,
                    [{"candidate_ref": "x"}],
                    consent_mode="explicit",
                    journal=tmp_path / "j.jsonl",
                )

            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "health": client.health,
                "get": lambda: client.sessions.get(session_id),
                "iter": lambda: client.personas.iter().__anext__(),
                "await_completion": lambda: client.sessions.await_completion(session_id),
                "watch": watch_all,
                "download_recording": download,
                "bulk_invite": bulk,
            }
            outcomes: dict[str, str] = {}

            def second_loop() -> None:
                for name, call in calls.items():

                    async def attempt(call: Callable[[], Awaitable[object]] = call) -> None:
                        await call()

                    try:
                        asyncio.run(attempt())
                    except RuntimeError as exc:
                        outcomes[name] = str(exc)
                    else:
                        outcomes[name] = "no error"

            await anyio.to_thread.run_sync(second_loop)
            assert set(outcomes) == set(calls)
            for name, text in outcomes.items():
                assert "another event loop" in text, f"{name}: {text}"
            assert not (tmp_path / "r.wav").exists()
            # The owning loop is undisturbed: it waits the session out and closes the client.
            with anyio.fail_after(3600):
                done = await client.sessions.await_completion(session_id)
            assert done.status == "completed"
        assert client.closed


# -- nothing alive after aclose ------------------------------------------------------------


async def _settle() -> None:
    """Let the emulator's side of closed connections run to its end."""
    for _ in range(20):
        await anyio.sleep(0.01)


def _open_connections(emu: Emulator) -> int:
    runner = emu._server.runner
    assert runner is not None and runner.server is not None
    return len(runner.server.connections)


async def test_aclose_leaves_no_task_and_no_connection_even_with_waits_running() -> None:
    baseline = set(asyncio.all_tasks())
    async with Emulator() as emu:  # nobody ever opens these links: the waits never end
        persona_id = emu.create_persona()
        ids = [emu.create_session(persona_id) for _ in range(5)]
        zh = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
        outcomes: list[BaseException | SessionSummary] = []

        async def wait(session_id: str) -> None:
            try:
                outcomes.append(await zh.sessions.await_completion(session_id))
            except RuntimeError as exc:
                outcomes.append(exc)

        async def watch() -> None:
            try:
                async for row in zh.sessions.watch(ids):
                    outcomes.append(row)
            except RuntimeError as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as tg:
            for session_id in ids:
                tg.start_soon(wait, session_id)
            tg.start_soon(watch)
            await anyio.sleep(120)  # the shared watcher has polled a few times by now
            assert emu.request_counts["GET /sessions"] + emu.request_counts["GET /sessions/{id}"]
            await zh.aclose()
        await _settle()
        waits = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(waits) >= len(ids)
        assert all("closed" in str(exc) for exc in waits)
        assert _open_connections(emu) == 0
        leftover = set(asyncio.all_tasks()) - baseline - {asyncio.current_task()}
        server_side = {t for t in leftover if "web_protocol" in repr(t.get_coro())}
        assert leftover == server_side == set(), leftover


# -- cancellation at every await point --------------------------------------------------------

_COUNTING: contextvars.ContextVar[_Cutter | None] = contextvars.ContextVar(
    "_COUNTING", default=None
)


class _Cutter:
    """Counts suspensions of the operation's tasks; cancels the operation at the k-th."""

    def __init__(self, cut_at: int) -> None:
        self.cut_at = cut_at
        self.points = 0
        self.scope: anyio.CancelScope | None = None
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def tick(self) -> None:
        self.points += 1
        if self.points == self.cut_at and self.scope is not None:
            self.scope.cancel()


async def _run_counted(coro: Coroutine[Any, Any, Any], cutter: _Cutter) -> Any:
    return await Stepped(coro, cutter.tick)


def _factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
) -> asyncio.Task[Any]:
    context = kwargs.get("context")
    cutter = context.get(_COUNTING) if context is not None else _COUNTING.get()
    if cutter is not None:
        coro = _run_counted(coro, cutter)
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
    if cutter is not None:
        cutter.tasks.add(task)
    return task


async def cut_at(k: int, operation: Callable[[], Awaitable[None]]) -> tuple[bool, _Cutter]:
    """Run ``operation`` in counted tasks, cancelled at its k-th suspension.

    Returns whether it finished (``False``: it was cancelled) and the cutter.
    """
    loop = asyncio.get_running_loop()
    cutter = _Cutter(k)
    finished = False

    async def run() -> None:
        nonlocal finished
        await operation()
        finished = True

    loop.set_task_factory(_factory)  # type: ignore[arg-type]
    token = _COUNTING.set(cutter)
    try:
        async with anyio.create_task_group() as tg:
            cutter.scope = tg.cancel_scope
            tg.start_soon(run)
    finally:
        _COUNTING.reset(token)
        loop.set_task_factory(None)
    alive = [t for t in cutter.tasks if not t.done()]
    assert not alive, f"cut at {k}: tasks of the operation still alive: {alive}"
    return finished, cutter


async def sweep_cuts(
    name: str,
    operation: Callable[[int], Awaitable[None]],
    check: Callable[[int, bool], Awaitable[None]],
    *,
    limit: int = 2_000,
) -> int:
    """Cut ``operation(k)`` at k = 1, 2, … until it finishes; ``check(k, finished)`` each."""
    for k in range(1, limit):
        finished, cutter = await cut_at(k, functools.partial(operation, k))
        await check(k, finished)
        if finished:
            # It ran out of await points before the k-th (or the k-th was its very last:
            # the cancellation came with nothing left to interrupt).
            assert cutter.points <= k, "the operation went on past the point it was cut at"
            CANCELLATION_POINTS[name] = cutter.points
            assert cutter.points > 5, f"{name}: {cutter.points} await points: not counted?"
            return cutter.points
    raise AssertionError(f"{name} never finished within {limit} cuts")


async def _no_task_left(baseline: set[asyncio.Task[Any]]) -> None:
    await _settle()
    leftover = set(asyncio.all_tasks()) - baseline - {asyncio.current_task()}
    assert not leftover, leftover


async def test_cancelling_await_completion_anywhere_leaves_nothing_behind() -> None:
    baseline = set(asyncio.all_tasks())
    async with Emulator(simulation=QUICK) as emu:
        persona_id = emu.create_persona()
        sessions: dict[int, str] = {}
        clients: dict[int, ZenHireClient] = {}

        async def operation(k: int) -> None:
            zh = clients[k] = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
            sessions[k] = emu.create_session(persona_id)
            other = emu.create_session(persona_id)  # a second waiter shares the watcher
            async with anyio.create_task_group() as tg:
                tg.start_soon(zh.sessions.await_completion, other)
                done = await zh.sessions.await_completion(sessions[k])
                assert done.status == "completed"

        async def check(k: int, finished: bool) -> None:
            zh = clients.pop(k)
            shared = zh.sessions._waiting.shared
            if shared is not None:  # every waiter left; no driver is left behind
                assert shared._waiters == {} and shared._driver is None
            with anyio.fail_after(3600):  # the client still works for the same session
                again = await zh.sessions.await_completion(sessions[k])
            assert again.status == "completed"
            await zh.aclose()
            await _settle()
            assert _open_connections(emu) == 0

        await sweep_cuts("await_completion", operation, check)
    await _no_task_left(baseline)


async def test_cancelling_watch_anywhere_leaves_nothing_behind() -> None:
    baseline = set(asyncio.all_tasks())
    async with Emulator(simulation=QUICK) as emu:
        persona_id = emu.create_persona()
        watched: dict[int, list[str]] = {}
        clients: dict[int, ZenHireClient] = {}

        async def operation(k: int) -> None:
            zh = clients[k] = ZenHireClient(api_key=emu.api_key, base_url=emu.base_url)
            ids = watched[k] = [emu.create_session(persona_id) for _ in range(3)]
            final = {row.id: row.status async for row in zh.sessions.watch(ids)}
            assert final == dict.fromkeys(ids, "completed")

        async def check(k: int, finished: bool) -> None:
            async with clients.pop(k) as zh:
                with anyio.fail_after(3600):
                    final = {row.id: row.status async for row in zh.sessions.watch(watched[k])}
            assert final == dict.fromkeys(watched[k], "completed")
            await _settle()
            assert _open_connections(emu) == 0

        await sweep_cuts("watch", operation, check)
    await _no_task_left(baseline)


async def test_cancelling_bulk_invite_anywhere_keeps_the_journal_whole(tmp_path: Path) -> None:
    baseline = set(asyncio.all_tasks())
    refs = [f"cand-{i}" for i in range(4)]
    async with (
        Emulator() as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        personas: dict[int, str] = {}

        def persona(k: int) -> str:
            # A persona per cut: each cut is a new job over the same refs, and a job skips
            # candidates who already have a session for its persona (skip_existing).
            return personas.setdefault(k, emu.create_persona())

        def journal(k: int) -> Path:
            return tmp_path / f"invites-{k}.jsonl"

        async def operation(k: int) -> None:
            report = await zh.sessions.bulk_invite(
                persona(k),
                [{"candidate_ref": ref} for ref in refs],
                consent_mode="explicit",
                journal=journal(k),
                concurrency=2,
            )
            assert report.created == len(refs)

        async def check(k: int, finished: bool) -> None:
            path = journal(k)
            if path.exists():
                data = path.read_bytes()
                assert not data or data.endswith(b"\n"), f"cut at {k}: a torn record"
                records = list(read_journal(path))
                assert sum(isinstance(r, JobRecord) for r in records) <= 1
                created = [r.candidate_ref for r in records if isinstance(r, CreatedRecord)]
                assert len(created) == len(set(created)), f"cut at {k}: a doubled link"
            # The same job run again completes: one link per candidate, orphans accounted.
            with anyio.fail_after(3600):
                await zh.sessions.bulk_invite(
                    persona(k),
                    [{"candidate_ref": ref} for ref in refs],
                    consent_mode="explicit",
                    journal=path,
                    concurrency=2,
                )
            check_job_invariants(emu, path, refs)

        await sweep_cuts("bulk_invite", operation, check)
    await _no_task_left(baseline)


@pytest.mark.real_time  # the file writes run in threads; see conftest
async def test_cancelling_download_recording_anywhere_leaves_no_partial_file(
    tmp_path: Path,
) -> None:
    baseline = set(asyncio.all_tasks())
    async with (
        Emulator(recording_bytes=3_000_044) as emu,
        ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh,
    ):
        persona_id = emu.create_persona()
        session_id = emu.create_session(persona_id)
        emu.start_session(session_id)
        emu.complete_session(session_id)

        def folder(k: int) -> Path:
            path = tmp_path / str(k)
            path.mkdir(exist_ok=True)
            return path

        async def operation(k: int) -> None:
            target = folder(k) / "interview.wav"
            await zh.sessions.download_recording(session_id, target, chunk_size=256 * 1024)

        async def check(k: int, finished: bool) -> None:
            names = os.listdir(folder(k))
            assert names == (["interview.wav"] if finished else []), f"cut at {k}: {names}"
            if finished:
                assert (folder(k) / "interview.wav").stat().st_size == emu.recording_bytes

        await sweep_cuts("download_recording", operation, check)
        # The client is still usable after all those cuts.
        nbytes = await zh.sessions.download_recording(session_id, tmp_path / "final.wav")
        assert nbytes == emu.recording_bytes
    await _no_task_left(baseline)


@pytest.mark.parametrize("waiting", ["watch", "await_completion"])
async def test_a_fatal_error_inside_a_sweep_comes_out_as_itself(waiting: str) -> None:
    """A sweep GETs a batch of sessions in a task group; a 401 (or the client closed) in
    one of them is raised as that error, not as an ExceptionGroup around it."""
    async with Emulator() as emu:
        inactive = emu.add_tenant(active=False)  # every call of its key: 401 CLIENT_INACTIVE
        persona_id = emu.create_persona()
        ids = [emu.create_session(persona_id) for _ in range(3)]
        async with ZenHireClient(api_key=inactive.api_key, base_url=emu.base_url) as zh:
            call = (
                zh.sessions.watch(ids).__anext__()
                if waiting == "watch"
                else zh.sessions.await_completion(ids[0])
            )
            with pytest.raises(AuthenticationError):
                await call
