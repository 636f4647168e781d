"""The contract's documented limits, checked before any request is sent.

Each check raises :class:`ValueError` naming the field and the limit it breaks. They are pure
functions so the bulk inviter can validate a row without sending anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

__all__ = [
    "CONSENT_MODES",
    "MAX_CANDIDATE_REF",
    "MAX_LANGUAGE",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_STRING",
    "MAX_ROLE_NAME",
    "MAX_SYSTEM_PROMPT",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "SESSION_STATUSES",
    "MetadataValue",
    "check_candidate_ref",
    "check_consent_mode",
    "check_limit",
    "check_metadata",
    "check_offset",
    "check_persona_fields",
    "check_status",
    "check_tags",
    "has_space_or_control",
    "require_id",
]

MAX_ROLE_NAME = 200
MAX_LANGUAGE = 64
MAX_SYSTEM_PROMPT = 20_000
MAX_CANDIDATE_REF = 256
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_STRING = 500
MAX_METADATA_BYTES = 8 * 1024
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_PAGE_LIMIT = 100
CONSENT_MODES = frozenset({"explicit", "integrator"})
SESSION_STATUSES = frozenset({"initiated", "active", "completed", "failed"})

MetadataValue = str | int | float | bool


def _require_str(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, not {type(value).__name__}")
    return value


def has_space_or_control(text: str) -> bool:
    """Whether ``text`` holds whitespace or an unprintable (control, format, separator)
    character: the one rule of ids, API keys and candidate links.

    Every whitespace character but ``" "`` is unprintable on CPython's Unicode tables
    (tested over every code point), so this is ``any(ch.isspace() or not ch.isprintable())``
    run in C, with no per-character Python loop.
    """
    return " " in text or not text.isprintable()


def require_id(field: str, value: object) -> str:
    """A path id: one non-empty URL path segment (DESIGN §4's id rule).

    Refused (``ValueError``): the empty string, ``.`` and ``..`` (a URL would resolve them
    to another route: ``sessions.create("..")`` posted to ``/sessions``), anything with a
    ``/``, whitespace or a control character. The one check of every persona and session
    id a method takes, run before any request.
    """
    text = _require_str(field, value)
    if not text or text in (".", "..") or "/" in text or has_space_or_control(text):
        raise ValueError(
            f"{field} must be one non-empty path segment (no '/', not '.' or '..', no "
            f"whitespace or control characters), got {text[:80]!r}"
        )
    return text


def check_persona_fields(
    role_name: object, language: object, system_prompt: object, base_prompt_override: object
) -> None:
    """``role_name`` 1–200 chars, ``language`` 1–64, ``system_prompt`` ≤ 20 000."""
    role = _require_str("role_name", role_name)
    lang = _require_str("language", language)
    if not role.strip():
        raise ValueError("role_name must not be empty")
    if len(role) > MAX_ROLE_NAME:
        raise ValueError(f"role_name is {len(role)} characters; the limit is {MAX_ROLE_NAME}")
    if not lang.strip():
        raise ValueError("language must not be empty")
    if len(lang) > MAX_LANGUAGE:
        raise ValueError(f"language is {len(lang)} characters; the limit is {MAX_LANGUAGE}")
    if system_prompt is not None:
        prompt = _require_str("system_prompt", system_prompt)
        if len(prompt) > MAX_SYSTEM_PROMPT:
            raise ValueError(
                f"system_prompt is {len(prompt)} characters; the limit is {MAX_SYSTEM_PROMPT}"
            )
    if base_prompt_override is not None:
        _require_str("base_prompt_override", base_prompt_override)


def check_consent_mode(consent_mode: object) -> str:
    """``consent_mode`` must be ``"explicit"`` or ``"integrator"``."""
    if consent_mode not in CONSENT_MODES:
        raise ValueError(f"consent_mode must be 'explicit' or 'integrator', got {consent_mode!r}")
    return str(consent_mode)


def check_status(status: object) -> str:
    """A status filter must be one of the documented statuses (``SessionStatusName``)."""
    if status not in SESSION_STATUSES:
        names = ", ".join(repr(s) for s in sorted(SESSION_STATUSES))
        raise ValueError(f"status must be one of {names}, got {status!r}")
    return str(status)


def check_candidate_ref(candidate_ref: object) -> str:
    """``candidate_ref`` is a string of at most 256 characters."""
    ref = _require_str("candidate_ref", candidate_ref)
    if len(ref) > MAX_CANDIDATE_REF:
        raise ValueError(
            f"candidate_ref is {len(ref)} characters; the limit is {MAX_CANDIDATE_REF}"
        )
    return ref


def check_tags(tags: Iterable[object]) -> list[str]:
    """At most 20 distinct tags, each 1–40 characters. Returns them as a list."""
    if isinstance(tags, str | bytes):
        raise TypeError("tags must be a list of strings, not a single string")
    result: list[str] = []
    for tag in tags:
        text = _require_str("each tag", tag)
        if not 1 <= len(text) <= MAX_TAG_LENGTH:
            raise ValueError(
                f"tag {text[:50]!r} is {len(text)} characters; tags are 1-{MAX_TAG_LENGTH}"
            )
        result.append(text)
    if len(set(result)) != len(result):
        raise ValueError("tags must be distinct")
    if len(result) > MAX_TAGS:
        raise ValueError(f"{len(result)} tags given; the limit is {MAX_TAGS}")
    return result


def check_metadata(metadata: Mapping[str, object]) -> dict[str, MetadataValue]:
    """≤ 50 keys of ≤ 40 chars; values string (≤ 500 chars), number or bool; ≤ 8 KB as JSON."""
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValueError(f"metadata has {len(metadata)} keys; the limit is {MAX_METADATA_KEYS}")
    result: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        name = _require_str("each metadata key", key)
        if not name or len(name) > MAX_METADATA_KEY_LENGTH:
            raise ValueError(
                f"metadata key {name[:50]!r} is {len(name)} characters; "
                f"keys are 1-{MAX_METADATA_KEY_LENGTH}"
            )
        if isinstance(value, str):
            if len(value) > MAX_METADATA_STRING:
                raise ValueError(
                    f"metadata[{name!r}] is {len(value)} characters; "
                    f"the limit is {MAX_METADATA_STRING}"
                )
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"metadata[{name!r}] must be a finite number")
        elif not isinstance(value, bool | int):
            raise ValueError(
                f"metadata[{name!r}] must be a string, number or bool, not {type(value).__name__}"
            )
        result[name] = value
    size = len(msgspec.json.encode(result))
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    return result


def check_limit(limit: object) -> int:
    """A page size from 1 to 100."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}, got {limit!r}")
    return limit


def check_offset(offset: object) -> int:
    """A non-negative page offset."""
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")
    return offset
