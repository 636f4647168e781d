"""Redaction of secrets (API keys and candidate link tokens) from text meant for humans.

Every log line, ``repr`` and exception message the SDK writes passes through here when it can
carry server or user text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["hide_link", "redact", "redact_key", "redact_link", "shorten", "shorten_json"]

MAX_TEXT_CHARS = 2_000
"""The longest server text (an error message) an exception keeps."""
MAX_ITEM_CHARS = 500
MAX_ITEMS = 50
MAX_DEPTH = 8

# The token rides in the URL fragment: ``…/#t=<token>``; also catch it in a query string.
_TOKEN_RE = re.compile(r"([#?&]t=)[^&#\s\"'<>]+")
# Platform keys look like ``zh_api_…`` (new) or ``zh_…`` (legacy).
_KEY_RE = re.compile(r"\bzh_[A-Za-z0-9_\-]{6,}")

_MASK = "***"


def redact_link(link: str) -> str:
    """Return ``link`` with its token replaced by ``***``."""
    return _TOKEN_RE.sub(lambda m: m.group(1) + _MASK, link)


def hide_link(link: str) -> str:
    """Return a whole candidate link fit to show: its ``t=`` token masked, or — should the
    link come in another shape — everything after its host; credentials before the host are
    dropped either way."""
    scheme, sep, rest = link.partition("://")
    if not sep:
        return _MASK
    cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    host = authority.rsplit("@", 1)[-1]
    masked = redact_link(tail)
    return f"{scheme}://{host}{masked if masked != tail else '/' + _MASK}"


def redact_key(key: str) -> str:
    """Return a form of an API key safe to show: its prefix and last two characters."""
    if len(key) <= 10:
        return _MASK
    prefix = "zh_api_" if key.startswith("zh_api_") else key[:3]
    return f"{prefix}{_MASK}{key[-2:]}"


def redact(text: str, *secrets: str) -> str:
    """Remove link tokens, anything shaped like a key, and each of ``secrets`` from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return _KEY_RE.sub(_MASK, redact_link(text))


def shorten(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


def shorten_json(value: object, depth: int = 0) -> object:
    """A JSON value with long strings cut, long arrays and objects cut to their first
    :data:`MAX_ITEMS` items (a ``"…"`` entry says so) and nesting cut at :data:`MAX_DEPTH`.

    Built without recursion past the depth limit, so a hostile document cannot blow it up.
    """
    if isinstance(value, str):
        return shorten(value, MAX_ITEM_CHARS)
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return "…"
        out: dict[str, object] = {}
        for number, (key, item) in enumerate(value.items()):
            if number == MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS:,} more entries"
                break
            out[shorten(str(key), MAX_ITEM_CHARS)] = shorten_json(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return "…"
        items = [shorten_json(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS:,} more items")
        return items
    return value
