"""The pure rules of a bulk invite: reading a row, the orphan marker, judging an error.

No I/O here. :func:`read_row` turns one input item into a checked row (or raises
``ValueError``/``TypeError`` with a message fit for the report), :func:`judge` says what a
failed request means for the row, :func:`failure_code` names an error for the journal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import _validation as v
from ._bulk_rowkeys import MARKER_JOB, MARKER_ROW
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    DecodeError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ZenHireError,
)
from .models import Candidate

__all__ = [
    "MARKER_KEYS",
    "RowFields",
    "Verdict",
    "failure_code",
    "judge",
    "marker",
    "read_row",
]

MARKER_KEYS = frozenset({MARKER_JOB, MARKER_ROW})
"""The metadata keys reserved for the marker: a row's own metadata may not use them."""

_ROW_FIELDS = frozenset({"candidate_ref", "tags", "metadata"})


@dataclass(frozen=True, slots=True)
class RowFields:
    """One input row, checked against the contract's limits (marker included)."""

    candidate_ref: str
    tags: list[str] | None
    metadata: dict[str, v.MetadataValue] | None


def marker(job_id: str, row: str) -> dict[str, v.MetadataValue]:
    """The metadata marker of one row of one job."""
    return {MARKER_JOB: job_id, MARKER_ROW: row}


def candidate_ref_of(item: object) -> str:
    """The ``candidate_ref`` of an input item (``Candidate`` or mapping), checked."""
    if isinstance(item, Candidate):
        ref: object = item.candidate_ref
    elif isinstance(item, Mapping):
        if "candidate_ref" not in item:
            raise ValueError("the row has no candidate_ref (it is required in bulk mode)")
        ref = item["candidate_ref"]
    else:
        raise TypeError(
            f"a row must be a Candidate or a mapping with candidate_ref, tags, metadata; "
            f"got {type(item).__name__}"
        )
    text = v.check_candidate_ref(ref)
    if not text.strip():
        raise ValueError("candidate_ref is empty (it is required in bulk mode)")
    return text


def read_row(
    item: object, candidate_ref: str, job_marker: Mapping[str, v.MetadataValue]
) -> RowFields:
    """Check the rest of an input item (tags, metadata plus the marker) against the limits."""
    if isinstance(item, Candidate):
        tags: object = item.tags
        metadata: object = item.metadata
    else:
        assert isinstance(item, Mapping)
        unknown = sorted(str(k) for k in item if k not in _ROW_FIELDS)
        if unknown:
            raise ValueError(
                f"unexpected field(s) {', '.join(unknown)}; a row has candidate_ref, tags, metadata"
            )
        tags = item.get("tags")
        metadata = item.get("metadata")
    if tags is not None and (isinstance(tags, str | bytes) or not isinstance(tags, Iterable)):
        raise TypeError(f"tags must be a list of strings, not {type(tags).__name__}")
    checked_tags = None if tags is None else v.check_tags(tags)
    user: dict[str, v.MetadataValue] = {}
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        user = v.check_metadata(metadata)
        reserved = sorted(MARKER_KEYS.intersection(user))
        if reserved:
            raise ValueError(
                f"metadata key(s) {', '.join(reserved)} are reserved for the bulk-invite marker"
            )
    try:
        merged = v.check_metadata({**user, **job_marker})
    except ValueError as exc:
        raise ValueError(
            f"{exc} (counting the bulk-invite marker keys {MARKER_JOB}, {MARKER_ROW})"
        ) from None
    return RowFields(candidate_ref, checked_tags, merged)


class Verdict(enum.Enum):
    """What a failed request tells about the row."""

    FATAL = "fatal"
    """No row can succeed (auth, permission, credits, persona gone): stop the job."""
    REFUSED = "refused"
    """The server refused before acting (429, 503 with Retry-After): no session; retry."""
    REJECTED = "rejected"
    """The server rejected this row (other 4xx): no session; the row fails."""
    AMBIGUOUS = "ambiguous"
    """The session may exist without us holding its link: reconcile, then retry."""
    UNREADABLE = "unreadable"
    """A 2xx answer we cannot read: the server acted, and would act again on a retry. The
    session (named by the error, else found by marker) is an orphan; the row fails."""


_FATAL = (AuthenticationError, PermissionDeniedError, InsufficientCreditsError, NotFoundError)


def judge(error: ZenHireError) -> Verdict:
    """Classify the failure of a create (or of a reconciling list) for one row."""
    if isinstance(error, _FATAL):
        return Verdict.FATAL
    if isinstance(error, DecodeError):
        return Verdict.UNREADABLE
    if isinstance(error, RateLimitError):
        return Verdict.REFUSED
    if isinstance(error, APIConnectionError):
        return Verdict.AMBIGUOUS if error.request_sent else Verdict.REFUSED
    if isinstance(error, APIError):
        if error.status == 503 and error.retry_after is not None:
            return Verdict.REFUSED
        if 400 <= error.status < 500:
            return Verdict.REJECTED
    return Verdict.AMBIGUOUS  # 5xx, a redirect: the session may exist


def failure_code(error: ZenHireError) -> str:
    """The code a failure is journaled and reported under."""
    if isinstance(error, APIError):
        return error.code or f"HTTP_{error.status}"
    if isinstance(error, APITimeoutError):
        return "TIMEOUT"
    if isinstance(error, APIConnectionError):
        return "CONNECTION_ERROR"
    if isinstance(error, DecodeError):
        return "DECODE_ERROR"
    return type(error).__name__
