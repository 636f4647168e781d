"""Response decoding: 2xx bodies into models, straight from bytes.

Decoders are built once, at import. Anything that does not match the contract becomes a
:class:`~zenhire_async.errors.DecodeError`. List pages are read in every envelope form the
contract tolerates; the create-session answer is read as leniently as its meaning allows
(it holds the only copy of the candidate link); transcripts are read best-effort.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar, cast
from urllib.parse import urlsplit

import msgspec

from .._datetimes import shift
from .._validation import has_space_or_control
from ..errors import DecodeError
from ..models import (
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


PERSONA = msgspec.json.Decoder(Persona)
PERSONA_DETAIL = msgspec.json.Decoder(PersonaDetail)
PERSONA_PAGE = msgspec.json.Decoder(_Envelope[Persona])
SESSION_DETAIL = msgspec.json.Decoder(SessionDetail)
SESSION_PAGE = msgspec.json.Decoder(_Envelope[SessionSummary])
# msgspec cannot resolve the recursive JSONValue alias; plain ``object``/``dict`` decoding
# produces exactly the JSON types it names.
JSON_ANY = cast("msgspec.json.Decoder[JSONValue]", msgspec.json.Decoder())
JSON_OBJECT = cast("msgspec.json.Decoder[JSONObject]", msgspec.json.Decoder(dict))


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
    if has_space_or_control(link):
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
