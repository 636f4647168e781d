"""The sans-I/O core: request specs in, decoded models or typed errors out.

Nothing here touches the network or the clock. Resource methods call a builder to get a
:class:`RequestSpec`, hand it to the transport (``_http``), and give the bytes that come back
to a decoder below. Decoders are built once, at import, and decode straight from bytes.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, Literal, TypeVar, cast
from urllib.parse import quote, urlsplit

import msgspec

from . import _validation as v
from ._datetimes import shift
from ._redact import redact
from .errors import (
    APIError,
    ArtifactNotReadyError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .models import (
    DEFAULT_LINK_LIFETIME,
    JSONObject,
    JSONValue,
    Page,
    Persona,
    PersonaDetail,
    SessionDetail,
    SessionInvite,
    SessionSummary,
    Transcript,
    TranscriptTurn,
)

T = TypeVar("T")

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


# -- request builders ---------------------------------------------------------------------


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


# -- response decoding ----------------------------------------------------------------------


class _Pagination(msgspec.Struct, kw_only=True):
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    has_more: bool | None = None
    # UNSET (absent) tells "not a cursor server" apart from null ("cursor list ended").
    next_cursor: str | msgspec.UnsetType | None = msgspec.UNSET


class _Envelope(msgspec.Struct, Generic[T], kw_only=True, gc=False):
    data: list[T]
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    has_more: bool | None = None
    next_cursor: str | msgspec.UnsetType | None = msgspec.UNSET
    pagination: _Pagination | None = None


class _ErrorBody(msgspec.Struct, kw_only=True):
    code: str | None = None
    message: str | None = None
    requestId: str | None = None
    details: dict[str, object] | None = None
    retryAfterSeconds: float | None = None


class _ErrorEnvelope(msgspec.Struct, kw_only=True):
    error: _ErrorBody


PERSONA = msgspec.json.Decoder(Persona)
PERSONA_DETAIL = msgspec.json.Decoder(PersonaDetail)
PERSONA_PAGE = msgspec.json.Decoder(_Envelope[Persona])
SESSION_DETAIL = msgspec.json.Decoder(SessionDetail)
SESSION_PAGE = msgspec.json.Decoder(_Envelope[SessionSummary])
# msgspec cannot resolve the recursive JSONValue alias; plain ``object``/``dict`` decoding
# produces exactly the JSON types it names.
JSON_ANY = cast("msgspec.json.Decoder[JSONValue]", msgspec.json.Decoder())
JSON_OBJECT = cast("msgspec.json.Decoder[JSONObject]", msgspec.json.Decoder(dict))
_ERROR = msgspec.json.Decoder(_ErrorEnvelope)


def decode(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    """Decode ``body``; any mismatch with the contract becomes a :class:`DecodeError`."""
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"unexpected {what} body from the server: {exc}") from exc
    except UnicodeDecodeError as exc:
        # msgspec raises this (not its DecodeError) for invalid UTF-8 in an object key.
        raise DecodeError(f"unexpected {what} body from the server: invalid UTF-8") from exc
    except RecursionError:
        # msgspec gives up on nesting deeper than the interpreter's recursion limit.
        raise DecodeError(f"unexpected {what} body from the server: nested too deeply") from None


@dataclass(frozen=True, slots=True)
class PageResult(Generic[T]):
    """A decoded page, and whether the server paginates with cursors (sent ``next_cursor``)."""

    page: Page[T]
    cursor_mode: bool


def decode_page(
    decoder: msgspec.json.Decoder[_Envelope[T]], body: bytes, what: str
) -> PageResult[T]:
    """A list page in any of the envelope forms the contract tolerates, as one :class:`Page`."""
    env = decode(decoder, body, what)
    nested = env.pagination or _Pagination()
    cursor = env.next_cursor if env.next_cursor is not msgspec.UNSET else nested.next_cursor
    page = Page(
        data=env.data,
        limit=env.limit if env.limit is not None else nested.limit,
        offset=env.offset if env.offset is not None else nested.offset,
        total=env.total if env.total is not None else nested.total,
        has_more=env.has_more if env.has_more is not None else nested.has_more,
        next_cursor=cursor if isinstance(cursor, str) else None,
    )
    return PageResult(page, cursor_mode=cursor is not msgspec.UNSET)


MAX_LINK_LIFETIME_SECONDS = 10 * 366 * 86_400
"""The longest link lifetime believed (ten years); a larger ``expires_in`` is capped to it."""

DOCUMENTED_LINK_HOST = "interview.zenhire.ai"
"""The host of candidate links in the contract; a link on another host is kept (DEBUG note)."""

_log = logging.getLogger("zenhire_async")


def _invite_id(doc: JSONObject) -> str | None:
    for key in ("id", "session_id"):  # the older docs name it ``session_id``
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def link_problem(link: object) -> str | None:
    """Why ``link`` is not a usable candidate link (``None`` when it is one).

    A candidate link is an ``https://`` URL with a host and a ``#t=<token>`` fragment, with
    no whitespace or control characters. The reason never quotes the link.
    """
    if not isinstance(link, str) or not link:
        return "it is missing or not a string"
    if not link.isprintable() or any(ch.isspace() for ch in link):
        return "it holds whitespace or control characters"
    try:
        parts = urlsplit(link)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "it is not a URL"
    if parts.scheme.lower() != "https":
        return "it is not an https:// URL"
    if not host:
        return "it has no host"
    if not parts.fragment.startswith("t=") or len(parts.fragment) == 2:
        return "it has no #t= token"
    return None


def _lifetime_seconds(value: JSONValue) -> float | None:
    """``expires_in`` in seconds when its meaning is unambiguous: a non-negative number, as
    a JSON number (``604800``, ``604800.0``) or a numeric string (``"604800"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and not math.isnan(value) and value >= 0:
        return float(value)
    return None


def decode_invite(body: bytes, received_at: datetime) -> SessionInvite:
    """The create-session answer, read as leniently as its meaning allows.

    The id may come as ``id`` or (older docs) ``session_id``; ``expires_in`` as an integral
    or fractional JSON number or a numeric string (an unreadable one is logged and the
    documented 7 days assumed: the link is what matters). An answer with no id is a
    :class:`DecodeError`; one with an id but no usable link (:func:`link_problem`) is a
    :class:`DecodeError` whose ``session_id`` names the session; neither holds the link text.
    """
    doc = decode(JSON_OBJECT, body, "session creation")
    session_id = _invite_id(doc)
    if session_id is None:
        raise DecodeError("session creation answer has neither 'id' nor 'session_id'")
    problem = link_problem(doc.get("candidate_link"))
    if problem is not None:
        raise DecodeError(
            f"session creation answer for session {session_id[:100]!r} holds no usable "
            f"candidate link ({problem}); the session exists without its link",
            session_id=session_id,
        )
    link = cast("str", doc["candidate_link"])
    host = urlsplit(link).hostname
    if host != DOCUMENTED_LINK_HOST:
        _log.debug(
            "the candidate link of session %s is on host %s, not %s; kept as sent",
            session_id,
            host,
            DOCUMENTED_LINK_HOST,
        )
    lifetime = DEFAULT_LINK_LIFETIME
    raw = doc.get("expires_in")
    seconds = _lifetime_seconds(raw)
    if seconds is not None:
        # Capped: an absurd lifetime must not overflow datetime and lose the link with it.
        lifetime = timedelta(seconds=math.floor(min(seconds, MAX_LINK_LIFETIME_SECONDS)))
    elif raw is not None:
        _log.warning(
            "session %s: unreadable expires_in (%s); assuming the documented %d days",
            session_id,
            type(raw).__name__,
            DEFAULT_LINK_LIFETIME.days,
        )
    return SessionInvite(
        id=session_id,
        candidate_link=link,
        expires_in=int(lifetime.total_seconds()),
        expires_at=shift(received_at, lifetime),
    )


_SPEAKER_KEYS = ("speaker", "role", "author")
_TEXT_KEYS = ("text", "content", "message")


def _first_str(obj: Mapping[str, JSONValue], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def transcript_from_json(raw: JSONValue) -> Transcript:
    """Read turns best-effort from an array of turns or an object holding one under ``turns``."""
    items = raw.get("turns") if isinstance(raw, dict) else raw
    turns: list[TranscriptTurn] = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                text = _first_str(item, _TEXT_KEYS)
                if text is not None:
                    turns.append(TranscriptTurn(speaker=_first_str(item, _SPEAKER_KEYS), text=text))
    return Transcript(raw=raw, turns=turns)


# -- errors ------------------------------------------------------------------------------

_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):  # NaN, or "inf"/"1e999": no wait the client can act on
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *secrets: str
) -> APIError:
    """Map an error response to the exception tree; never fails, whatever the body is."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    code: str | None = None
    message: str
    details: JSONObject = {}
    request_id = headers.get("X-Request-Id")
    try:
        envelope = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        kind = "an empty body" if not body.strip() else "a body that is not the error envelope"
        message = f"the server answered HTTP {status} with {kind}"
    else:
        err = envelope.error
        code = err.code
        message = err.message or f"HTTP {status}"
        details = cast("JSONObject", err.details or {})
        request_id = err.requestId or request_id
        seconds = err.retryAfterSeconds
        if retry_after is None and seconds is not None and math.isfinite(seconds):
            retry_after = max(0.0, seconds)
    cls = _STATUS_ERRORS.get(status)
    if code == "ARTIFACT_NOT_READY":
        cls = ArtifactNotReadyError
    elif cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(
        redact(message, *secrets),
        status=status,
        code=code,
        details=details,
        request_id=request_id,
        retry_after=retry_after,
    )
