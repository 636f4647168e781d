"""Bulk invites across jobs and workers, without a coordinator: ``shard=`` and
``skip_existing=`` against the emulator (virtual time). The claims in Redis are in
``test_redis_claims``."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from zenhire_async import BulkInviteError, BulkProgress, ServerError, ZenHireClient
from zenhire_async._bulk_fleet import shard_of
from zenhire_async.testing import Emulator

pytestmark = pytest.mark.anyio

LIST_ROUTE = "GET /sessions"
CREATE_ROUTE = "POST /personas/{id}/sessions"


def refs(n: int, prefix: str = "ats") -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


def sessions_by_ref(emu: Emulator, persona_id: str) -> Counter[str]:
    return Counter(s["candidate_ref"] for s in emu.sessions_of() if s["persona_id"] == persona_id)


def test_the_shard_is_the_pinned_hash_and_the_same_in_another_process() -> None:
    sample = [*refs(50), "ATS-1", " ats-1", "ünïcode-ref", "x" * 256]
    pinned = [int.from_bytes(hashlib.sha256(r.encode()).digest()[:8], "big") % 3 for r in sample]
    assert [shard_of(r, 3) for r in sample] == pinned
    script = (
        "import sys; from zenhire_async._bulk_fleet import shard_of; "
        "print(','.join(str(shard_of(r, 3)) for r in sys.argv[1:]))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, *sample],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.stdout.strip().split(",") == [str(s) for s in pinned]
    assert set(pinned) == {0, 1, 2}


async def test_three_shards_invite_every_row_exactly_once(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    rows = refs(300)
    reports = []
    for index in range(3):
        reports.append(
            await zh.sessions.bulk_invite(
                persona_id,
                [{"candidate_ref": r} for r in rows],
                consent_mode="explicit",
                journal=tmp_path / f"worker-{index}.jsonl",
                shard=(index, 3),
            )
        )
    by_ref = sessions_by_ref(emu, persona_id)
    assert sorted(by_ref) == sorted(rows) and set(by_ref.values()) == {1}
    assert sum(r.created for r in reports) == 300
    for index, report in enumerate(reports):
        mine = sum(1 for r in rows if shard_of(r, 3) == index)
        assert 0 < report.created == mine  # each shard's rows, none of the others
        assert report.other_shard == 300 - mine
        assert report.existing == [] and report.failed == []  # other shards' are not "existing"


async def test_a_second_job_with_a_new_journal_invites_no_one_and_lists_them_all(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    rows = refs(250)
    first = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in rows],
        consent_mode="explicit",
        journal=tmp_path / "first.jsonl",
    )
    assert first.created == 250
    ids = {s["candidate_ref"]: s["id"] for s in emu.sessions_of()}
    emu.reset_counts()
    progress: list[BulkProgress] = []
    second = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in rows],
        consent_mode="explicit",
        journal=tmp_path / "second.jsonl",
        on_progress=progress.append,
    )
    assert (second.created, second.skipped, second.failed) == (0, 0, [])
    assert sorted(second.existing) == sorted((r, ids[r]) for r in rows)
    counts = emu.request_counts
    assert counts[CREATE_ROUTE] == 0
    assert counts[LIST_ROUTE] <= math.ceil(250 / 100) + 1  # one walk, never one per row
    assert progress[-1].done == progress[-1].existing == 250
    assert sessions_by_ref(emu, persona_id) == Counter(rows)


async def test_failed_and_expired_sessions_are_invited_again_and_the_rest_are_not(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    other_persona = emu.create_persona("Designer")
    old = emu.create_session(persona_id, candidate_ref="old-initiated")
    await anyio.sleep(7 * 86_400 + 60)  # virtual time: its 7-day link has expired
    live = {
        "completed": emu.create_session(persona_id, candidate_ref="completed"),
        "active": emu.create_session(persona_id, candidate_ref="active"),
        "initiated": emu.create_session(persona_id, candidate_ref="initiated"),
    }
    emu.start_session(live["active"])
    emu.start_session(live["completed"])
    emu.complete_session(live["completed"])
    failed = emu.create_session(persona_id, candidate_ref="failed")
    emu.fail_session(failed)
    emu.create_session(other_persona, candidate_ref="other-persona")
    emu.create_session(persona_id, candidate_ref="case")  # refs are exact: "CASE" is new
    rows = ["old-initiated", *live, "failed", "other-persona", "CASE", "new"]
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in rows],
        consent_mode="explicit",
        journal=tmp_path / "j.jsonl",
    )
    assert sorted(report.existing) == sorted(live.items())
    assert report.created == 5  # old-initiated, failed, other-persona, CASE, new
    assert old != failed
    by_ref = sessions_by_ref(emu, persona_id)
    assert by_ref["old-initiated"] == by_ref["failed"] == 2
    assert all(by_ref[r] == 1 for r in live)


async def test_a_link_expiry_this_client_received_decides_over_seven_days(
    emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    emu.faults.add("patched_answer", count=1, route=CREATE_ROUTE, patch={"expires_in": 3600})
    async with ZenHireClient(api_key=emu.api_key, base_url=emu.base_url) as zh:
        await zh.sessions.create(persona_id, consent_mode="explicit", candidate_ref="a")
        await zh.sessions.create(persona_id, consent_mode="explicit", candidate_ref="b")
        await anyio.sleep(3601)  # a's one-hour link has expired; b's 7-day link has not
        report = await zh.sessions.bulk_invite(
            persona_id,
            [{"candidate_ref": "a"}, {"candidate_ref": "b"}],
            consent_mode="explicit",
            journal=tmp_path / "j",
        )
    assert report.created == 1  # a, expired by the expires_in this client received
    assert [ref for ref, _ in report.existing] == ["b"]


async def test_skip_existing_false_invites_again_as_before(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    emu.create_session(persona_id, candidate_ref="ats-0")
    emu.reset_counts()
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": "ats-0"}],
        consent_mode="explicit",
        journal=tmp_path / "j.jsonl",
        skip_existing=False,
    )
    assert (report.created, report.existing) == (1, [])
    assert emu.request_counts[LIST_ROUTE] == 0
    assert sessions_by_ref(emu, persona_id)["ats-0"] == 2


@pytest.mark.parametrize(
    ("shard", "error", "match"),
    [
        ((3, 3), ValueError, "index must be from 0 to 2"),
        ((-1, 3), ValueError, "index must be from 0 to 2"),
        ((0, 0), ValueError, "count must be at least 1"),
        ((True, 2), TypeError, "index must be an integer"),
        ((0, True), TypeError, "count must be an integer"),
        ((0.0, 2), TypeError, "index must be an integer"),
        ("0/3", TypeError, "a pair"),
        ((1,), TypeError, "a pair"),
        (3, TypeError, "a pair"),
    ],
)
async def test_bad_shards_are_refused_before_any_request(
    zh: ZenHireClient,
    emu: Emulator,
    tmp_path: Path,
    shard: object,
    error: type[Exception],
    match: str,
) -> None:
    persona_id = emu.create_persona()
    emu.reset_counts()
    with pytest.raises(error, match=match):
        await zh.sessions.bulk_invite(
            persona_id,
            [{"candidate_ref": "a"}],
            consent_mode="explicit",
            journal=tmp_path / "j.jsonl",
            shard=shard,  # type: ignore[arg-type]
        )
    with pytest.raises(TypeError, match="skip_existing"):
        await zh.sessions.bulk_invite(
            persona_id,
            [{"candidate_ref": "a"}],
            consent_mode="explicit",
            journal=tmp_path / "j.jsonl",
            skip_existing="yes",  # type: ignore[arg-type]
        )
    assert emu.total_requests == 0
    assert not (tmp_path / "j.jsonl").exists()


async def test_a_listing_that_fails_stops_the_job_before_any_create(
    zh: ZenHireClient, emu: Emulator, tmp_path: Path
) -> None:
    persona_id = emu.create_persona()
    emu.faults.add("500", route=LIST_ROUTE)  # every attempt, retries included
    with pytest.raises(BulkInviteError, match="0 created") as stopped:
        await zh.sessions.bulk_invite(
            persona_id,
            [{"candidate_ref": r} for r in refs(5)],
            consent_mode="explicit",
            journal=tmp_path / "j.jsonl",
        )
    assert isinstance(stopped.value.__cause__, ServerError)
    assert emu.request_counts[CREATE_ROUTE] == 0  # never invited without the check
    emu.faults.clear()
    report = await zh.sessions.bulk_invite(
        persona_id,
        [{"candidate_ref": r} for r in refs(5)],
        consent_mode="explicit",
        journal=tmp_path / "j.jsonl",
    )
    assert report.created == 5  # the same command again goes on
