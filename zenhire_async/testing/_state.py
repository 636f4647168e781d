"""The emulator's pure state: tenants, personas, sessions, transitions and queries.

Theory of operation
-------------------
Each session keeps its JSON document (``doc``, every SessionSummary field except the two
persona-derived ones) and, for the ``stale_read`` fault, a snapshot of the document as it
was before its last transition (``prev_doc``). Every tenant keeps the keys
``(created_ms, id)`` of its sessions in an ascending sorted list, plus one such list per
status, and inverted indexes (persona, candidate_ref, tag, metadata value) of the fields
that never change after creation; ``_query`` turns them into newest-first pages. Nothing
here reads a clock: every change is given its time in epoch milliseconds.
"""

from __future__ import annotations

import bisect
import copy
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from ._clock import format_ms
from ._validation import STATUSES

__all__ = ["PersonaRecord", "SessionRecord", "Store", "TenantState", "metadata_texts"]

JSON = dict[str, Any]
Key = tuple[int, str]
LINK_TTL_SECONDS = 604_800
PROMPT_TEMPLATE = (
    "You are a friendly, professional interviewer for the role of {role}. Conduct the "
    "interview in the language '{language}'. Ask one question at a time, follow up on "
    "vague answers, and keep the conversation on topic."
)


@dataclass(eq=False, slots=True)
class PersonaRecord:
    """One persona, as stored."""

    id: str
    client_id: str
    role_name: str
    language: str
    system_prompt: str
    base_prompt_override: str | None
    created_ms: int
    updated_ms: int | None = None

    def row(self) -> JSON:
        """The list-row form (no ``base_prompt_override``)."""
        return {
            "id": self.id,
            "client_id": self.client_id,
            "role_name": self.role_name,
            "language": self.language,
            "status": "active",
            "created_at": format_ms(self.created_ms),
        }

    def created(self) -> JSON:
        """The ``POST /personas`` response."""
        return {**self.row(), "base_prompt_override": self.base_prompt_override}

    def detail(self) -> JSON:
        """The ``GET /personas/{id}`` response."""
        updated = None if self.updated_ms is None else format_ms(self.updated_ms)
        return {**self.created(), "system_prompt": self.system_prompt, "updated_at": updated}


@dataclass(eq=False, slots=True)
class SessionRecord:
    """One session: its JSON document plus what the API never shows directly."""

    id: str
    tenant: TenantState
    created_ms: int
    doc: JSON
    link: str
    prev_doc: JSON | None = None
    feedback: JSON | None = None
    transcript: list[JSON] | None = None
    generation: int = 0

    @property
    def key(self) -> Key:
        """The sort key: creation millisecond, then id."""
        return (self.created_ms, self.id)

    @property
    def status(self) -> str:
        """The current status."""
        return str(self.doc["status"])

    def link_expires_ms(self) -> int:
        """When an unused candidate link stops working."""
        return self.created_ms + LINK_TTL_SECONDS * 1000


@dataclass(eq=False)
class TenantState:
    """One client: its credits, permissions, personas and session indexes."""

    client_id: str
    project_id: str | None
    credits: int
    permissions: frozenset[str]
    active: bool = True
    persona_keys: list[Key] = field(default_factory=list)
    session_keys: list[Key] = field(default_factory=list)
    by_status: dict[str, list[Key]] = field(
        default_factory=lambda: {status: [] for status in STATUSES}
    )
    by_persona: dict[str, set[str]] = field(default_factory=dict)
    by_ref: dict[str, set[str]] = field(default_factory=dict)
    by_tag: dict[str, set[str]] = field(default_factory=dict)
    by_meta: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @property
    def live(self) -> int:
        """How many sessions are ``active`` (live interviews)."""
        return len(self.by_status["active"])


