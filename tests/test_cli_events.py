"""``zenhire invite|watch|results --events FILE``: the events as JSON lines, mode 0600."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_support import Captured, zenhire

from zenhire_async.testing import Emulator, Simulation

pytestmark = pytest.mark.anyio


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.real_time  # the events file is opened and closed in a thread
async def test_invite_then_watch_append_their_events(capsys: Captured, tmp_path: Path) -> None:
    simulation = Simulation(fail_probability=0.0, open_delay=(1, 3), duration=(1, 3))
    async with Emulator(simulation=simulation, seed=2) as emu:
        source = tmp_path / "c.csv"
        source.write_text("candidate_ref\n" + "".join(f"ats-{n}\n" for n in range(3)))
        record = tmp_path / "events.jsonl"
        persona_id = emu.create_persona("Backend", "en")
        code, _, err = await zenhire(
            emu, capsys, "invite", "--persona", persona_id, "--csv", str(source),
            "--consent", "explicit", "--events", str(record),
        )  # fmt: skip
        assert code == 0, err
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        invited = _lines(record)
        kinds = {line["event"] for line in invited}
        assert {"CallStarted", "RequestSent", "ResponseReceived", "CallEnded"} <= kinds
        rows = [line for line in invited if line["event"] == "BulkRowFinished"]
        assert [line["outcome"] for line in rows] == ["created"] * 3
        assert all(
            isinstance(line["time"], str) and isinstance(line["at"], float) for line in invited
        )

        journal = tmp_path / "c.journal.jsonl"
        code, _, err = await zenhire(
            emu, capsys, "watch", "--journal", str(journal), "--events", str(record)
        )
        assert code == 0, err
        everything = _lines(record)
        assert everything[: len(invited)] == invited  # appended, not replaced
        changes = [line for line in everything if line["event"] == "StatusChanged"]
        finals = {line["session_id"]: line["new"] for line in changes}
        assert len(finals) == 3 and set(finals.values()) == {"completed"}
        text = record.read_text(encoding="utf-8")
        assert emu.api_key not in text
        assert not any(link in text for link in emu.links.values())


@pytest.mark.real_time
async def test_events_file_never_follows_a_symlink(
    emu: Emulator, capsys: Captured, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n")
    link = tmp_path / "events.jsonl"
    os.symlink(target, link)
    code, _, err = await zenhire(emu, capsys, "results", "sess_x", "--events", str(link))
    assert code == 2
    assert "--events" in err
    assert target.read_text() == "keep me\n"
