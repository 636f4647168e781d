"""Realistic response bodies, generated deterministically.

Rows look like production ones: UUIDs, ISO timestamps with milliseconds and ``Z``, a mix of
statuses (so some timestamps, keys and counters are null), tags on most rows, metadata with
strings, numbers and booleans on some, ATS references, persona names on list rows.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_EPOCH = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
_ROLES = ("Backend Engineer", "Account Executive", "Data Analyst", "Nurse (ICU)", "Barista")
_LANGUAGES = ("en", "de", "fr", "es", "pt-BR")
_TAGS = ("spring-2026", "eu", "remote", "senior", "referral", "campus", "night-shift")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def session_summary(rng: random.Random, client_id: str) -> dict[str, Any]:
    """One ``SessionSummary`` list row as the server sends it."""
    status = rng.choices(("completed", "failed", "active", "initiated"), (6, 1, 1, 2))[0]
    created = _EPOCH + timedelta(milliseconds=rng.randrange(30 * 86_400_000))
    started = (
        created + timedelta(seconds=rng.randrange(60, 86_400)) if status != "initiated" else None
    )
    ended = status in ("completed", "failed")
    completed = started + timedelta(seconds=rng.randrange(300, 2400)) if started and ended else None
    duration = int((completed - started).total_seconds()) if completed and started else None
    session_id = _uuid(rng)
    done = status == "completed"
    return {
        "id": session_id,
        "client_id": client_id,
        "persona_id": _uuid(rng),
        "candidate_ref": f"ats-{rng.randrange(10**6):06d}",
        "status": status,
        "consent_mode": rng.choice(("explicit", "integrator")),
        "source": "requests",
        "project_id": _uuid(rng) if rng.random() < 0.5 else None,
        "tags": rng.sample(_TAGS, rng.randrange(1, 4)) if rng.random() < 0.8 else None,
        "metadata": (
            {
                "requisition": f"REQ-{rng.randrange(10**4)}",
                "round": rng.randrange(1, 4),
                "score_hint": round(rng.random() * 100, 2),
                "priority": rng.random() < 0.3,
            }
            if rng.random() < 0.6
            else None
        ),
        "started_at": _ts(started) if started else None,
        "completed_at": _ts(completed) if completed else None,
        "duration_sec": duration,
        "credit_charged": -(-duration // 60) if done and duration else None,
        "recording_s3_key": f"recordings/{client_id}/{session_id}.wav" if done else None,
        "transcript_s3_key": f"transcripts/{client_id}/{session_id}.json" if done else None,
        "interview_svc_session_id": f"isvc_{rng.getrandbits(64):016x}" if done else None,
        "created_at": _ts(created),
        "role_name": rng.choice(_ROLES),
        "language": rng.choice(_LANGUAGES),
    }


def session_page(rows: int, *, seed: int = 6) -> bytes:
    """A ``GET /sessions`` page of ``rows`` rows, in the contract's flat envelope."""
    rng = random.Random(seed)
    client_id = _uuid(rng)
    data = [session_summary(rng, client_id) for _ in range(rows)]
    envelope = {"data": data, "limit": rows, "offset": 0, "total": 25_000, "has_more": True}
    return orjson.dumps(envelope)


def session_detail(*, seed: int = 6) -> bytes:
    """A completed ``GET /sessions/{id}`` body, with persona and feedback."""
    rng = random.Random(seed)
    row = session_summary(rng, _uuid(rng))
    while row["status"] != "completed":
        row = session_summary(rng, row["client_id"])
    del row["role_name"], row["language"]  # list rows only
    row["persona"] = {
        "id": row["persona_id"],
        "role_name": "Backend Engineer",
        "language": "en",
        "system_prompt": "You are a friendly, rigorous interviewer for a backend role. " * 8,
        "base_prompt_override": None,
    }
    row["feedback"] = {
        "rating": 4,
        "comment": "Clear questions, good pace.",
        "submitted_at": row["completed_at"],
        "flagged": False,
    }
    return orjson.dumps(row)
