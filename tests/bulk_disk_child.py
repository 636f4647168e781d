"""Child process of the full-disk test: a bulk invite whose journal hits RLIMIT_FSIZE.

Usage: python bulk_disk_child.py BASE_URL API_KEY PERSONA_ID JOURNAL ROWS LIMIT_BYTES

Files this process writes may not grow past LIMIT_BYTES (SIGXFSZ ignored, so a write past it
fails with a real ``EFBIG``). Prints one JSON line: what ``bulk_invite`` raised, its cause's
errno, the partial report's counts, and the journal's size.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

import anyio

from zenhire_async import BulkInviteError, ZenHireClient


async def main(
    base_url: str, api_key: str, persona_id: str, journal: str, rows: int, limit: int
) -> dict[str, object]:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    outcome: dict[str, object] = {}
    async with ZenHireClient(api_key=api_key, base_url=base_url, rate_limit_per_minute=3000) as zh:
        try:
            report = await zh.sessions.bulk_invite(
                persona_id,
                ({"candidate_ref": f"ats-{i}"} for i in range(rows)),
                consent_mode="explicit",
                journal=journal,
                concurrency=4,
            )
        except BulkInviteError as exc:
            cause = exc.__cause__
            outcome = {
                "raised": type(exc).__name__,
                "cause": type(cause).__name__,
                "errno": getattr(cause, "errno", None),
                "created": exc.report.created,
                "failed": len(exc.report.failed),
            }
        except BaseException as exc:  # what the parent must not see: report it, don't die
            outcome = {"raised": type(exc).__name__, "detail": repr(exc)[:500]}
        else:
            outcome = {"raised": None, "created": report.created}
    return outcome


if __name__ == "__main__":
    url, key, persona, path, n, size = sys.argv[1:7]
    result = anyio.run(main, url, key, persona, path, int(n), int(size))
    result["size"] = os.path.getsize(path)
    print(json.dumps(result))
