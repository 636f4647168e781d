"""The examples and the README's quickstart run as written, against the emulator.

Each runs in this test's virtual-time loop with ``ZENHIRE_API_KEY``/``ZENHIRE_BASE_URL``
pointing at an emulator whose simulated candidates take real-looking minutes, so the
examples' own polling runs with its real cadence in milliseconds.
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import aiohttp
import anyio
import pytest
from aiohttp import web
from redis_support import RedisServer

from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def simulated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Emulator]:
    """An emulator whose candidates all show up and finish, exported to the environment."""
    simulation = Simulation(open_delay=(30, 300), duration=(120, 900), fail_probability=0.0)
    async with Emulator(simulation=simulation, seed=3) as emu:
        monkeypatch.setenv("ZENHIRE_API_KEY", emu.api_key)
        monkeypatch.setenv("ZENHIRE_BASE_URL", emu.base_url)
        monkeypatch.delenv("ZENHIRE_PERSONA_ID", raising=False)
        monkeypatch.chdir(tmp_path)
        yield emu


def _check_quickstart_output(out: str, emu: Emulator, tmp_path: Path) -> None:
    (session,) = emu.sessions_of()
    assert f"Send this to the candidate: {emu.links[session['id']]}" in out
    assert session["status"] == "completed" and "completed" in out
    (turn, *_) = emu.transcript(session["id"]) or []
    assert f"{turn['speaker']}: {turn['text']}" in out
    wav = tmp_path / "interview.wav"
    assert wav.stat().st_size == emu.recording_bytes
    assert stat.S_IMODE(wav.stat().st_mode) == 0o600


async def test_quickstart_example(
    simulated: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main = cast(Callable[[], Coroutine[Any, Any, None]], _load("quickstart").main)
    await main()
    out = capsys.readouterr().out
    _check_quickstart_output(out, simulated, tmp_path)
    assert "status: active" in out and "status: completed" in out
    assert "Saved the recording to interview.wav" in out


def _readme_quickstart() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the Quickstart section has no python block"
    return match.group(1)


async def test_readme_quickstart_runs_as_written(
    simulated: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = _readme_quickstart()
    # Everything runs as written except the last line, ``asyncio.run(main())``: this test is
    # already inside the (virtual-time) event loop, so it awaits ``main()`` itself.
    body, last = code.rstrip().rsplit("\n", 1)
    assert last == "asyncio.run(main())"
    namespace: dict[str, Any] = {"__name__": "readme_quickstart"}
    exec(compile(body, "README.md#quickstart", "exec"), namespace)  # noqa: S102
    await namespace["main"]()
    _check_quickstart_output(capsys.readouterr().out, simulated, tmp_path)


async def test_batch_job_example_invites_waits_downloads_and_resumes(
    simulated: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    example = _load("batch_job")
    refs = [f"ats-{n:02d}" for n in range(12)]
    source = tmp_path / "candidates.csv"
    source.write_text(
        "candidate_ref,tags\n" + "".join(f"{ref},q3;batch\n" for ref in refs), encoding="utf-8"
    )
    job = tmp_path / "job"
    statuses = await example.run_batch(source, job)
    out = capsys.readouterr().out
    assert statuses == dict.fromkeys(refs, "completed")
    assert "12 invited, 0 already had a link" in out
    assert "Saved the results of 12 interviews" in out
    sessions = {s["candidate_ref"]: s for s in simulated.sessions_of()}
    assert sorted(sessions) == refs and sessions["ats-00"]["tags"] == ["q3", "batch"]
    links = job / "links.csv"
    assert stat.S_IMODE(links.stat().st_mode) == 0o600
    assert stat.S_IMODE(job.stat().st_mode) == stat.S_IMODE((job / "results").stat().st_mode)
    assert stat.S_IMODE(job.stat().st_mode) & 0o077 == 0
    assert len(links.read_text().splitlines()) == 13
    wavs = sorted((job / "results").glob("*.wav"))
    assert len(wavs) == 12 and all(w.stat().st_size == simulated.recording_bytes for w in wavs)

    # Run again: nobody is invited twice and nothing is downloaded twice.
    simulated.reset_counts()
    assert await example.run_batch(source, job) == statuses
    out = capsys.readouterr().out
    assert "0 invited, 12 already had a link" in out
    assert "Saved the results of 0 interviews" in out
    assert len(simulated.sessions_of()) == 12
    assert not any("recording" in route for route in simulated.request_counts)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def test_web_service_example(simulated: Emulator) -> None:
    example = _load("web_service")
    app = example.create_app()
    runner, url = await _serve(app)
    try:
        async with aiohttp.ClientSession(url) as http:
            async with http.post("/candidates/ats-1/interview") as resp:
                assert resp.status == 201
                created = await resp.json()
            assert simulated.links[created["session_id"]] == created["candidate_link"]
            async with http.post("/candidates/ats-1/interview") as resp:
                assert resp.status == 409  # never two links for one candidate

            # The handler answered at once; the app's background task does the waiting.
            with anyio.fail_after(3 * 3600):
                while True:
                    async with http.get("/candidates/ats-1/interview") as resp:
                        state = await resp.json()
                    if state["status"] == "completed":
                        break
                    await anyio.sleep(60)
        assert state["error"] is None and state["transcript_turns"] > 0
        session = simulated.session(created["session_id"])
        assert state["duration_sec"] == session["duration_sec"]
    finally:
        await runner.cleanup()


async def test_web_service_shutdown_stops_pending_waits(simulated: Emulator) -> None:
    example = _load("web_service")
    app = example.create_app()
    runner, url = await _serve(app)
    async with aiohttp.ClientSession(url) as http:
        for ref in ("ats-1", "ats-2"):
            async with http.post(f"/candidates/{ref}/interview") as resp:
                assert resp.status == 201
    services = app[example.SERVICES]
    tasks = set(services.tasks)
    assert len(tasks) == 2 and not any(task.done() for task in tasks)
    await runner.cleanup()  # while both interviews are still pending
    assert all(task.cancelled() for task in tasks) and not services.tasks
    assert services.client.closed


@pytest.mark.real_time  # it waits for a child process: real time only
async def test_the_pytest_example_passes() -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               str(EXAMPLES / "test_with_emulator.py")]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}  # a user's run
    with anyio.fail_after(120):
        result = await anyio.run_process(command, cwd=ROOT, env=env, check=False)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert re.search(r"\b4 passed\b", out), out


@pytest.mark.real_time  # worker processes and a real redis-server: real time only
async def test_the_fleet_worker_example_shares_one_budget(redis_server: RedisServer) -> None:
    # The emulator allows what one client at 1,200/min may send in any 3 s (76 requests):
    # three workers pacing alone at that rate would send three times as much.
    async with Emulator(rate_limit_per_minute=76, rate_limit_window=3.0) as emu:
        command = [sys.executable, str(EXAMPLES / "fleet_worker.py"), "--workers", "3",
                   "--candidates", "60", "--rate", "1200", "--redis", redis_server.url]  # fmt: skip
        env = {**os.environ, "ZENHIRE_API_KEY": emu.api_key, "ZENHIRE_BASE_URL": emu.base_url}
        with anyio.fail_after(120):
            result = await anyio.run_process(command, cwd=ROOT, env=env, check=False)
        refs = sorted(s["candidate_ref"] for s in emu.sessions_of())
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "3 workers invited 60 of 60 candidates on one key: 0 answers were 429" in out
    for index in range(3):
        # "(shared budget)" too, unless a Redis call took over 1 s on a loaded machine
        assert f"worker {index}: invited 20, 0 answers were 429 (" in out
    assert refs == sorted(f"fleet-{n}" for n in range(60))  # each candidate invited once
