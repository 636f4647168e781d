"""Listing: filters, newest-first order, offset and cursor pages.

Rows are ordered by ``created_at`` desc, then ``id`` desc for sessions created in the
same millisecond: the ascending key lists ``(created_ms, id)`` of ``TenantState`` read
from the end. Filters narrow that list without scanning documents: ``status`` picks the
per-status list, ``created_after`` (inclusive) and ``created_before`` (exclusive) are a
bisected slice, and persona / candidate_ref / tag / metadata filters intersect the
tenant's inverted indexes into a set of ids that the slice is then checked against. A
cursor is the key of the last row served, so a cursor walk never repeats or skips a row
while the list grows. Only the ``stale_read`` fault, which filters on each session's
previous document, scans documents.
"""

from __future__ import annotations

import base64
import bisect
from dataclasses import dataclass
from typing import Any

from ._state import Key, Store, TenantState, metadata_texts
from ._validation import PageRequest, SessionFilter, ValidationFailed

__all__ = ["PageResult", "list_personas", "list_sessions"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PageResult:
    """One page of rows plus what the envelopes may tell about the rest."""

    rows: list[JSON]
    limit: int
    offset: int
    total: int
    has_more: bool
    next_cursor: str | None


def _encode_cursor(key: Key) -> str:
    raw = f"{key[0]}:{key[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ms, sep, ident = raw.partition(":")
        if not sep:
            raise ValueError(cursor)
        return (int(ms), ident)
    except ValueError:
        raise ValidationFailed([{"field": "cursor", "message": "is not valid"}]) from None


def _paginate(keys: list[Key], page: PageRequest) -> tuple[list[Key], int, bool, str | None]:
    """Slice newest-first from ascending ``keys``: (page keys, offset, has_more, cursor)."""
    total = len(keys)
    if page.cursor is not None:
        end = bisect.bisect_left(keys, _decode_cursor(page.cursor))
        offset = total - end
    else:
        offset = page.offset
        end = max(0, total - offset)
    start = max(0, end - page.limit)
    chosen = keys[start:end][::-1]
    has_more = start > 0
    return chosen, offset, has_more, _encode_cursor(chosen[-1]) if has_more else None


def _ms_at_or_after(us: int) -> int:
    """The first whole millisecond not before ``us`` microseconds."""
    return -(-us // 1000)


def _ms_bounds(flt: SessionFilter) -> tuple[int | None, int | None]:
    """``created_after`` (inclusive) and ``created_before`` (exclusive) as whole ms."""
    after, before = flt.created_after_us, flt.created_before_us
    return (
        None if after is None else _ms_at_or_after(after),
        None if before is None else _ms_at_or_after(before),
    )


def _time_slice(keys: list[Key], lo_ms: int | None, hi_ms: int | None) -> list[Key]:
    lo = 0 if lo_ms is None else bisect.bisect_left(keys, (lo_ms, ""))
    hi = len(keys) if hi_ms is None else bisect.bisect_left(keys, (hi_ms, ""))
    return keys if (lo, hi) == (0, len(keys)) else keys[lo:hi]


def _indexed(tenant: TenantState, flt: SessionFilter) -> set[str] | None:
    """Ids allowed by the indexed filters (``None``: no such filter given)."""
    sets: list[set[str]] = []
    empty: set[str] = set()
    if flt.persona_id is not None:
        sets.append(tenant.by_persona.get(flt.persona_id, empty))
    if flt.candidate_ref is not None:
        sets.append(tenant.by_ref.get(flt.candidate_ref, empty))
    sets.extend(tenant.by_tag.get(tag, empty) for tag in flt.tags)
    sets.extend(tenant.by_meta.get(item, empty) for item in flt.metadata)
    if not sets:
        return None
    sets.sort(key=len)
    return sets[0].intersection(*sets[1:])


def _matches(doc: JSON, flt: SessionFilter, created_ms: int) -> bool:
    """The slow path: check one (possibly stale) document against every filter."""
    if flt.status is not None and doc["status"] != flt.status:
        return False
    for name, wanted in (
        ("persona_id", flt.persona_id),
        ("candidate_ref", flt.candidate_ref),
        ("project_id", flt.project_id),
    ):
        if wanted is not None and doc[name] != wanted:
            return False
    if flt.tags and not set(flt.tags).issubset(doc["tags"] or ()):
        return False
    meta = doc["metadata"] or {}
    for name, wanted in flt.metadata:
        if name not in meta or wanted not in metadata_texts(meta[name]):
            return False
    after, before = flt.created_after_us, flt.created_before_us
    if after is not None and created_ms * 1000 < after:
        return False
    return before is None or created_ms * 1000 < before


def _select(store: Store, tenant: TenantState, flt: SessionFilter, stale: bool) -> list[Key]:
    sessions = store.sessions
    if stale:
        return [
            k for k in tenant.session_keys if _matches(store.view(sessions[k[1]], True), flt, k[0])
        ]
    if flt.project_id is not None and flt.project_id != tenant.project_id:
        return []  # every session of a tenant inherits the tenant's project
    lo_ms, hi_ms = _ms_bounds(flt)
    keys = tenant.by_status[flt.status] if flt.status is not None else tenant.session_keys
    allowed = _indexed(tenant, flt)
    if allowed is None:
        return _time_slice(keys, lo_ms, hi_ms)
    if len(allowed) * 8 < len(keys):  # few candidates: check them, then sort
        picked = []
        for ident in allowed:
            rec = sessions[ident]
            if flt.status is not None and rec.status != flt.status:
                continue
            if (lo_ms is not None and rec.created_ms < lo_ms) or (
                hi_ms is not None and rec.created_ms >= hi_ms
            ):
                continue
            picked.append(rec.key)
        picked.sort()
        return picked
    return [k for k in _time_slice(keys, lo_ms, hi_ms) if k[1] in allowed]


def list_sessions(
    store: Store, tenant: TenantState, flt: SessionFilter, page: PageRequest, *, stale: bool
) -> PageResult:
    """One newest-first page of a tenant's sessions matching ``flt``."""
    keys = _select(store, tenant, flt, stale)
    chosen, offset, has_more, cursor = _paginate(keys, page)
    rows = [store.summary(store.sessions[k[1]], stale=stale) for k in chosen]
    return PageResult(rows, page.limit, offset, len(keys), has_more, cursor)


def list_personas(store: Store, tenant: TenantState, page: PageRequest) -> PageResult:
    """One newest-first page of a tenant's personas."""
    keys = tenant.persona_keys
    chosen, offset, has_more, cursor = _paginate(keys, page)
    rows = [store.personas[k[1]].row() for k in chosen]
    return PageResult(rows, page.limit, offset, len(keys), has_more, cursor)
