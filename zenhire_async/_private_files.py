"""One way to replace a file that holds secrets or personal data: private, whole or absent.

Candidate links are secrets and recordings and transcripts are personal data, so every file
the SDK and the ``zenhire`` command write goes through :func:`replacing`: a new temporary
file beside the target, created by ``mkstemp`` (``O_CREAT | O_EXCL``, mode 0600, so never
through a symbolic link or into someone else's file), filled and fsync'd by the caller, and
renamed over the target only when the block ends without an error. On any error, or a
cancellation, the temporary file is removed and the target is left as it was; a symbolic
link at the target is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """Yield a new private file beside ``target``, open for writing, and its path; on
    success close it and rename it over ``target``.

    The caller writes and fsyncs (off the event loop where it is async); a check that must
    hold just before the rename goes at the end of the block. Synchronous on purpose: the
    clean-up must run even while a task is being cancelled.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, temporary
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
