"""Row keys of a bulk job, the marker's metadata keys, and a compact table of rows seen.

A row is identified by its ``candidate_ref``. Its *row key* is a 96-bit BLAKE2b digest of the
ref: short enough to ride in session metadata as the orphan marker (24 hex characters, under
:data:`MARKER_ROW`, beside the job id under :data:`MARKER_JOB`), wide enough that two refs of
one job never share a key in practice (about 1 in 10^17 for a million rows).

:class:`RowKeyTable` remembers, for every row key of a job, a few flag bits (seen in this
run's input, created according to the journal). It is the only state a bulk job keeps per row
for its whole length, so it is packed: an open-addressing table of 12-byte keys and one flag
byte per slot in two ``bytearray``s, 3/8 to 3/4 full — 17 to 35 bytes a row, against 70-100
for a Python ``set`` of ints or ``dict`` of bytes. The table is split into 16 shards by the
key's last byte, so growing one shard briefly holds its old and new arrays (1/16 of the
table) instead of the whole table twice: the peak stays close to the steady size.
"""

from __future__ import annotations

import hashlib

__all__ = ["MARKER_JOB", "MARKER_ROW", "ROW_KEY_BYTES", "RowKeyTable", "row_key", "row_marker"]

MARKER_JOB = "zh_job"
"""Metadata key the SDK adds to every session a bulk invite creates: the job id."""
MARKER_ROW = "zh_row"
"""Metadata key the SDK adds to every session a bulk invite creates: the row key."""

ROW_KEY_BYTES = 12
_EMPTY = bytes(ROW_KEY_BYTES)
_MIN_SLOTS = 64
_SHARDS = 16


def row_key(candidate_ref: str) -> bytes:
    """The row key of ``candidate_ref``: 12 bytes of its BLAKE2b digest."""
    digest = hashlib.blake2b(
        candidate_ref.encode("utf-8"), digest_size=ROW_KEY_BYTES, person=b"zenhire-row"
    ).digest()
    # The all-zero key marks an empty slot; no digest is ever mapped onto it.
    return digest if digest != _EMPTY else b"\x01" + digest[1:]


def row_marker(key: bytes) -> str:
    """The row key as the ``zh_row`` metadata value (hex)."""
    return key.hex()


class _Shard:
    """One open-addressing table of row keys and their flag bytes."""

    def __init__(self) -> None:
        self._slots = _MIN_SLOTS
        self._keys = bytearray(self._slots * ROW_KEY_BYTES)
        self._flags = bytearray(self._slots)
        self._used = 0

    def __len__(self) -> int:
        return self._used

    @property
    def nbytes(self) -> int:
        """Bytes held by the table's two arrays."""
        return len(self._keys) + len(self._flags)

    def _find(self, key: bytes) -> int:
        """The slot holding ``key``, or the empty slot where it would go."""
        mask = self._slots - 1
        slot = int.from_bytes(key[:8], "little") & mask
        keys = self._keys
        while True:
            start = slot * ROW_KEY_BYTES
            here = keys[start : start + ROW_KEY_BYTES]
            if here in (key, _EMPTY):
                return slot
            slot = (slot + 1) & mask

    def get(self, key: bytes) -> int:
        """The flags of ``key`` (0 when it was never set)."""
        return self._flags[self._find(key)]

    def set(self, key: bytes, flags: int) -> None:
        """Set the flags of ``key`` (inserting it when new)."""
        slot = self._find(key)
        start = slot * ROW_KEY_BYTES
        if self._keys[start : start + ROW_KEY_BYTES] == _EMPTY:
            self._keys[start : start + ROW_KEY_BYTES] = key
            self._used += 1
        self._flags[slot] = flags
        if self._used * 4 > self._slots * 3:  # keep the load under 3/4
            self._grow()

    def _grow(self) -> None:
        old_keys, old_flags = self._keys, self._flags
        self._slots *= 2
        self._keys = bytearray(self._slots * ROW_KEY_BYTES)
        self._flags = bytearray(self._slots)
        for slot, flags in enumerate(old_flags):
            start = slot * ROW_KEY_BYTES
            key = bytes(old_keys[start : start + ROW_KEY_BYTES])
            if key != _EMPTY:
                new = self._find(key)
                self._keys[new * ROW_KEY_BYTES : (new + 1) * ROW_KEY_BYTES] = key
                self._flags[new] = flags


class RowKeyTable:
    """A growable map from row key to a small set of flag bits (``int`` 0-255)."""

    def __init__(self) -> None:
        self._shards = [_Shard() for _ in range(_SHARDS)]

    def __len__(self) -> int:
        return sum(len(shard) for shard in self._shards)

    @property
    def nbytes(self) -> int:
        """Bytes held by the table's arrays."""
        return sum(shard.nbytes for shard in self._shards)

    def _shard(self, key: bytes) -> _Shard:
        # The last byte picks the shard; slots within a shard come from the first eight.
        return self._shards[key[-1] % _SHARDS]

    def get(self, key: bytes) -> int:
        """The flags of ``key`` (0 when it was never set)."""
        return self._shard(key).get(key)

    def set(self, key: bytes, flags: int) -> None:
        """Set the flags of ``key`` (inserting it when new)."""
        if len(key) != ROW_KEY_BYTES or key == _EMPTY:
            raise ValueError("not a row key")
        self._shard(key).set(key, flags)

    def add_flags(self, key: bytes, flags: int) -> int:
        """OR ``flags`` into the flags of ``key``; return the flags it had before."""
        shard = self._shard(key)
        before = shard.get(key)
        shard.set(key, before | flags)
        return before
