"""``ZENHIRE_LOG=debug|info``: logging without code, as ``OPENAI_LOG`` does.

When a client is built and ``$ZENHIRE_LOG`` is ``info`` (one line per call) or ``debug``
(one more per attempt, and notes such as a rewritten ``base_url``), a handler writing to
the current ``sys.stderr`` is attached to the ``zenhire_async`` logger, once per process,
and the logger's level is set. Every line is redacted at its source; the handler redacts
once more (link tokens, anything shaped like a key) in case a message carries one.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import TextIO

from ._redact import redact

__all__ = ["configure_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_from_env(logger: logging.Logger) -> None:
    """Attach the stderr handler and set the level that ``$ZENHIRE_LOG`` asks for."""
    value = os.environ.get("ZENHIRE_LOG", "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        warnings.warn(
            f"ZENHIRE_LOG={value!r} is not 'debug' or 'info'; ignored",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
