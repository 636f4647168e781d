"""Child process of the crash test: run one bulk invite until it ends or is SIGKILLed.

Usage: python bulk_crash_child.py BASE_URL API_KEY PERSONA_ID JOURNAL ROWS
"""

from __future__ import annotations

import sys

import anyio

from zenhire_async import ZenHireClient


async def main(base_url: str, api_key: str, persona_id: str, journal: str, rows: int) -> None:
    async with ZenHireClient(api_key=api_key, base_url=base_url, rate_limit_per_minute=3000) as zh:
        report = await zh.sessions.bulk_invite(
            persona_id,
            ({"candidate_ref": f"ats-{i}"} for i in range(rows)),
            consent_mode="explicit",
            journal=journal,
            concurrency=8,
        )
    print(f"created={report.created} skipped={report.skipped} failed={len(report.failed)}")


if __name__ == "__main__":
    base_url, api_key, persona_id, journal, rows = sys.argv[1:6]
    anyio.run(main, base_url, api_key, persona_id, journal, int(rows))
