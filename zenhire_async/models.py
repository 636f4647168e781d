"""Response models: frozen msgspec Structs whose field names are the API's JSON names.

Forward compatibility is built in: unknown fields are ignored, a missing optional field
decodes as ``None``, and enum-like fields (``status``, ``consent_mode``, ``source``) are typed
``str`` so that a value a newer server invents decodes as its plain string. The ``StrEnum``
constants below compare equal to those strings (``s.status == SessionStatus.COMPLETED`` and
``s.status == "completed"`` are the same test).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Generic, Literal, TypeAlias, TypeVar, Union

import msgspec
from msgspec.structs import force_setattr

from ._datetimes import to_utc
from ._redact import hide_link

__all__ = [
    "DEFAULT_LINK_LIFETIME",
    "TERMINAL_STATUSES",
    "BulkFailure",
    "BulkInviteReport",
    "BulkProgress",
    "Candidate",
    "ConsentMode",
    "ConsentModeName",
    "Feedback",
    "JSONObject",
    "JSONValue",
    "Page",
    "Persona",
    "PersonaDetail",
    "SessionDetail",
    "SessionInvite",
    "SessionPersona",
    "SessionSource",
    "SessionStatus",
    "SessionStatusName",
    "SessionSummary",
    "Transcript",
    "TranscriptTurn",
]

JSONValue: TypeAlias = Union[  # noqa: UP007 - a recursive alias needs the Union spelling
    dict[str, "JSONValue"], list["JSONValue"], str, int, float, bool, None
]
"""Any JSON document, as decoded: objects, arrays, strings, numbers, booleans and null."""

JSONObject: TypeAlias = dict[str, JSONValue]
"""A decoded JSON object."""

T = TypeVar("T")

DEFAULT_LINK_LIFETIME = timedelta(days=7)
"""How long an unused candidate link admits its candidate when the server did not say."""


SessionStatusName = Literal["initiated", "active", "completed", "failed"]
"""The documented statuses, for signatures: a typo'd ``status=`` fails type checking."""

ConsentModeName = Literal["explicit", "integrator"]
"""The consent modes, for signatures: a typo'd ``consent_mode=`` fails type checking."""


class SessionStatus(enum.StrEnum):
    """The documented session statuses (a newer server may send others; they stay strings)."""

    INITIATED = "initiated"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL_STATUSES: frozenset[str] = frozenset({SessionStatus.COMPLETED, SessionStatus.FAILED})
"""Statuses that never change again: ``completed`` and ``failed``."""


class ConsentMode(enum.StrEnum):
    """Who captures the candidate's consent: ZenHire's gate, or the integrator beforehand."""

    EXPLICIT = "explicit"
    INTEGRATOR = "integrator"


class SessionSource(enum.StrEnum):
    """Which surface created a session."""

    REQUESTS = "requests"
    PLAYGROUND = "playground"


