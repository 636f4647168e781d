"""Priority through the client: ``priority=``, ``with_options(priority=)``, bulk invites and
the watcher's sweeps always batch, ``PacingWaited.priority``, and a person's call beside a
saturating bulk job waiting within the bound."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from zenhire_async import ZenHireClient, events
from zenhire_async._rate_limit import Priority, RateLimiter
from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

FAST = Simulation(open_delay=(30, 120), duration=(60, 180), fail_probability=0.0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)

    def waits(self) -> list[events.PacingWaited]:
        return [e for e in self.events if isinstance(e, events.PacingWaited)]

    def priorities(self) -> set[str]:
        return {e.priority for e in self.waits()}

    def clear(self) -> None:
        self.events.clear()


def client(emu: Emulator, rec: Recorder | None = None, **kw: object) -> ZenHireClient:
    return ZenHireClient(api_key=emu.api_key, base_url=emu.base_url, on_event=rec, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Batch", "", "background", None, 1, ["batch"]])
async def test_a_bad_priority_is_a_value_error_before_any_request(
    emu: Emulator, bad: object
) -> None:
    with pytest.raises(ValueError, match="priority"):
        client(emu, priority=bad)
    async with client(emu) as zh:
        if bad is not None:  # None: with_options' "not given", this client's priority
            with pytest.raises(ValueError, match="priority"):
                zh.with_options(priority=bad)  # type: ignore[arg-type]
    assert sum(emu.request_counts.values()) == 0


async def test_the_client_priority_is_interactive_by_default_and_batch_when_asked(
    emu: Emulator,
) -> None:
    # 60 a minute, burst 1: every request after the first waits for a token.
    rec = Recorder()
    async with client(emu, rec, rate_limit_per_minute=60) as zh:
        for _ in range(3):
            await zh.personas.list()
        assert rec.priorities() == {"interactive"}
    rec.clear()
    async with client(emu, rec, rate_limit_per_minute=60, priority="batch") as zh:
        for _ in range(3):
            await zh.personas.list()
        assert len(rec.waits()) == 2 and rec.priorities() == {"batch"}
        rec.clear()
        for _ in range(2):
            await zh.with_options(priority="interactive").personas.list()
        assert len(rec.waits()) == 2 and rec.priorities() == {"interactive"}


async def test_with_options_priority_applies_to_the_derived_client_only(emu: Emulator) -> None:
    rec = Recorder()
    async with client(emu, rec, rate_limit_per_minute=60) as zh:
        await zh.personas.list()
        batch = zh.with_options(priority="batch")
        for _ in range(3):
            await batch.personas.list()
        assert [w.priority for w in rec.waits()] == ["batch"] * 3
        rec.clear()
        await zh.personas.list()
        await batch.with_options(timeout=5.0).personas.list()  # inherits batch
        await batch.with_options(priority="interactive").personas.list()
        assert [w.priority for w in rec.waits()] == ["interactive", "batch", "interactive"]


class Spy:
    """The client's pacer, recording the priority of every acquisition."""

    def __init__(self, pacer: RateLimiter) -> None:
        self.pacer = pacer
        self.priorities: list[Priority] = []

    async def acquire(self, cost: int = 1, priority: Priority = "interactive") -> float:
        self.priorities.append(priority)
        return await self.pacer.acquire(cost, priority)

    async def penalize(self, retry_after: float) -> None:
        await self.pacer.penalize(retry_after)

    def take_counts(self) -> Counter[Priority]:
        counts, self.priorities = Counter(self.priorities), []
        return counts


def spied(zh: ZenHireClient) -> Spy:
    # Before any derived client or batch view exists: they all copy the home's pacer.
    pacer = zh._transport.pacer
    assert pacer is not None
    spy = Spy(pacer)
    zh._transport.pacer = spy
    return spy