class Store:
    """All tenants, personas and sessions of one emulator."""

    def __init__(self, seed: int = 0) -> None:
        self._ids = random.Random(f"ids:{seed}")
        self.personas: dict[str, PersonaRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.tenants: list[TenantState] = []
        self.credit_rate_per_minute = 1

    def new_id(self) -> str:
        """A deterministic random UUID4 string."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def add_tenant(
        self, credits: int, permissions: frozenset[str], project_id: str | None
    ) -> TenantState:
        """Register a client."""
        tenant = TenantState(self.new_id(), project_id, credits, permissions)
        self.tenants.append(tenant)
        return tenant

    def create_persona(self, tenant: TenantState, fields: JSON, now_ms: int) -> PersonaRecord:
        """Store a persona from validated fields."""
        prompt = fields.get("system_prompt") or PROMPT_TEMPLATE.format(
            role=fields["role_name"], language=fields["language"]
        )
        rec = PersonaRecord(
            id=self.new_id(),
            client_id=tenant.client_id,
            role_name=fields["role_name"],
            language=fields["language"],
            system_prompt=prompt,
            base_prompt_override=fields.get("base_prompt_override"),
            created_ms=now_ms,
        )
        self.personas[rec.id] = rec
        bisect.insort(tenant.persona_keys, (now_ms, rec.id))
        return rec

    def delete_persona(self, persona_id: str) -> None:
        """Remove a persona; its sessions keep pointing at the dangling id."""
        rec = self.personas.pop(persona_id)
        tenant = next(t for t in self.tenants if t.client_id == rec.client_id)
        tenant.persona_keys.remove((rec.created_ms, rec.id))

    def create_session(
        self, tenant: TenantState, persona: PersonaRecord, fields: JSON, now_ms: int, link: str
    ) -> SessionRecord:
        """Store a new ``initiated`` session from validated fields."""
        ident = self.new_id()
        doc: JSON = {
            "id": ident,
            "client_id": tenant.client_id,
            "persona_id": persona.id,
            "candidate_ref": fields.get("candidate_ref"),
            "status": "initiated",
            "consent_mode": fields["consent_mode"],
            "source": "requests",
            "project_id": tenant.project_id,
            "tags": fields.get("tags"),
            "metadata": fields.get("metadata"),
            "started_at": None,
            "completed_at": None,
            "duration_sec": None,
            "credit_charged": None,
            "recording_s3_key": None,
            "transcript_s3_key": None,
            "interview_svc_session_id": None,
            "created_at": format_ms(now_ms),
        }
        rec = SessionRecord(ident, tenant, now_ms, doc, link)
        self.sessions[ident] = rec
        bisect.insort(tenant.session_keys, rec.key)
        bisect.insort(tenant.by_status["initiated"], rec.key)
        tenant.by_persona.setdefault(persona.id, set()).add(ident)
        if doc["candidate_ref"] is not None:
            tenant.by_ref.setdefault(doc["candidate_ref"], set()).add(ident)
        for tag in doc["tags"] or ():
            tenant.by_tag.setdefault(tag, set()).add(ident)
        for name, value in (doc["metadata"] or {}).items():
            for text in metadata_texts(value):
                tenant.by_meta.setdefault((name, text), set()).add(ident)
        return rec

    def _transition(self, rec: SessionRecord, status: str, **updates: Any) -> None:
        index = rec.tenant.by_status
        old = index[rec.status]
        del old[bisect.bisect_left(old, rec.key)]
        bisect.insort(index[status], rec.key)
        rec.prev_doc = copy.copy(rec.doc)
        rec.doc.update(updates, status=status)
        rec.generation += 1

    def start(self, rec: SessionRecord, at_ms: int) -> None:
        """``initiated`` → ``active``."""
        if rec.status != "initiated":
            raise ValueError(f"session {rec.id} is {rec.status}, not initiated")
        self._transition(rec, "active", started_at=format_ms(at_ms))

    def fail(self, rec: SessionRecord, at_ms: int) -> None:
        """``initiated``/``active`` → ``failed`` (never charged; ``completed_at`` stays null)."""
        if rec.status not in ("initiated", "active"):
            raise ValueError(f"session {rec.id} is already {rec.status}")
        self._transition(rec, "failed")

    def complete(
        self,
        rec: SessionRecord,
        at_ms: int,
        duration_sec: int,
        rating: int | None = None,
        comment: str | None = None,
    ) -> None:
        """``initiated``/``active`` → ``completed``: artefacts, charge and feedback."""
        if rec.status not in ("initiated", "active"):
            raise ValueError(f"session {rec.id} is already {rec.status}")
        if duration_sec < 0:
            raise ValueError("duration_sec must be >= 0")
        if rating is not None and not 1 <= rating <= 5:
            raise ValueError("rating must be 1..5")
        tenant = rec.tenant
        charge = math.ceil(duration_sec / 60) * self.credit_rate_per_minute
        tenant.credits = max(0, tenant.credits - charge)
        started = rec.doc["started_at"] or format_ms(at_ms - duration_sec * 1000)
        base = f"interviews/{tenant.client_id}/{rec.id}"
        persona = self.personas.get(str(rec.doc["persona_id"]))
        rec.transcript = make_transcript(persona.role_name if persona else None, duration_sec)
        if rating is not None:
            rec.feedback = {
                "rating": rating,
                "comment": comment,
                "submitted_at": format_ms(at_ms),
                "flagged": rating <= 2,
            }
        self._transition(
            rec,
            "completed",
            started_at=started,
            completed_at=format_ms(at_ms),
            duration_sec=duration_sec,
            credit_charged=charge,
            recording_s3_key=f"{base}/recording.wav",
            transcript_s3_key=f"{base}/transcript.json",
            interview_svc_session_id=f"isvc_{self.new_id().replace('-', '')[:24]}",
        )

    def view(self, rec: SessionRecord, stale: bool) -> JSON:
        """The document as served: the previous one when ``stale`` and there is one."""
        return rec.prev_doc if stale and rec.prev_doc is not None else rec.doc

    def summary(self, rec: SessionRecord, *, stale: bool = False) -> JSON:
        """The SessionSummary (list row) of a session."""
        persona = self.personas.get(str(rec.doc["persona_id"]))
        return {
            **self.view(rec, stale),
            "role_name": persona.role_name if persona else None,
            "language": persona.language if persona else None,
        }

    def detail(self, rec: SessionRecord, *, stale: bool = False) -> JSON:
        """The SessionDetail of a session."""
        persona = self.personas.get(str(rec.doc["persona_id"]))
        view = self.view(rec, stale)
        return {
            **view,
            "role_name": None,
            "language": None,
            "persona": None
            if persona is None
            else {
                "id": persona.id,
                "role_name": persona.role_name,
                "language": persona.language,
                "system_prompt": persona.system_prompt,
                "base_prompt_override": persona.base_prompt_override,
            },
            "feedback": rec.feedback if view["status"] == "completed" else None,
        }


def metadata_texts(value: Any) -> tuple[str, ...]:
    """The query strings a stored metadata value matches in ``metadata[key]=...``.

    Strings match as is, booleans as ``true``/``false``, numbers as JSON renders them;
    an integral float also matches its integer form (``2.0`` matches ``2``), as a
    JavaScript server would render it.
    """
    if isinstance(value, str):
        return (value,)
    if isinstance(value, float) and value.is_integer():
        return (json.dumps(value), str(int(value)))
    return (json.dumps(value),)


_LINES = (
    ("interviewer", "Could you walk me through a recent project you are proud of?"),
    ("candidate", "Sure. Last year I led the migration of our billing service."),
    ("interviewer", "What was the hardest trade-off you had to make there?"),
    ("candidate", "Consistency versus latency; we chose idempotent writes and retries."),
    ("interviewer", "How did you measure success?"),
    ("candidate", "Error rates, p99 latency and the number of support tickets."),
)


def make_transcript(role_name: str | None, duration_sec: int) -> list[JSON]:
    """A deterministic array of turns (``speaker``, ``text``, ``start_ms``)."""
    role = role_name or "this"
    turns: list[JSON] = [
        {
            "speaker": "interviewer",
            "text": f"Hello, and thank you for joining the interview for the {role} role.",
            "start_ms": 0,
        },
        {"speaker": "candidate", "text": "Thank you, happy to be here.", "start_ms": 4_000},
    ]
    extra = min(40, max(0, duration_sec // 30 - 2))
    step = max(1, (duration_sec * 1000 - 8_000) // max(1, extra + 1))
    for i in range(extra):
        speaker, text = _LINES[i % len(_LINES)]
        turns.append({"speaker": speaker, "text": text, "start_ms": 8_000 + i * step})
    return turns
