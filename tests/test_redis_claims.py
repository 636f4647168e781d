"""Bulk invites with a coordinator: each row claimed in a real Redis before its create, so
jobs running at once never both invite a candidate; Redis stopped mid-job changes nothing
for the caller. Real time (Redis ``TIME`` is real), a few seconds each."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer, start_redis

from zenhire_async import (
    BulkInviteReport,
    BulkProgress,
    CreatedRecord,
    JobRecord,
    ZenHireClient,
    read_journal,
)
from zenhire_async._bulk_rowkeys import row_key
from zenhire_async.redis import RedisCoordinator
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.real_time]

RATE = 60_000  # the client's pacing is not what these tests are about


def refs(n: int) -> list[str]:
    return [f"cand-{i}" for i in range(n)]


def client(emu: Emulator, coordinator: RedisCoordinator | None) -> ZenHireClient:
    return ZenHireClient(
        api_key=emu.api_key,
        base_url=emu.base_url,
        allow_insecure_http=True,
        rate_limit_per_minute=RATE,
        coordinator=coordinator,
    )


async def two_jobs_at_once(
    emu: Emulator, persona_id: str, rows: list[str], tmp_path: Path, url: str | None
) -> list[BulkInviteReport]:
    """Two jobs (two clients, two coordinators: as two processes) over the same rows, with
    new journals, started together."""
    reports: list[BulkInviteReport] = []

    async def job(name: str) -> None:
        coordinator = None if url is None else RedisCoordinator(url)
        try:
            async with client(emu, coordinator) as zh:
                reports.append(
                    await zh.sessions.bulk_invite(
                        persona_id,
                        [{"candidate_ref": r} for r in rows],
                        consent_mode="explicit",
                        journal=tmp_path / f"{name}-{url is None}.jsonl",
                        concurrency=8,
                    )
                )
        finally:
            if coordinator is not None:
                await coordinator.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(job, "a")
        tg.start_soon(job, "b")
    return reports


def sessions_by_ref(emu: Emulator, persona_id: str) -> Counter[str]:
    return Counter(s["candidate_ref"] for s in emu.sessions_of() if s["persona_id"] == persona_id)


async def test_two_jobs_at_once_give_every_candidate_one_session(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    rows = refs(200)
    async with Emulator() as emu:
        control = emu.create_persona()
        await two_jobs_at_once(emu, control, rows, tmp_path, url=None)
        assert max(sessions_by_ref(emu, control).values()) == 2  # the test can fail: alone,
        # both jobs listed an empty persona before either created anything

        persona_id = emu.create_persona()
        reports = await two_jobs_at_once(emu, persona_id, rows, tmp_path, url=redis_server.url)
        assert sessions_by_ref(emu, persona_id) == Counter(rows)
        ids = {
            s["candidate_ref"]: s["id"] for s in emu.sessions_of() if s["persona_id"] == persona_id
        }
    assert sum(r.created for r in reports) == 200
    for report in reports:  # each job created some rows and lists the other's as existing
        assert report.failed == []
        assert sorted(ref for ref, _ in report.existing) == sorted(
            set(rows) - created_refs(report, tmp_path)
        )
        assert all(sid is None or sid == ids[ref] for ref, sid in report.existing)


def created_refs(report: BulkInviteReport, tmp_path: Path) -> set[str]:
    """The refs the job of ``report`` (with a coordinator) journaled a link for."""
    for journal in tmp_path.glob("*-False.jsonl"):
        records = list(read_journal(journal))
        job = records[0]
        if isinstance(job, JobRecord) and job.job_id == report.job_id:
            return {r.candidate_ref for r in records if isinstance(r, CreatedRecord)}
    raise AssertionError("no journal of the job")


async def test_a_row_claimed_by_another_job_is_existing_and_redis_holds_no_secret(
    tmp_path: Path,
) -> None:
    with start_redis() as redis_server:  # its own: every claim key in it is this test's
        await _claimed_rows_are_existing(redis_server, tmp_path)


async def _claimed_rows_are_existing(redis_server: RedisServer, tmp_path: Path) -> None:
    async with Emulator() as emu, RedisCoordinator(redis_server.url) as coordinator:
        persona_id = emu.create_persona()
        claims = coordinator.claims(emu.api_key, persona_id)
        running = await claims.claim(row_key("held-running"), "otherjob0000001")
        named = await claims.claim(row_key("held-named"), "otherjob0000002")
        assert running.granted and named.granted
        await claims.settle(row_key("held-named"), "otherjob0000002", "sess-elsewhere")
        assert not (await claims.claim(row_key("held-named"), "thirdjob")).granted
        async with client(emu, coordinator) as zh:
            report = await zh.sessions.bulk_invite(
                persona_id,
                [{"candidate_ref": r} for r in ("held-running", "held-named", "free")],
                consent_mode="explicit",
                journal=tmp_path / "j.jsonl",
            )
        assert sorted(report.existing) == [("held-named", "sess-elsewhere"), ("held-running", None)]
        assert report.created == 1 and sessions_by_ref(emu, persona_id) == Counter(["free"])
        free_id = emu.sessions_of()[0]["id"]
        admin = aioredis.Redis.from_url(redis_server.url)
        try:
            keys = [bytes(k) for k in await admin.keys("zenhire:*:claim:*")]  # type: ignore[arg-type]
            values = [await admin.get(k) for k in keys]
            ttls = [await admin.pttl(k) for k in keys]
        finally:
            await admin.aclose()
    assert len(keys) == 3 and all(0 < ttl <= 86_400_000 for ttl in ttls)
    held = [bytes(v) for v in values if v is not None]  # type: ignore[arg-type]
    assert any(v.endswith(b":" + free_id.encode()) for v in held)
    dump = b" ".join([*keys, *held])
    for secret in (emu.api_key, "held-running", "held-named", "free", persona_id):
        assert secret.encode() not in dump


async def test_a_claim_is_granted_again_to_its_own_job_and_released_without_a_session(
    redis_server: RedisServer,
) -> None:
    async with RedisCoordinator(redis_server.url) as coordinator:
        claims = coordinator.claims("zh_test_claims_key", "persona-1")
        other = coordinator.claims("zh_test_claims_key", "persona-2")
        row = row_key("cand-x")
        assert (await claims.claim(row, "job1")).granted
        assert (await claims.claim(row, "job1")).granted  # a resumed job: its own claim
        refused = await claims.claim(row, "job2")
        assert not refused.granted and refused.session_id is None
        assert (await other.claim(row, "job2")).granted  # another persona: another claim
        await claims.settle(row, "job2", None)  # not job2's: unchanged
        assert not (await claims.claim(row, "job2")).granted
        await claims.settle(row, "job1", None)  # released: the row had no session
        assert (await claims.claim(row, "job2")).granted
        assert "zh_test_claims_key" not in repr(claims)


async def test_redis_stopped_mid_job_raises_nothing_and_every_row_is_invited_once(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    rows = refs(150)
    with start_redis() as server:
        async with Emulator() as emu, RedisCoordinator(server.url) as coordinator:
            persona_id = emu.create_persona()
            stopped_at: list[int] = []

            def stop_redis(p: BulkProgress) -> None:
                if not stopped_at and p.created >= 20:
                    stopped_at.append(p.created)
                    server.stop()

            async with ZenHireClient(
                api_key=emu.api_key,
                base_url=emu.base_url,
                allow_insecure_http=True,
                rate_limit_per_minute=3_000,  # 50/s shared; 12.5/s while Redis is away
                coordinator=coordinator,
            ) as zh:
                report = await zh.sessions.bulk_invite(
                    persona_id,
                    [{"candidate_ref": r} for r in rows],
                    consent_mode="explicit",
                    journal=tmp_path / "j.jsonl",
                    on_progress=stop_redis,
                )
            assert stopped_at and stopped_at[0] < 150  # Redis went away with rows to go
            assert not coordinator.shared
            assert (report.created, report.failed, report.existing) == (150, [], [])
            assert sessions_by_ref(emu, persona_id) == Counter(rows)
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "zenhire_async"
    ]
    assert len(warnings) == 1 and "Redis is unreachable" in warnings[0].getMessage()
