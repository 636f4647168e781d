"""The candidate simulator: lazy, event-driven, at scale, under virtual time."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import pytest
from emulator_support import Api

from zenhire_async.testing import Emulator, Simulation, virtual_time_loop_factory

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"loop_factory": virtual_time_loop_factory})


async def test_without_simulation_sessions_stay_put() -> None:
    async with Emulator() as emu:
        sid = emu.create_session(emu.create_persona())
        await asyncio.sleep(30 * 86_400)
        assert emu.session(sid)["status"] == "initiated"


async def test_a_link_that_never_reached_the_client_is_never_opened() -> None:
    # Found by the chaos suite: simulated candidates opened orphans (sessions whose create
    # answer was lost), which no candidate can hold the link of.
    sim = Simulation(open_delay=(5, 60), duration=(60, 120), fail_probability=0.0)
    async with Emulator(simulation=sim) as emu, aiohttp.ClientSession() as http:
        api = Api(emu, http)
        pid = emu.create_persona()
        path = f"/personas/{pid}/sessions"
        emu.faults.add("lost_response", count=1)
        with pytest.raises(aiohttp.ClientError):
            await api.call("POST", path, json={"consent_mode": "explicit"})
        delivered = (await api.call("POST", path, json={"consent_mode": "explicit"})).json["id"]
        (orphan,) = emu.undelivered_session_ids
        await asyncio.sleep(3600)
        assert emu.session(delivered)["status"] == "completed"
        assert emu.session(orphan)["status"] == "initiated"


@pytest.mark.slow
async def test_ten_thousand_sessions_two_virtual_hours() -> None:
    sim = Simulation(open_delay=(5, 600), duration=(60, 900), fail_probability=0.1)
    async with (
        Emulator(simulation=sim, max_concurrent=500, seed=7) as emu,
        aiohttp.ClientSession() as http,
    ):
        api = Api(emu, http)
        pid = emu.create_persona()
        ids = [emu.create_session(pid, candidate_ref=f"c{i}") for i in range(10_000)]
        for _ in range(120):  # poll once a virtual minute for two hours
            await asyncio.sleep(60)
            reply = await api.call(
                "GET", "/sessions", params={"status": "completed", "limit": "100"}
            )
            assert reply.status == 200
        statuses = Counter(emu.session(i)["status"] for i in ids)
        assert statuses["completed"] > 0
        assert statuses["failed"] > 0
        assert emu.peak_concurrency() == 500  # the cap was reached and never exceeded
        total = (await api.call("GET", "/sessions", params={"status": "completed"})).json["total"]
        assert total == statuses["completed"]
        done = emu.session(next(i for i in ids if emu.session(i)["status"] == "completed"))
        assert done["duration_sec"] is not None
        assert done["credit_charged"] is not None
        assert done["completed_at"] > done["started_at"] > done["created_at"]


async def test_max_concurrent_holds_candidates_off() -> None:
    sim = Simulation(open_delay=(1, 1), duration=(100, 100), fail_probability=0.0)
    async with Emulator(simulation=sim, max_concurrent=2) as emu:
        pid = emu.create_persona()
        ids = [emu.create_session(pid) for _ in range(5)]
        await asyncio.sleep(2)
        statuses = [emu.session(i)["status"] for i in ids]
        assert statuses.count("active") == 2
        assert statuses.count("initiated") == 3
        await asyncio.sleep(100)
        statuses = [emu.session(i)["status"] for i in ids]
        assert statuses.count("completed") == 2
        assert statuses.count("active") == 2
        await asyncio.sleep(300)
        assert all(emu.session(i)["status"] == "completed" for i in ids)
        assert emu.peak_concurrency() == 2
        # the held-off candidates started when a slot freed, not when they opened the link
        starts = sorted(emu.session(i)["started_at"] for i in ids)
        assert starts[2] > starts[1]


async def test_events_are_stamped_with_their_own_time() -> None:
    sim = Simulation(open_delay=(10, 10), duration=(120, 120), fail_probability=0.0)
    async with Emulator(simulation=sim) as emu:
        sid = emu.create_session(emu.create_persona())
        await asyncio.sleep(10_000)  # look long after the fact
        s = emu.session(sid)
        assert s["status"] == "completed"
        assert s["duration_sec"] == 120
        assert s["credit_charged"] == 2
        from datetime import datetime

        created = datetime.fromisoformat(s["created_at"])
        started = datetime.fromisoformat(s["started_at"])
        completed = datetime.fromisoformat(s["completed_at"])
        assert abs((started - created).total_seconds() - 10) < 0.01
        assert abs((completed - started).total_seconds() - 120) < 0.01


async def test_a_session_marked_no_show_is_never_opened() -> None:
    sim = Simulation(open_delay=(5, 60), duration=(60, 120), fail_probability=0.0)
    async with Emulator(simulation=sim) as emu:
        pid = emu.create_persona()
        shows, stays = (emu.create_session(pid) for _ in range(2))
        emu.no_show(stays)
        await asyncio.sleep(8 * 86_400)
        assert emu.session(shows)["status"] == "completed"
        assert emu.session(stays)["status"] == "initiated"
        with pytest.raises(ValueError, match="not initiated"):
            emu.no_show(shows)
        with pytest.raises(ValueError, match="expired"):
            emu.start_session(stays)


async def test_no_show_and_time_budget() -> None:
    no_show = Simulation(no_show_probability=1.0)
    async with Emulator(simulation=no_show) as emu:
        sid = emu.create_session(emu.create_persona())
        await asyncio.sleep(30 * 86_400)
        assert emu.session(sid)["status"] == "initiated"
    overrun = Simulation(open_delay=(1, 1), duration=(5000, 5000), time_budget=3600)
    async with Emulator(simulation=overrun) as emu:
        sid = emu.create_session(emu.create_persona())
        await asyncio.sleep(3000)
        assert emu.session(sid)["status"] == "active"
        await asyncio.sleep(700)
        assert emu.session(sid)["status"] == "failed"


async def test_link_expiry_while_held_off() -> None:
    sim = Simulation(open_delay=(1, 1), duration=(8 * 86_400, 8 * 86_400), time_budget=9 * 86_400)
    async with Emulator(simulation=sim, max_concurrent=1) as emu:
        pid = emu.create_persona()
        first = emu.create_session(pid)
        second = emu.create_session(pid)
        await asyncio.sleep(10 * 86_400)
        assert emu.session(first)["status"] == "completed"
        # the slot freed after the second link's 7 days: it never starts
        assert emu.session(second)["status"] == "initiated"
        with pytest.raises(ValueError, match="expired"):
            emu.start_session(second)


async def test_open_after_expiry_never_starts() -> None:
    sim = Simulation(open_delay=(700_000, 700_000))
    async with Emulator(simulation=sim) as emu:
        sid = emu.create_session(emu.create_persona())
        await asyncio.sleep(800_000)
        assert emu.session(sid)["status"] == "initiated"


async def test_manual_moves_cancel_simulated_events() -> None:
    sim = Simulation(open_delay=(10, 10), duration=(60, 60), fail_probability=0.0)
    async with Emulator(simulation=sim) as emu:
        sid = emu.create_session(emu.create_persona())
        emu.fail_session(sid)
        await asyncio.sleep(1000)
        assert emu.session(sid)["status"] == "failed"


async def test_simulation_is_deterministic() -> None:
    async def run() -> list[tuple[str, Any]]:
        async with Emulator(simulation=Simulation(), seed=3) as emu:
            pid = emu.create_persona()
            ids = [emu.create_session(pid) for _ in range(50)]
            await asyncio.sleep(3600)
            return [(emu.session(i)["status"], emu.session(i)["duration_sec"]) for i in ids]

    assert await run() == await run()
