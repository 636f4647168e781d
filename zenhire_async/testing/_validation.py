"""Request validation: every documented limit of the contract, as field errors.

Each validator collects *all* violated rules of a request before failing, and raises
:class:`ValidationFailed` carrying ``[{"field": ..., "message": ...}, ...]`` — rendered as a
400 ``VALIDATION_ERROR`` with ``details.fields``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._clock import parse_iso

__all__ = [
    "STATUSES",
    "PageRequest",
    "SessionFilter",
    "ValidationFailed",
    "parse_page_query",
    "parse_session_query",
    "validate_persona_body",
    "validate_session_body",
]

STATUSES = frozenset({"initiated", "active", "completed", "failed"})
CONSENT_MODES = frozenset({"explicit", "integrator"})


class ValidationFailed(Exception):
    """A request broke one or more documented limits."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields))
        self.fields = fields


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``limit`` plus either an ``offset`` or an opaque ``cursor``."""

    limit: int = 20
    offset: int = 0
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """The filters of ``GET /sessions`` (all optional, all must match)."""

    status: str | None = None
    persona_id: str | None = None
    candidate_ref: str | None = None
    project_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    created_after_us: int | None = None
    created_before_us: int | None = None


def _string(
    body: dict[str, Any],
    name: str,
    errors: list[dict[str, str]],
    *,
    required: bool,
    max_len: int | None,
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            errors.append({"field": name, "message": "is required"})
        return None
    if not isinstance(value, str):
        errors.append({"field": name, "message": "must be a string"})
        return None
    if required and not value.strip():
        errors.append({"field": name, "message": "must not be empty"})
    if max_len is not None and len(value) > max_len:
        errors.append({"field": name, "message": f"must be at most {max_len} characters"})
    return value


def validate_persona_body(body: dict[str, Any]) -> dict[str, Any]:
    """Check a ``POST /personas`` body; return the accepted fields."""
    errors: list[dict[str, str]] = []
    out = {
        "role_name": _string(body, "role_name", errors, required=True, max_len=200),
        "language": _string(body, "language", errors, required=True, max_len=64),
        "system_prompt": _string(body, "system_prompt", errors, required=False, max_len=20_000),
        "base_prompt_override": _string(
            body, "base_prompt_override", errors, required=False, max_len=None
        ),
    }
    if errors:
        raise ValidationFailed(errors)
    return out


def _metadata(value: Any, errors: list[dict[str, str]]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append({"field": "metadata", "message": "must be an object"})
        return None
    if len(value) > 50:
        errors.append({"field": "metadata", "message": "must have at most 50 keys"})
    for key, item in value.items():
        where = f"metadata.{key}"
        if not key or len(key) > 40:
            errors.append({"field": where, "message": "key must be 1 to 40 characters"})
        if isinstance(item, str):
            if len(item) > 500:
                errors.append({"field": where, "message": "must be at most 500 characters"})
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append({"field": where, "message": "must be a finite number"})
        elif not isinstance(item, int | float | bool):
            errors.append({"field": where, "message": "must be a string, number or boolean"})
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > 8192:
        errors.append({"field": "metadata", "message": "must be at most 8192 bytes as JSON"})
    return value


def _tags(value: Any, errors: list[dict[str, str]]) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        errors.append({"field": "tags", "message": "must be a list of strings"})
        return None
    distinct: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not 1 <= len(tag) <= 40:
            errors.append({"field": f"tags[{i}]", "message": "must be a string of 1 to 40 chars"})
        elif tag not in distinct:
            distinct.append(tag)
    if len(distinct) > 20:
        errors.append({"field": "tags", "message": "must have at most 20 distinct tags"})
    return distinct


def validate_session_body(body: dict[str, Any]) -> dict[str, Any]:
    """Check a ``POST /personas/{id}/sessions`` body; return the accepted fields.

    Duplicate tags are accepted and stored once (the limit counts distinct tags).
    """
    errors: list[dict[str, str]] = []
    consent = body.get("consent_mode")
    if consent is None:
        errors.append({"field": "consent_mode", "message": "is required"})
    elif consent not in CONSENT_MODES:
        errors.append({"field": "consent_mode", "message": "must be 'explicit' or 'integrator'"})
    out = {
        "consent_mode": consent,
        "candidate_ref": _string(body, "candidate_ref", errors, required=False, max_len=256),
        "metadata": _metadata(body.get("metadata"), errors),
        "tags": _tags(body.get("tags"), errors),
    }
    if errors:
        raise ValidationFailed(errors)
    return out


def _int_param(
    query: Iterable[tuple[str, str]], name: str, default: int, lo: int, hi: int | None
) -> tuple[int, dict[str, str] | None]:
    raw = next((v for k, v in query if k == name), None)
    if raw is None:
        return default, None
    try:
        value = int(raw)
    except ValueError:
        return default, {"field": name, "message": "must be an integer"}
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        return default, {"field": name, "message": f"must be {bound}"}
    return value, None


def parse_page_query(query: list[tuple[str, str]]) -> PageRequest:
    """Read ``limit`` (1–100, default 20), ``offset`` (≥ 0) and ``cursor``."""
    errors: list[dict[str, str]] = []
    page = _page(query, errors)
    if errors:
        raise ValidationFailed(errors)
    return page


def _page(query: list[tuple[str, str]], errors: list[dict[str, str]]) -> PageRequest:
    limit, err = _int_param(query, "limit", 20, 1, 100)
    if err:
        errors.append(err)
    offset, err = _int_param(query, "offset", 0, 0, None)
    if err:
        errors.append(err)
    cursor = next((v for k, v in query if k == "cursor"), None)
    return PageRequest(limit=limit, offset=offset, cursor=cursor or None)


def _timestamp(query: list[tuple[str, str]], name: str, errors: list[dict[str, str]]) -> int | None:
    raw = next((v for k, v in query if k == name), None)
    if raw is None:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        errors.append({"field": name, "message": "must be an ISO 8601 timestamp"})
        return None


def parse_session_query(query: list[tuple[str, str]]) -> tuple[SessionFilter, PageRequest]:
    """Read the filters and paging of ``GET /sessions``."""
    errors: list[dict[str, str]] = []
    page = _page(query, errors)
    single = dict(reversed(query))
    status = single.get("status")
    if status is not None and status not in STATUSES:
        errors.append({"field": "status", "message": f"must be one of {sorted(STATUSES)}"})
    metadata: list[tuple[str, str]] = []
    for key, value in query:
        if key.startswith("metadata[") and key.endswith("]"):
            name = key[len("metadata[") : -1]
            if not name:
                errors.append({"field": key, "message": "metadata key must not be empty"})
            metadata.append((name, value))
    flt = SessionFilter(
        status=status,
        persona_id=single.get("persona_id"),
        candidate_ref=single.get("candidate_ref"),
        project_id=single.get("project_id"),
        tags=tuple(v for k, v in query if k == "tag"),
        metadata=tuple(metadata),
        created_after_us=_timestamp(query, "created_after", errors),
        created_before_us=_timestamp(query, "created_before", errors),
    )
    if errors:
        raise ValidationFailed(errors)
    return flt, page
