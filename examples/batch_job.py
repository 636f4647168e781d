"""Batch job: invite a CSV of candidates, wait for all of them, download every result.

Resumable: every link is written to a journal before a row counts as done, so after a
crash, a Ctrl-C or a fatal error, run the same command again: rows that have a link are
skipped, results already downloaded are kept. Against the emulator, in two terminals:

    zenhire emulator --simulate          # prints the two export lines
    export ZENHIRE_BASE_URL=http://127.0.0.1:8080 ZENHIRE_API_KEY=zh_api_…
    python examples/batch_job.py candidates.csv job/

``candidates.csv`` has a ``candidate_ref`` column and optionally ``tags`` (``;``-separated).
Everything the job writes goes to ``job/``: ``invites.jsonl`` (the journal),
``links.csv`` (the links to send, mode 0600) and ``results/`` (transcripts and recordings).
The ``zenhire invite``, ``watch`` and ``results --all-completed`` commands do the same.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from zenhire_async import (
    BulkProgress,
    Candidate,
    CreatedRecord,
    JobRecord,
    ZenHireClient,
    export_links_csv,
    read_journal,
)

DOWNLOADS_AT_ONCE = 4


def read_candidates(path: Path) -> Iterator[Candidate]:
    """The CSV's rows, one at a time (a big file is never loaded whole)."""
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tags = [tag for tag in (row.get("tags") or "").split(";") if tag]
            yield Candidate(candidate_ref=row["candidate_ref"], tags=tags or None)


def journal_persona(journal: Path) -> str | None:
    """The persona of an earlier run of this job (its journal's first record), if any."""
    if not journal.exists():
        return None
    first = next(read_journal(journal), None)
    return first.persona_id if isinstance(first, JobRecord) else None


def created_sessions(journal: Path) -> dict[str, str]:
    """Session id → candidate_ref of every row that got a link."""
    return {
        record.session_id: record.candidate_ref
        for record in read_journal(journal)
        if isinstance(record, CreatedRecord)
    }


def show_progress(progress: BulkProgress) -> None:
    """Print the invite's counts (called about once a second)."""
    print(f"  invited {progress.created}, skipped {progress.skipped}, failed {progress.failed}")


async def save_results(zh: ZenHireClient, session_id: str, out_dir: Path) -> bool:
    """Save one session's transcript and recording; ``False`` when already saved."""
    transcript_path = out_dir / f"{session_id}.transcript.json"
    recording_path = out_dir / f"{session_id}.wav"
    if await asyncio.to_thread(recording_path.exists):
        return False  # downloads are atomic: a file that exists is complete
    transcript = await zh.sessions.transcript(session_id)
    await asyncio.to_thread(transcript_path.write_text, json.dumps(transcript.raw, indent=2))
    await zh.sessions.download_recording(session_id, recording_path)
    return True


async def run_batch(csv_path: Path, work_dir: Path) -> dict[str, str]:
    """Invite, watch and download; return every session's final status by candidate_ref."""
    journal = work_dir / "invites.jsonl"
    # Links, transcripts and recordings are personal data: keep the job's files private.
    await asyncio.to_thread(work_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
    async with ZenHireClient() as zh:  # $ZENHIRE_API_KEY, $ZENHIRE_BASE_URL
        persona_id = await asyncio.to_thread(journal_persona, journal)
        if persona_id is None:
            persona_id = (await zh.personas.create("Senior Backend Engineer", "en")).id

        print(f"Inviting the candidates of {csv_path} (journal {journal})")
        report = await zh.sessions.bulk_invite(
            persona_id,
            read_candidates(csv_path),
            consent_mode="explicit",
            journal=journal,
            on_progress=show_progress,
        )
        print(f"{report.created} invited, {report.skipped} already had a link")
        for failure in report.failed:
            print(f"  no link for {failure.candidate_ref}: {failure.code} {failure.message}")
        links = work_dir / "links.csv"
        count = await asyncio.to_thread(export_links_csv, journal, links)
        print(f"{count} links to send are in {links}")

        refs = await asyncio.to_thread(created_sessions, journal)
        statuses: dict[str, str] = {}
        print(f"Waiting for {len(refs)} interviews…")
        watch = zh.sessions.watch(refs)
        async for row in watch:
            statuses[row.id] = row.status
            print(f"  {refs[row.id]}: {row.status}")
        for session_id in watch.expired:
            statuses[session_id] = "expired"  # the candidate never opened the link

        out_dir = work_dir / "results"
        await asyncio.to_thread(out_dir.mkdir, mode=0o700, exist_ok=True)
        slots = asyncio.Semaphore(DOWNLOADS_AT_ONCE)

        async def fetch(session_id: str) -> bool:
            async with slots:
                return await save_results(zh, session_id, out_dir)

        completed = [sid for sid, status in statuses.items() if status == "completed"]
        saved = await asyncio.gather(*(fetch(sid) for sid in completed))
        print(f"Saved the results of {sum(saved)} interviews to {out_dir}")
        return {refs[sid]: status for sid, status in statuses.items()}


def main() -> None:
    """``python examples/batch_job.py CSV WORK_DIR``."""
    if len(sys.argv) != 3:
        sys.exit("usage: python examples/batch_job.py candidates.csv WORK_DIR")
    statuses = asyncio.run(run_batch(Path(sys.argv[1]), Path(sys.argv[2])))
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
