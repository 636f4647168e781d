"""Benchmark 8, the watcher's rows: processes awaiting sessions through one ``RedisCoordinator``.

Called by ``bench_fleet.run``. The emulator runs in the parent (real clock, no per-key
limit: this measures requests, not 429s); sessions are seeded there and moved by the parent
(started, then completed after a few sweeps), so each run sees the same transitions. Each
child (``python -m benchmarks._fleet_watch IDS_FILE ...``) awaits its share of the ids and
prints ``leading`` / ``not leading`` on ``LeaderChanged`` and ``done <id>`` per completion.

* Requests: 4 processes awaiting N sessions between them (a coordinator each) vs one
  process awaiting all N without one: the emulator's request count of each run.
* Leader killed: two processes; the one that leads is SIGKILLed once the other follows;
  sessions of the survivor are completed just after the kill and after its take-over. The
  time from the kill to the survivor's ``leading``, and the completions it never reported.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

RATE = 6000  # per minute: 3,000 a minute for polling, 1,000 detail GETs in ~20 s


async def _start(ids: list[str], base_url: str, key: str, redis: str) -> asyncio.subprocess.Process:
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as out:
        out.write("\n".join(ids))
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "benchmarks._fleet_watch", out.name, base_url, key, redis),
        stdout=asyncio.subprocess.PIPE,
    )


async def _lines_until(proc: asyncio.subprocess.Process, wanted: str, seen: list[str]) -> None:
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode().strip()
        if not line:
            raise RuntimeError(f"child ended before {wanted!r}")
        seen.append(line)
        if line == wanted:
            return


async def requests(sessions: int, processes: int, redis: str, settle: float) -> int:
    """Requests the emulator received while ``processes`` awaited ``sessions``."""
    from zenhire_async.testing import Emulator

    async with Emulator() as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona) for _ in range(sessions)]
        for session_id in ids:
            emu.start_session(session_id)
        procs = [
            await _start(ids[k::processes], emu.base_url, emu.api_key, redis)
            for k in range(processes)
        ]
        await asyncio.sleep(settle)  # a few sweeps of active sessions
        for session_id in ids:
            emu.complete_session(session_id)
        outs = [await proc.communicate() for proc in procs]
        done = sum(out.decode().count("done ") for out, _ in outs)
        if done != sessions:
            raise RuntimeError(f"{done} of {sessions} completions reported")
        return emu.total_requests


async def leader_killed(redis: str) -> tuple[float, int]:
    """(seconds from the leader's SIGKILL to the survivor's take-over, changes lost)."""
    from zenhire_async.testing import Emulator

    async with Emulator() as emu:
        persona = emu.create_persona("Engineer", "en")
        ids = [emu.create_session(persona) for _ in range(20)]
        for session_id in ids:
            emu.start_session(session_id)
        first_lines: list[str] = []
        first = await _start(ids[:10], emu.base_url, emu.api_key, redis)
        await asyncio.wait_for(_lines_until(first, "leading", first_lines), 60)
        ours = ids[10:]
        second = await _start(ours, emu.base_url, emu.api_key, redis)
        await asyncio.sleep(3)  # registered, following
        emu.complete_session(ours[0])  # seen and published by the first
        os.kill(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        for session_id in ours[1:5]:  # while nobody leads
            emu.complete_session(session_id)
        lines: list[str] = []
        await asyncio.wait_for(_lines_until(second, "leading", lines), 60)
        took_over = time.monotonic() - killed
        for session_id in ours[5:]:
            emu.complete_session(session_id)
        out, _ = await asyncio.wait_for(second.communicate(), 120)
        await first.wait()
        lines += out.decode().split("\n")
        reported = {line.split()[1] for line in lines if line.startswith("done ")}
        return took_over, len(set(ours) - reported)


async def _child(ids: list[str], base_url: str, key: str, redis: str) -> None:
    from zenhire_async import ZenHireClient, events
    from zenhire_async.redis import RedisCoordinator

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def hook(event: events.Event) -> None:
        if isinstance(event, events.LeaderChanged):
            say("leading" if event.leading else "not leading")

    coordinator = RedisCoordinator(redis) if redis != "none" else None
    async with ZenHireClient(
        api_key=key,
        base_url=base_url,
        rate_limit_per_minute=RATE,
        coordinator=coordinator,
        on_event=hook,
        allow_insecure_http=True,
    ) as zh:

        async def one(session_id: str) -> None:
            say(f"done {(await zh.sessions.await_completion(session_id)).id}")

        await asyncio.gather(*(one(session_id) for session_id in ids))
    if coordinator is not None:
        await coordinator.aclose()


if __name__ == "__main__":
    ids_file, *where = sys.argv[1:5]
    session_ids = Path(ids_file).read_text().split()
    os.unlink(ids_file)
    asyncio.run(_child(session_ids, *where))
