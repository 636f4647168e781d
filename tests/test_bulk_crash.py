"""Crash and resume: a child process running a bulk invite is SIGKILLed at random moments.

The emulator runs in this (the parent) process on a real-time loop; each round starts a
child on the same journal and kills it after a random delay. A last run goes to the end.
The job must then satisfy every invariant of ``check_job_invariants``: one recorded link per
ref, every other session of the job journaled as an orphan (including sessions whose answer
reached a child that was killed before journaling it: their link died with the process).
Set ``ZH_CRASH_SEED`` to replay a run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from bulk_support import check_job_invariants

from zenhire_async import ZenHireClient
from zenhire_async.testing import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.real_time]

CHILD = Path(__file__).with_name("bulk_crash_child.py")
ROWS = 400
ROUNDS = 8


async def test_sigkilled_jobs_resume_to_the_same_invariants(
    emu: Emulator, zh: ZenHireClient, tmp_path: Path
) -> None:
    seed = int(os.environ.get("ZH_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    persona_id = (await zh.personas.create("Engineer", "en")).id
    emu.faults.add("lost_response", rate=0.05)
    emu.faults.add("truncated", rate=0.03)
    emu.faults.add("reset", rate=0.02)
    emu.faults.add("500", rate=0.02)
    journal = tmp_path / "invites.jsonl"
    argv = [sys.executable, str(CHILD), emu.base_url, emu.api_key, persona_id, str(journal)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = 0
    for _ in range(ROUNDS):
        async with await anyio.open_process(
            [*argv, str(ROWS)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        ) as child:
            with anyio.move_on_after(rng.uniform(0.3, 1.5)):
                await child.wait()
            if child.returncode is None:
                child.kill()
                killed += 1
            await child.wait()
    assert killed >= ROUNDS // 2, f"the children finished too early (seed {seed})"
    done = await anyio.run_process([*argv, str(ROWS)], env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"failed=0" in done.stdout, done.stdout
    counts = check_job_invariants(emu, journal, [f"ats-{i}" for i in range(ROWS)])
    assert counts["orphans"] >= len(emu.undelivered_session_ids) > 0, f"seed {seed}"
