"""Bulk invites across jobs and workers: which rows are a worker's, which sessions count as
an existing link. Pure.

* **Shards.** ``bulk_invite(..., shard=(index, count))`` invites the rows whose
  :func:`shard_of` is ``index``: ``int.from_bytes(sha256(candidate_ref.encode()).digest()[:8],
  "big") % count`` (pinned in the design: the same in every process and version). The ref is
  hashed exactly as given, as the row key is (``_bulk_rowkeys``): two refs differing in case
  or whitespace are two rows everywhere.
* **Existing links.** With ``skip_existing=True`` the job lists the persona's sessions once at
  its start; a session keeps its candidate's row out of the job when :func:`holds_live_link`:
  neither ``failed`` nor expired, where *expired* means still ``initiated`` past its link's
  lifetime (the ``expires_at`` this client received when it created it, else
  ``DEFAULT_LINK_LIFETIME`` after ``created_at``). A ``completed`` or ``active`` session
  counts. Sessions a
  job made itself are its journal's business (skipped or reconciled), never "existing".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from ._datetimes import shift
from .models import DEFAULT_LINK_LIFETIME, SessionStatus, SessionSummary

__all__ = ["check_shard", "holds_live_link", "shard_of"]


def shard_of(candidate_ref: str, count: int) -> int:
    """The shard (``0 <= shard < count``) of a row with ``candidate_ref``."""
    digest = hashlib.sha256(candidate_ref.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def check_shard(shard: object) -> tuple[int, int] | None:
    """``shard`` as ``(index, count)``, checked: a pair of ints (bools refused),
    ``count >= 1`` and ``0 <= index < count``. ``None`` is no sharding."""
    if shard is None:
        return None
    if isinstance(shard, str | bytes) or not isinstance(shard, Sequence) or len(shard) != 2:
        raise TypeError(f"shard must be a pair (index, count), got {shard!r}")
    index, count = shard
    for name, value in (("index", index), ("count", count)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"shard {name} must be an integer, got {value!r}")
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"shard index must be from 0 to {count - 1}, got {index}")
    return index, count


def holds_live_link(
    session: SessionSummary, now: datetime, known_expiry: datetime | None = None
) -> bool:
    """Whether ``session`` still stands for its candidate's link (see the module)."""
    if session.status == SessionStatus.FAILED:
        return False
    if session.status != SessionStatus.INITIATED:
        return True  # active or completed (or a newer server's status): it exists
    if known_expiry is None:
        known_expiry = shift(session.created_at, DEFAULT_LINK_LIFETIME)
    return now < known_expiry
