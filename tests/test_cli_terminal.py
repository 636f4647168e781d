"""The ``zenhire`` command in a real terminal: a tmux pane, read back with capture-pane.

In a pipe the command prints plain text (``test_cli_process``); in a terminal it draws a
rich table and, for downloads, a progress bar on stderr. Needs ``tmux``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import anyio
import pytest

from zenhire_async.testing import Emulator

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.real_time,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

DONE = "ZENHIRE-SCRIPT-DONE"


async def _run_in_tmux(tmp_path: Path, script: str) -> str:
    """Run ``script`` in a detached 120x40 tmux pane; return the pane's text once done."""
    # A detached pane starts at 80x24 and is resized a moment later: wait for the size.
    wait = 'until [ "$(stty size)" = "40 120" ]; do sleep 0.05; done\n'
    (tmp_path / "script.sh").write_text(wait + script + f"\necho {DONE}\nsleep 60\n")
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    await anyio.run_process(
        [*tmux, "new-session", "-d", "-x", "120", "-y", "40", "bash", str(tmp_path / "script.sh")]
    )
    try:
        with anyio.fail_after(60):
            while True:
                pane = (await anyio.run_process([*tmux, "capture-pane", "-p"])).stdout.decode()
                if DONE in pane:
                    return pane
                await anyio.sleep(0.2)
    finally:
        await anyio.run_process([*tmux, "kill-server"], check=False)


async def test_results_draws_a_progress_bar_and_list_a_table(tmp_path: Path) -> None:
    async with Emulator(recording_bytes=8_000_044) as emu:
        persona = emu.create_persona("Backend", "en")
        session_id = emu.create_session(persona, candidate_ref="ats-tty")
        emu.start_session(session_id)
        emu.complete_session(session_id, duration_sec=300)
        zenhire = f"{shlex.quote(sys.executable)} -m zenhire_async"
        script = "\n".join(
            [
                f"cd {shlex.quote(str(tmp_path))}",
                "unset PYTHONASYNCIODEBUG NO_COLOR COLUMNS LINES",
                f"export ZENHIRE_API_KEY={emu.api_key} ZENHIRE_BASE_URL={emu.base_url}",
                f"{zenhire} sessions list",
                f"{zenhire} results {session_id} --out res",
                "echo exit=$?",
            ]
        )
        pane = await _run_in_tmux(tmp_path, script)

    assert "exit=0" in pane, pane
    assert re.search(r"─{10,}", pane), pane  # the rich table's header rule
    assert "ats-tty" in pane and session_id in pane  # the id is never shortened
    bar = next((line for line in pane.splitlines() if "━" in line), None)
    assert bar is not None, pane
    assert bar.startswith(f"recording {session_id[:8]}")
    assert "8.0/8.0 MB" in bar  # the bar ended at the full size
    assert (tmp_path / "res" / f"{session_id}.wav").stat().st_size == 8_000_044


async def test_invite_draws_a_live_count_with_rate_and_counts(tmp_path: Path) -> None:
    async with Emulator() as emu:
        persona = emu.create_persona("Backend", "en")
        emu.faults.add("slow", method="POST", route="/personas/{id}/sessions", delay=0.1)
        rows = "".join(f"ats-{n},tty\n" for n in range(30))
        (tmp_path / "c.csv").write_text("candidate_ref,tags\n" + rows + ",\n", encoding="utf-8")
        zenhire = f"{shlex.quote(sys.executable)} -m zenhire_async"
        script = "\n".join(
            [
                f"cd {shlex.quote(str(tmp_path))}",
                "unset PYTHONASYNCIODEBUG NO_COLOR COLUMNS LINES",
                f"export ZENHIRE_API_KEY={emu.api_key} ZENHIRE_BASE_URL={emu.base_url}",
                f"{zenhire} invite --persona {persona} --csv c.csv --consent explicit "
                "--concurrency 2",
                "echo exit=$?",
            ]
        )
        pane = await _run_in_tmux(tmp_path, script)
        assert len(emu.sessions_of()) == 30

    assert "exit=3" in pane, pane  # the last row has no candidate_ref
    bar = next((line for line in pane.splitlines() if "━" in line), None)
    assert bar is not None, pane
    assert bar.startswith("invite ")
    assert re.search(r"31/31 +\d+\.\d/s +ETA - +created 30 +failed 1 +orphans 0", bar), bar
    assert "Invited: 30 created, 0 skipped (already invited), 1 failed, 0 orphans" in pane
    assert "#t=" not in pane  # links go to the file, never to the screen


async def test_watch_and_results_all_completed_draw_their_bars(tmp_path: Path) -> None:
    async with Emulator(recording_bytes=4_000_044) as emu:
        persona = emu.create_persona("Backend", "en")
        (tmp_path / "c.csv").write_text("candidate_ref\nats-1\nats-2\nats-3\n", encoding="utf-8")
        zenhire = f"{shlex.quote(sys.executable)} -m zenhire_async"
        env = [
            f"cd {shlex.quote(str(tmp_path))}",
            "unset PYTHONASYNCIODEBUG NO_COLOR COLUMNS LINES",
            f"export ZENHIRE_API_KEY={emu.api_key} ZENHIRE_BASE_URL={emu.base_url}",
        ]
        invite = f"{zenhire} invite --persona {persona} --csv c.csv --consent explicit"
        (tmp_path / "invite").mkdir()
        await _run_in_tmux(tmp_path / "invite", "\n".join([*env, invite]))
        ids = {s["candidate_ref"]: s["id"] for s in emu.sessions_of()}
        for ref in ("ats-1", "ats-2"):
            emu.start_session(ids[ref])
            emu.complete_session(ids[ref])
        emu.fail_session(ids["ats-3"])
        script = [
            *env,
            "clear",
            f"{zenhire} watch --journal c.journal.jsonl",
            "echo watch-exit=$?",
            f"{zenhire} results --all-completed --journal c.journal.jsonl --out res",
            "echo results-exit=$?",
        ]
        (tmp_path / "watch").mkdir()
        pane = await _run_in_tmux(tmp_path / "watch", "\n".join(script))

    assert "watch-exit=3" in pane and "results-exit=0" in pane, pane
    bars = [line for line in pane.splitlines() if "━" in line]
    # The rate sessions finish at, and why there is no ETA; the results' rate and ETA.
    watch = r"watch +━+ 3/3 +\d+\.\d/min +no ETA: candidates set the pace +completed 2 +failed 1"
    assert any(re.match(watch, bar) for bar in bars), pane
    results = r"results +━+ 2/2 +\d+\.\d/s +ETA - +saved 2 +present 0 +failed 0"
    assert any(re.match(results, bar) for bar in bars), pane
    assert "3 session(s): completed 2  failed 1" in pane
    assert len(list((tmp_path / "res").glob("*.wav"))) == 2