async def test_bulk_invites_and_sweeps_are_batch_whatever_the_client_priority(
    tmp_path: Path,
) -> None:
    rec = Recorder()
    async with (
        Emulator(simulation=FAST, seed=3) as emu,
        client(emu, rec, rate_limit_per_minute=60) as zh,
    ):
        spy = spied(zh)
        persona = emu.create_persona("Engineer", "en")
        report = await zh.sessions.bulk_invite(
            persona,
            [{"candidate_ref": f"c{n}"} for n in range(6)],
            consent_mode="explicit",
            journal=tmp_path / "j.jsonl",
        )
        assert report.created == 6
        assert spy.take_counts() == {"batch": 7}  # the listing of existing sessions, 6 creates
        assert len(rec.waits()) >= 5 and rec.priorities() == {"batch"}
        ids = [row["id"] for row in emu.sessions_of()]
        await zh.sessions.await_completion(ids[0])
        polls = spy.take_counts()
        assert polls["batch"] >= 2 and set(polls) == {"batch"}
        async for _ in zh.with_options(timeout=10.0).sessions.watch(ids[1:]):
            pass
        polls = spy.take_counts()
        assert polls["batch"] >= 2 and set(polls) == {"batch"}
        # A derived client's waits join the home's watcher: batch too.
        await zh.with_options(priority="interactive").sessions.await_completion(ids[1])
        assert set(spy.take_counts()) <= {"batch"}
        rec.clear()
        await zh.sessions.get(ids[0])  # the same client's own calls are still interactive
        await zh.sessions.get(ids[0])
        assert spy.take_counts() == {"interactive": 2}
        assert rec.waits() and rec.priorities() == {"interactive"}


async def test_an_interactive_bulk_job_is_still_batch_and_a_batch_client_stays_batch(
    tmp_path: Path, emu: Emulator
) -> None:
    async with client(emu, priority="batch") as zh:
        spy = spied(zh)
        persona = emu.create_persona("Engineer", "en")
        await zh.with_options(priority="interactive").sessions.bulk_invite(
            persona,
            [{"candidate_ref": "a"}, {"candidate_ref": "b"}],
            consent_mode="explicit",
            journal=tmp_path / "j.jsonl",
        )
        assert spy.take_counts() == {"batch": 3}  # the listing of existing sessions, 2 creates
        await zh.sessions.create(persona, consent_mode="explicit")
        await zh.personas.list()
        assert spy.take_counts() == {"batch": 2}


def rows(count: int) -> Iterator[dict[str, str]]:
    for n in range(count):
        yield {"candidate_ref": f"cand-{n:05d}"}


@pytest.mark.slow
async def test_a_person_waits_within_the_bound_beside_a_saturating_bulk_job(
    tmp_path: Path,
) -> None:
    rate = 500
    rec = Recorder()
    async with (
        Emulator(rate_limit_per_minute=rate) as emu,
        client(emu, rec, rate_limit_per_minute=rate) as zh,
    ):
        persona = emu.create_persona("Engineer", "en")
        existing = emu.create_session(persona, consent_mode="explicit")
        token_time = 60 / (rate - 5)
        bound = 60 / (rate * 0.2) + token_time
        waits: list[float] = []
        done = anyio.Event()

        async def person() -> None:
            await anyio.sleep(3.0)  # the job is in full swing
            n = 0
            while not done.is_set():
                started = anyio.current_time()
                if n % 2:
                    await zh.sessions.get(existing)
                else:
                    await zh.sessions.create(
                        persona, consent_mode="explicit", candidate_ref=f"person-{n}"
                    )
                waits.append(anyio.current_time() - started)
                n += 1
                await anyio.sleep(2.9)

        async with anyio.create_task_group() as tg:
            tg.start_soon(person)
            report = await zh.sessions.bulk_invite(
                persona,
                rows(700),
                consent_mode="explicit",
                journal=tmp_path / "j.jsonl",
                concurrency=16,
            )
            done.set()
        assert report.created == 700
        assert len(waits) >= 20  # the job lasted over a minute
        assert max(waits) <= bound
        assert max(waits) <= token_time + 1e-3  # in one process: one token time at most
        assert emu.faults.injected["429"] == 0  # no overshoot of the server's limit
        batch_waits = [w for w in rec.waits() if w.priority == "batch"]
        assert len(batch_waits) >= 600  # the job was saturating the client
        # Most of the person's calls found the reserve's token at once.
        assert sum(1 for w in waits if w <= 1e-3) >= len(waits) // 2
