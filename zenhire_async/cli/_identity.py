"""Which CSV a bulk-invite journal belongs to.

``zenhire invite`` records its input in the journal's job record (``JobRecord.source``):

* ``path`` — the CSV's resolved path (symlinks and ``..`` resolved, so the same file named
  two ways is one input);
* ``size`` and ``sha256`` — the CSV's length in bytes and the SHA-256 of those bytes when the
  journal was made;
* ``delimiter`` — the column delimiter it was read with (for ``zenhire links``).

On a later run with that journal, the CSV is the same input when its resolved path is the
recorded one and it still *begins* with the recorded bytes (the hash of its first ``size``
bytes is the recorded one). So rows appended to the CSV since (the export grew, late
candidates added at the end) keep it the same input; a CSV elsewhere, another file put in
its place, or one whose earlier rows were edited, is another input, and the command refuses
the journal unless ``--journal-reuse`` says it is meant. A journal made before inputs were
recorded has no ``source``: it is used as before, unchecked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

__all__ = ["identify", "mismatch"]

_CHUNK = 1 << 20


def _digest(path: Path, limit: int | None) -> tuple[str, int]:
    """SHA-256 of the first ``limit`` bytes (all when ``None``) and how many were read."""
    sha = hashlib.sha256()
    read = 0
    with path.open("rb") as fh:
        while limit is None or read < limit:
            chunk = fh.read(_CHUNK if limit is None else min(_CHUNK, limit - read))
            if not chunk:
                break
            sha.update(chunk)
            read += len(chunk)
    return sha.hexdigest(), read


def identify(path: Path, delimiter: str) -> dict[str, str]:
    """The ``source`` to record for the CSV at ``path`` (reads the file once)."""
    digest, size = _digest(path, None)
    return {
        "path": str(path.resolve()),
        "size": str(size),
        "sha256": digest,
        "delimiter": delimiter,
    }


def mismatch(recorded: Mapping[str, str], path: Path) -> str | None:
    """Why ``path`` is not the recorded input, or ``None`` when it is (rows may be appended)."""
    where = recorded.get("path")
    if where is not None and where != str(path.resolve()):
        return f"it was made for {where}"
    try:
        size = int(recorded.get("size", ""))
    except ValueError:
        return None  # nothing comparable recorded
    expected = recorded.get("sha256")
    if expected is None:
        return None
    digest, read = _digest(path, size)
    if read < size or digest != expected:
        return (
            f"{path} has changed since it was made (its first {size:,} bytes differ; "
            "only rows appended at the end keep it the same input)"
        )
    return None
