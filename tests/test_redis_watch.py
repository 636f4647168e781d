"""The shared watcher across processes (``RedisCoordinator``): one leader sweeps for every
waiter on the key, the others follow its stream. Real time (Redis ``TIME`` is real), a real
redis-server, the emulator; the leader-death test runs the leader in a real process.

Sessions are moved by the test (``start_session`` then ``complete_session``), so that each
run sees the same transitions; active sessions are polled every ~5 s, so each test takes a
few of those. Tolerances are generous: a loaded 2-core machine may be slow, never wrong.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer, start_redis

from zenhire_async import ZenHireClient, events
from zenhire_async._poll_fleet import FleetWatcher
from zenhire_async._redis_watch_lua import LOCK_TTL
from zenhire_async.redis import PROBE_EVERY, RedisCoordinator
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

CHILD = Path(__file__).with_name("watch_fleet_child.py")


def _client(
    emu: Emulator, coordinator: RedisCoordinator | None, hook: Callable[..., None] | None = None
) -> ZenHireClient:
    return ZenHireClient(
        api_key=emu.api_key,
        base_url=emu.base_url,
        allow_insecure_http=True,
        rate_limit_per_minute=3000,
        coordinator=coordinator,
        on_event=hook,
    )


async def _until(check: Callable[[], bool], timeout: float) -> None:
    """Return once ``check()`` holds; fail after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while True:
            if check():
                return
            await anyio.sleep(0.05)


def _seed(emu: Emulator, count: int) -> list[str]:
    persona = emu.create_persona("Engineer", "en")
    ids = [
        emu.create_session(persona, candidate_ref=f"cand-ref-{i}", metadata={"crm": f"crm-{i}"})
        for i in range(count)
    ]
    for session_id in ids:
        emu.start_session(session_id)
    return ids


async def _await_split(
    emu: Emulator, clients: list[ZenHireClient], ids: list[str], *, complete_after: float
) -> dict[str, str]:
    """Await ``ids`` dealt round-robin to ``clients``; complete them all after a while."""
    results: dict[str, str] = {}

    async def one(zh: ZenHireClient, session_id: str) -> None:
        results[session_id] = (await zh.sessions.await_completion(session_id)).status

    async def finish() -> None:
        await anyio.sleep(complete_after)
        for session_id in ids:
            emu.complete_session(session_id)

    with anyio.fail_after(90):
        async with anyio.create_task_group() as tg:
            tg.start_soon(finish)
            for k, session_id in enumerate(ids):
                tg.start_soon(one, clients[k % len(clients)], session_id)
    return results


@asynccontextmanager
async def _fleet(
    emu: Emulator, server: RedisServer, count: int, hook: Callable[..., None] | None = None
) -> AsyncIterator[tuple[list[RedisCoordinator], list[ZenHireClient]]]:
    """``count`` clients on one key, each with its own coordinator (as processes have)."""
    coordinators = [RedisCoordinator(server.url) for _ in range(count)]
    clients = [_client(emu, c, hook) for c in coordinators]
    try:
        yield coordinators, clients
    finally:
        for zh in clients:
            await zh.aclose()
        for coordinator in coordinators:
            await coordinator.aclose()


def _hook_of(changes: list[tuple[int, bool]], n: int) -> Callable[[events.Event], None]:
    def hook(event: events.Event) -> None:
        if isinstance(event, events.LeaderChanged):
            changes.append((n, event.leading))

    return hook


async def _polls(
    server: RedisServer | None, clients: int, changes: list[tuple[int, bool]]
) -> tuple[int, int]:
    """150 sessions awaited by ``clients`` clients (with a coordinator each when ``server``),
    active for ~3 sweeps, then completed: (list pages, all requests) the emulator saw."""
    async with Emulator() as emu:
        ids = _seed(emu, 150)
        coordinators = [None if server is None else RedisCoordinator(server.url)] * clients
        if server is not None:
            coordinators = [RedisCoordinator(server.url) for _ in range(clients)]
        zhs = [_client(emu, c, _hook_of(changes, n)) for n, c in enumerate(coordinators)]
        try:
            results = await _await_split(emu, zhs, ids, complete_after=12)
        finally:
            for zh in zhs:
                await zh.aclose()
            for coordinator in coordinators:
                if coordinator is not None:
                    await coordinator.aclose()
        assert results == dict.fromkeys(ids, "completed")
        return emu.request_counts["GET /sessions"], emu.total_requests


