"""The lifecycle of a client, a three-state machine (as httpx's ``ClientState``). Pure.

::

    UNOPENED --first use: binds the running event loop, builds the pool gate--> OPENED
    UNOPENED, OPENED --aclose()--> CLOSED (final: every later use raises RuntimeError)

Used from another event loop than the one it was opened in, a client raises
``RuntimeError`` too (its pool, gate and pacer belong to that loop). A derived client
(``with_options``) shares its home's loop and pool: it is CLOSED when it or any client it
was derived from is closed, and otherwise in its home's state.
"""

from __future__ import annotations

import enum

__all__ = ["ClientState"]


class ClientState(enum.Enum):
    """Where a client is in its life: not yet used, in use (in one event loop), closed."""

    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"