class _Model(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Common base: immutable, keyword-only, unknown JSON fields ignored.

    ``gc=False``: instances hold only values decoded from JSON, so they cannot take part in
    a reference cycle, and leaving them out of the cycle collector makes decoding a
    1,000-row page cheaper and steadier (msgspec's performance tips).
    """


class _Timestamped(_Model, frozen=True, kw_only=True):
    """A model whose datetimes (named in ``_TIMESTAMPS``) are always aware and in UTC.

    A server may write a timestamp without its ``Z`` (read as UTC, CONTRACT §2) or with
    another offset; each is converted once, at decoding, so that comparing or shifting it
    never meets a naive datetime. A value beyond the calendar in UTC is clamped to its edge.
    """

    _TIMESTAMPS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._TIMESTAMPS:
            value = getattr(self, name)
            if value is not None and value.tzinfo is not UTC:
                force_setattr(self, name, to_utc(value))


class Persona(_Timestamped, frozen=True, kw_only=True):
    """A reusable interviewer configuration: a role name and an interview language."""

    _TIMESTAMPS: ClassVar[tuple[str, ...]] = ("created_at",)

    id: str
    client_id: str | None = None
    role_name: str
    language: str
    status: str = "active"
    created_at: datetime | None = None
    base_prompt_override: str | None = None


class PersonaDetail(Persona, frozen=True, kw_only=True):
    """One persona as ``GET /personas/{id}`` returns it, with its system prompt."""

    _TIMESTAMPS: ClassVar[tuple[str, ...]] = ("created_at", "updated_at")

    system_prompt: str | None = None
    updated_at: datetime | None = None


class SessionPersona(_Model, frozen=True, kw_only=True):
    """The persona context embedded in a single-session response."""

    id: str | None = None
    role_name: str | None = None
    language: str | None = None
    system_prompt: str | None = None
    base_prompt_override: str | None = None


class Feedback(_Timestamped, frozen=True, kw_only=True):
    """The candidate's post-interview survey."""

    _TIMESTAMPS: ClassVar[tuple[str, ...]] = ("submitted_at",)

    rating: int
    comment: str | None = None
    submitted_at: datetime | None = None
    flagged: bool | None = None


class SessionSummary(_Timestamped, frozen=True, kw_only=True):
    """One session as a list row (``GET /sessions``).

    ``role_name`` and ``language`` are filled on list rows only (``None`` when the persona was
    deleted); on a :class:`SessionDetail` the persona is under ``persona``.
    """

    _TIMESTAMPS: ClassVar[tuple[str, ...]] = ("started_at", "completed_at", "created_at")

    id: str
    client_id: str | None = None
    persona_id: str | None = None
    candidate_ref: str | None = None
    status: str
    consent_mode: str | None = None
    source: str | None = None
    project_id: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, str | int | float | bool] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_sec: int | None = None
    credit_charged: int | None = None
    recording_s3_key: str | None = None
    transcript_s3_key: str | None = None
    interview_svc_session_id: str | None = None
    created_at: datetime
    role_name: str | None = None
    language: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the status is ``completed`` or ``failed`` (it will never change again)."""
        return self.status in TERMINAL_STATUSES


class SessionDetail(SessionSummary, frozen=True, kw_only=True):
    """One session as ``GET /sessions/{id}`` returns it, with persona and feedback."""

    persona: SessionPersona | None = None
    feedback: Feedback | None = None


class SessionInvite(_Model, frozen=True, kw_only=True):
    """The answer to creating a session: the one and only copy of the candidate link.

    ``candidate_link`` is a secret (it admits the candidate) and cannot be fetched again:
    store it before doing anything else. ``repr``, ``str`` and rich's repr hide its token.
    ``expires_at`` is when the unused link stops working, from ``expires_in`` as received.
    """

    id: str
    candidate_link: str
    expires_in: int
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"SessionInvite(id={self.id!r}, candidate_link={hide_link(self.candidate_link)!r}, "
            f"expires_in={self.expires_in!r}, expires_at={self.expires_at!r})"
        )

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, object]]:
        """What ``rich`` shows (msgspec's default would print the whole link)."""
        return [
            ("id", self.id),
            ("candidate_link", hide_link(self.candidate_link)),
            ("expires_in", self.expires_in),
            ("expires_at", self.expires_at),
        ]


class TranscriptTurn(_Model, frozen=True, kw_only=True):
    """One turn of a transcript, read best-effort from the server's opaque document."""

    speaker: str | None = None
    text: str


class Transcript(_Model, frozen=True, kw_only=True):
    """A session's transcript.

    ``raw`` is the JSON document exactly as the server sent it (the contract calls it opaque).
    ``turns`` is a best-effort reading of it: an array of turns, or an object holding one under
    ``turns``; each turn's speaker from ``speaker``/``role`` and text from ``text``/``content``.
    Anything else gives an empty list, never an error.
    """

    raw: JSONValue
    turns: list[TranscriptTurn]


class Candidate(_Model, frozen=True, kw_only=True):
    """One candidate to invite in bulk: the ATS reference, plus optional tags and metadata."""

    candidate_ref: str
    tags: list[str] | None = None
    metadata: dict[str, str | int | float | bool] | None = None


class BulkFailure(_Model, frozen=True, kw_only=True):
    """One row of a bulk invite that got no link in this run.

    ``code`` is the API's error code (``"VALIDATION_ERROR"``, ``"INSUFFICIENT_CREDITS"``, …),
    ``"HTTP_<status>"`` when the server gave none, or an SDK code: ``INVALID_ROW`` (broke a
    documented limit, checked before any request), ``DUPLICATE_REF`` (the ref appeared earlier
    in the input), ``CONNECTION_ERROR``, ``TIMEOUT``, ``DECODE_ERROR``. ``candidate_ref`` is
    ``None`` only for a row that had none; ``index`` is the row's 0-based input position.
    """

    candidate_ref: str | None
    code: str
    message: str
    index: int | None = None


class BulkProgress(_Model, frozen=True, kw_only=True):
    """Counts of a running bulk invite, given to ``on_progress`` (at least once a second).

    ``done`` = ``created`` + ``skipped`` + ``failed`` + ``existing`` + ``other_shard``;
    ``total`` is the number of rows when the input has a length, else ``None``.
    """

    done: int
    created: int
    skipped: int
    failed: int
    orphans: int
    in_flight: int
    total: int | None = None
    existing: int = 0
    other_shard: int = 0


class BulkInviteReport(_Model, frozen=True, kw_only=True):
    """What a bulk invite did in this run.

    ``created`` rows got a link (it is in the journal), ``skipped`` rows already had one from
    an earlier run on the same journal, ``failed`` lists the rows without a link (a re-run
    retries them), ``orphans`` the ids of sessions whose link never reached the SDK (they
    stay ``initiated``, are never started and never charged). ``elapsed`` is in seconds.

    ``existing`` lists, as ``(candidate_ref, session_id)``, the rows not invited because
    their candidate already has a session for this persona that is neither failed nor
    expired, made by another job or process (``skip_existing=True``), or because another job
    running now holds the row's claim (with a coordinator; ``session_id`` is ``None`` until
    that job has created it). ``other_shard`` counts the input rows of other shards
    (``shard=``): neither invited nor failed here, they are another worker's.
    """

    job_id: str
    created: int
    skipped: int
    failed: list[BulkFailure]
    orphans: list[str]
    elapsed: float
    existing: list[tuple[str, str | None]] = []
    other_shard: int = 0


class Page(_Model, Generic[T], frozen=True, kw_only=True):
    """One page of a list, and what the server told of the rest.

    Fields the server did not send are ``None``; ``next_cursor`` is set only by servers that
    paginate with cursors.
    """

    data: list[T]
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    has_more: bool | None = None
    next_cursor: str | None = None