async def test_two_clients_share_one_leader_and_poll_as_one(redis_server: RedisServer) -> None:
    changes: list[tuple[int, bool]] = []
    alone_pages, alone = await _polls(None, 1, changes)
    _, apart = await _polls(None, 2, changes)
    assert apart >= 1.5 * alone  # the test can fail: apart, each client polls for itself
    fleet_pages, fleet = await _polls(redis_server, 2, changes)
    assert fleet <= 1.2 * alone, (fleet, alone)
    assert fleet_pages <= 1.2 * alone_pages + 3, (fleet_pages, alone_pages)
    # One leader at a time: whoever leads resigns (its last waiter done) before the other
    # takes over for the sessions it still waits on (their detail fetches).
    leader: int | None = None
    for n, leading in changes:
        assert (leader is None) if leading else (leader == n), changes
        leader = n if leading else None
    assert changes and leader is None


async def test_nothing_secret_reaches_redis(redis_server: RedisServer) -> None:
    async with Emulator() as emu:
        persona = await _seed_persona(emu)
        async with _fleet(emu, redis_server, 2) as (_, clients):
            invites = [
                await clients[0].sessions.create(
                    persona, consent_mode="explicit", candidate_ref=f"secret-ref-{i}"
                )
                for i in range(4)
            ]
            ids = [invite.id for invite in invites]
            for session_id in ids:
                emu.start_session(session_id)
            await _await_split(emu, clients, ids, complete_after=1)
            dump = await _dump(redis_server)
    secrets = [emu.api_key, *(f"secret-ref-{i}" for i in range(4))]
    for invite in invites:
        secrets += [invite.candidate_link, invite.candidate_link.rsplit("/", 1)[-1]]
    assert b":watch:stream" in dump and b"completed" in dump  # the scan saw the watcher
    for secret in secrets:
        assert secret.encode() not in dump, secret


async def _seed_persona(emu: Emulator) -> str:
    return emu.create_persona("Engineer", "en")


async def _dump(server: RedisServer) -> bytes:
    """Every key name and value in ``server``, as one byte string."""
    redis: Any = aioredis.Redis.from_url(server.url)  # replies typed loosely by redis-py
    parts: list[Any] = []
    try:
        async for key in redis.scan_iter():
            parts.append(key)
            kind = (await redis.type(key)).decode()
            if kind == "string":
                parts.append(await redis.get(key) or b"")
            elif kind == "hash":
                for field, value in (await redis.hgetall(key)).items():
                    parts += [field, value]
            elif kind == "zset":
                parts += await redis.zrange(key, 0, -1)
            elif kind == "stream":
                for entry_id, fields in await redis.xrange(key):
                    parts += [entry_id, *fields.keys(), *fields.values()]
            else:
                parts.append(kind.encode())
    finally:
        await redis.aclose()
    return b"\n".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)


async def test_cancelled_waiters_unregister_and_leave_nothing_running(
    redis_server: RedisServer,
) -> None:
    async with Emulator() as emu:
        ids = _seed(emu, 3)
        async with _fleet(emu, redis_server, 1) as (_, [zh]):
            with anyio.move_on_after(2):
                async with anyio.create_task_group() as tg:
                    for session_id in ids:
                        tg.start_soon(zh.sessions.await_completion, session_id)
            redis = aioredis.Redis.from_url(redis_server.url)
            try:
                registry = [k async for k in redis.scan_iter(match="*:watch:registry")]
                members = [m for key in registry for m in await redis.zrange(key, 0, -1)]
                assert not any(sid.encode() in m for m in members for sid in ids)
                leaders = [k async for k in redis.scan_iter(match="*:watch:leader")]
                assert leaders == []  # resigned with its last waiter
            finally:
                await redis.aclose()


