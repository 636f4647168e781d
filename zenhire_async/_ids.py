"""Session ids in canonical form, so that the same session always compares equal. Pure.

A server may match ids case-insensitively and answer with a spelling other than the one
asked for (``/sessions/3F2C...`` answered with ``"id": "3f2c..."``). Where an id is a UUID it
is compared, and kept in a watch book, as the lower-case canonical UUID; any other id is
taken exactly as given.
"""

from __future__ import annotations

import re

__all__ = ["canonical_id", "same_id"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def canonical_id(session_id: str) -> str:
    """``session_id`` lower-cased when it is a hyphenated UUID, else unchanged."""
    if session_id.islower() or _UUID.fullmatch(session_id) is None:
        return session_id
    return session_id.lower()


def same_id(a: str, b: str) -> bool:
    """Whether two ids name the same session."""
    return a == b or canonical_id(a) == canonical_id(b)
