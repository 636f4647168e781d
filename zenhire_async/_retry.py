"""The retry policy: which failures to retry and how long to wait. Pure, no I/O.

GETs are retried on connection errors, timeouts, 429 and 5xx answers from the edge (500, 502,
503, 504). A POST is retried only when the server provably did not act on it: the connection
failed before the request was sent, or the server refused it with 429 or 503 *and* a
``Retry-After``. Anything else about a POST is ambiguous (the session may exist) and is raised
to the caller, who knows whether to reconcile (``bulk_invite`` does).

Delays come from the ``backoff`` library's exponential generator with full jitter, capped; a
``Retry-After`` from the server replaces the computed delay, and is never waited out for
longer than :data:`MAX_RETRY_AFTER`.

This is the one place that computes a delay between attempts: the request path
(``_http``), the poll sweep after a failed run (:func:`failure_backoff`) and the bulk
inviter's rounds all take their delays from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import backoff

from .errors import APIConnectionError, APIError, RateLimitError, ServerError, ZenHireError

__all__ = [
    "MAX_RETRY_AFTER",
    "RETRYABLE_GET_STATUSES",
    "TRANSIENT_ERRORS",
    "RetryPolicy",
    "failure_backoff",
]

RETRYABLE_GET_STATUSES = frozenset({429, 500, 502, 503, 504})
_REFUSED_STATUSES = frozenset({429, 503})

MAX_RETRY_AFTER = 120.0
"""The longest ``Retry-After`` (seconds) the client waits out; a longer one is raised."""

TRANSIENT_ERRORS = (APIConnectionError, ServerError, RateLimitError)
"""Failures that say nothing about the request itself: trying again later may succeed."""

_FAILURE_BACKOFF_CAP = 60.0


def failure_backoff(failures: int, error: ZenHireError | None = None) -> float:
    """The pause after the ``failures``-th failure in a row of a repeating task (a sweep).

    Full jitter over ``2 ** failures`` seconds, capped at a minute; a 429's ``Retry-After``
    replaces it, capped at :data:`MAX_RETRY_AFTER` (never a wait of hours).
    """
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_AFTER)
    return float(backoff.full_jitter(min(_FAILURE_BACKOFF_CAP, 2.0 ** max(0, failures))))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry one call, and the shape of the delays between attempts."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = MAX_RETRY_AFTER

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(
                f"max_retries must be a non-negative integer, got {self.max_retries!r}"
            )

    def delays(self) -> Iterator[float]:
        """An endless series of jittered, capped exponential delays (seconds)."""
        gen = backoff.expo(base=2, factor=self.base_delay, max_value=self.max_delay)
        gen.send(None)
        for value in gen:
            yield backoff.full_jitter(value)

    def should_retry(self, error: ZenHireError, *, idempotent: bool) -> bool:
        """Whether ``error`` is worth another attempt of a request of this kind."""
        if isinstance(error, APIConnectionError):
            return idempotent or not error.request_sent
        if isinstance(error, APIError):
            if error.retry_after is not None and error.retry_after > self.max_retry_after:
                return False
            if idempotent:
                return error.status in RETRYABLE_GET_STATUSES
            return error.status in _REFUSED_STATUSES and error.retry_after is not None
        return False

    def delay_for(self, error: ZenHireError, computed: float) -> float:
        """The wait before the next attempt: the server's ``Retry-After`` when it gave one."""
        if isinstance(error, APIError) and error.retry_after is not None:
            return error.retry_after
        return computed