async def test_redis_stopped_mid_wait_keeps_waiting_locally_and_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with start_redis() as server:
        async with Emulator() as emu:
            ids = _seed(emu, 8)
            early, late = ids[:4], ids[4:]
            async with _fleet(emu, server, 2) as (coordinators, clients):
                watchers: list[FleetWatcher] = []
                results: dict[str, str] = {}

                async def one(zh: ZenHireClient, session_id: str) -> None:
                    results[session_id] = (await zh.sessions.await_completion(session_id)).status

                async def script() -> None:
                    await anyio.sleep(2)
                    for zh in clients:
                        shared = zh.sessions._waiting.shared
                        assert isinstance(shared, FleetWatcher)
                        watchers.append(shared)
                    assert {w.mode for w in watchers} == {"leader", "follower"}
                    server.stop()
                    for session_id in early:
                        emu.complete_session(session_id)
                    await _until(lambda: set(early) <= results.keys(), 30)  # local sweeps
                    assert {w.mode for w in watchers} == {"local"}
                    server.start()
                    back = {"leader", "follower"}  # on the fleet again, within ~5 s
                    await _until(lambda: {w.mode for w in watchers} == back, PROBE_EVERY + 5)
                    for session_id in late:
                        emu.complete_session(session_id)

                with anyio.fail_after(90):
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(script)
                        for k, session_id in enumerate(ids):
                            tg.start_soon(one, clients[k % 2], session_id)
                assert all(c.shared for c in coordinators)
        assert results == dict.fromkeys(ids, "completed")
        warnings = [
            r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "zenhire_async"
        ]
        assert len(warnings) == 2  # one per process (coordinator) and outage


async def test_a_killed_leader_is_replaced_within_the_ttl_and_nothing_is_lost(
    redis_server: RedisServer,
) -> None:
    async with Emulator() as emu:
        ids = _seed(emu, 12)
        theirs, ours = ids[:6], ids[6:]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        command = [sys.executable, str(CHILD), emu.base_url, emu.api_key, redis_server.url]
        child = await anyio.open_process([*command, *theirs], env=env, stderr=subprocess.DEVNULL)
        gained = anyio.Event()
        took_over: list[float] = []

        def hook(event: events.Event) -> None:
            if isinstance(event, events.LeaderChanged) and event.leading:
                took_over.append(anyio.current_time())
                gained.set()

        try:
            assert child.stdout is not None
            lines = child.stdout
            buffer = b""
            with anyio.fail_after(30):
                while b"leading\n" not in buffer:
                    buffer += await lines.receive()
            async with _fleet(emu, redis_server, 0) as (coordinators, clients):
                coordinators.append(RedisCoordinator(redis_server.url))
                clients.append(_client(emu, coordinators[0], hook))
                results: dict[str, str] = {}

                async def one(session_id: str) -> None:
                    detail = await clients[0].sessions.await_completion(session_id)
                    results[session_id] = detail.status

                async def script() -> float:
                    await anyio.sleep(1.5)
                    emu.complete_session(ours[0])  # seen by the child's sweeps, published
                    await _until(lambda: ours[0] in results, 30)
                    assert took_over == []  # the child led all along
                    os.kill(child.pid, signal.SIGKILL)
                    killed = anyio.current_time()
                    emu.complete_session(ours[1])  # while nobody leads
                    with anyio.fail_after(LOCK_TTL + 20):
                        await gained.wait()
                    for session_id in ours[2:]:
                        emu.complete_session(session_id)
                    return took_over[0] - killed

                with anyio.fail_after(120):
                    async with anyio.create_task_group() as tg:
                        for session_id in ours:
                            tg.start_soon(one, session_id)
                        takeover = await script()
            assert results == dict.fromkeys(ours, "completed")
            assert takeover <= 15.0, takeover
        finally:
            if child.returncode is None:
                child.kill()
            await child.aclose()
