"""Request specs: each endpoint's method, path, query and body, validated before sending.

A builder checks every documented limit (``_validation``) and returns a :class:`RequestSpec`;
the transport (``_http``) sends it. Ids are percent-encoded into paths, filters and
timestamps are rendered as the API reads them. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import msgspec

from .. import _validation as v

API_PREFIX = "/api/v1/interview"
HEALTH_PATH = "/api/v1/health"
CREDITS_PATH = "/api/v1/credits"

Method = Literal["GET", "POST"]
Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything needed to send one request; ``path`` is relative to the platform root."""

    method: Method
    path: str
    params: Params = ()
    body: bytes | None = None
    authenticated: bool = True
    # The path with ids replaced by placeholders, for logs and metrics.
    route: str = field(default="")

    @property
    def idempotent(self) -> bool:
        """Whether resending after an ambiguous failure is harmless (every GET is)."""
        return self.method == "GET"


_URL_SAFE_ID = re.compile(r"[A-Za-z0-9._~-]+")  # what quote() would leave as is


def _id(field_name: str, value: str) -> str:
    text = v.require_id(field_name, value)
    return text if _URL_SAFE_ID.fullmatch(text) else quote(text, safe="")


_json_encoder = msgspec.json.Encoder()


def create_persona(
    role_name: str,
    language: str,
    *,
    system_prompt: str | None = None,
    base_prompt_override: str | msgspec.UnsetType | None = msgspec.UNSET,
) -> RequestSpec:
    """``POST /personas``: optional fields the caller did not give are omitted."""
    override = None if base_prompt_override is msgspec.UNSET else base_prompt_override
    v.check_persona_fields(role_name, language, system_prompt, override)
    body: dict[str, str | None] = {"role_name": role_name, "language": language}
    if system_prompt is not None:
        body["system_prompt"] = system_prompt
    if base_prompt_override is not msgspec.UNSET:
        body["base_prompt_override"] = override
    path = f"{API_PREFIX}/personas"
    return RequestSpec("POST", path, body=_json_encoder.encode(body), route="POST /personas")


def get_persona(persona_id: str) -> RequestSpec:
    """``GET /personas/{id}``."""
    path = f"{API_PREFIX}/personas/{_id('persona_id', persona_id)}"
    return RequestSpec("GET", path, route="GET /personas/{id}")


def list_personas(*, limit: int, offset: int = 0, cursor: str | None = None) -> RequestSpec:
    """``GET /personas`` for one page."""
    params = _page_params(limit, offset, cursor)
    return RequestSpec("GET", f"{API_PREFIX}/personas", params, route="GET /personas")


def create_session(
    persona_id: str,
    *,
    consent_mode: str,
    candidate_ref: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, v.MetadataValue] | None = None,
) -> RequestSpec:
    """``POST /personas/{id}/sessions``, every documented limit checked first."""
    body: dict[str, object] = {"consent_mode": v.check_consent_mode(consent_mode)}
    if candidate_ref is not None:
        body["candidate_ref"] = v.check_candidate_ref(candidate_ref)
    if metadata is not None:
        body["metadata"] = v.check_metadata(metadata)
    if tags is not None:
        body["tags"] = v.check_tags(tags)
    path = f"{API_PREFIX}/personas/{_id('persona_id', persona_id)}/sessions"
    return RequestSpec(
        "POST", path, body=_json_encoder.encode(body), route="POST /personas/{id}/sessions"
    )


def get_session(session_id: str) -> RequestSpec:
    """``GET /sessions/{id}``."""
    path = f"{API_PREFIX}/sessions/{_id('session_id', session_id)}"
    return RequestSpec("GET", path, route="GET /sessions/{id}")


def session_artifact(session_id: str, artifact: Literal["recording", "transcript"]) -> RequestSpec:
    """``GET /sessions/{id}/recording`` or ``/transcript``."""
    path = f"{API_PREFIX}/sessions/{_id('session_id', session_id)}/{artifact}"
    return RequestSpec("GET", path, route=f"GET /sessions/{{id}}/{artifact}")


def health() -> RequestSpec:
    """``GET /api/v1/health`` (no key needed)."""
    return RequestSpec("GET", HEALTH_PATH, authenticated=False, route="GET /health")


def credits() -> RequestSpec:
    """``GET /api/v1/credits``."""
    return RequestSpec("GET", CREDITS_PATH, route="GET /credits")


def format_timestamp(value: datetime, field_name: str) -> str:
    """An aware datetime as the API writes them: UTC, milliseconds, ``Z``."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field_name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field_name} must be timezone-aware (e.g. datetime.now(UTC))")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _query_value(value: v.MetadataValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


@dataclass(frozen=True, slots=True)
class SessionFilters:
    """The filters of ``GET /sessions``, validated once and rendered as query parameters."""

    params: Params = ()

    @classmethod
    def build(
        cls,
        *,
        status: str | None = None,
        persona_id: str | None = None,
        candidate_ref: str | None = None,
        project_id: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, v.MetadataValue] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> SessionFilters:
        """Check each filter and keep the query parameters in a stable order."""
        params: list[tuple[str, str]] = []
        if status is not None:
            params.append(("status", v.check_status(status)))
        if persona_id is not None:
            params.append(("persona_id", v.require_id("persona_id", persona_id)))
        if candidate_ref is not None:
            params.append(("candidate_ref", v.check_candidate_ref(candidate_ref)))
        if project_id is not None:
            params.append(("project_id", v.require_id("project_id", project_id)))
        if tags is not None:
            params.extend(("tag", tag) for tag in v.check_tags(tags))
        if metadata is not None:
            for key, value in v.check_metadata(metadata).items():
                params.append((f"metadata[{key}]", _query_value(value)))
        if created_after is not None:
            params.append(("created_after", format_timestamp(created_after, "created_after")))
        if created_before is not None:
            params.append(("created_before", format_timestamp(created_before, "created_before")))
        return cls(tuple(params))


def _page_params(limit: int, offset: int, cursor: str | None) -> Params:
    params = [("limit", str(v.check_limit(limit)))]
    if cursor is not None:
        params.append(("cursor", cursor))
    else:
        params.append(("offset", str(v.check_offset(offset))))
    return tuple(params)


def list_sessions(
    filters: SessionFilters, *, limit: int, offset: int = 0, cursor: str | None = None
) -> RequestSpec:
    """``GET /sessions`` for one page."""
    params = filters.params + _page_params(limit, offset, cursor)
    return RequestSpec("GET", f"{API_PREFIX}/sessions", params, route="GET /sessions")
