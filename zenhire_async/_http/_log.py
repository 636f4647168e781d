"""The request path's log lines: one INFO line per call, one DEBUG line per attempt.

``ZENHIRE_LOG=info`` shows calls, ``debug`` adds attempts (the full path sent, the elapsed
time, the request id) and retries. An error's text is redacted of the key before it is
logged. Each function checks the level first: a disabled line costs one call.
"""

from __future__ import annotations

import logging

import anyio

from .._protocol import RequestSpec
from .._redact import redact
from ..errors import APIError, ZenHireError

__all__ = ["log_attempt", "log_call", "log_retry", "logger"]

logger = logging.getLogger("zenhire_async")


def log_attempt(
    path: str,
    spec: RequestSpec,
    started: float,
    status: int | None,
    request_id: str | None,
    api_key: str,
    error: BaseException | None = None,
) -> None:
    """One DEBUG line for an attempt that got ``status`` (or failed with ``error``)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    elapsed_ms = (anyio.current_time() - started) * 1000
    outcome = str(status) if status is not None else type(error).__name__
    logger.debug(
        "%s %s -> %s elapsed=%.1fms request_id=%s%s",
        spec.method,
        path,
        outcome,
        elapsed_ms,
        request_id or "-",
        f" error={redact(str(error), api_key)}" if error is not None else "",
    )


def log_retry(path: str, spec: RequestSpec, delay: float, number: int) -> None:
    """One DEBUG line when attempt ``number`` failed and another follows in ``delay``."""
    logger.debug("retrying %s %s in %.2fs (attempt %d failed)", spec.method, path, delay, number)


def log_call(
    path: str, spec: RequestSpec, started: float, attempts: int, error: ZenHireError | None
) -> None:
    """One INFO line for a whole call: its outcome, time and number of attempts."""
    if not logger.isEnabledFor(logging.INFO):
        return
    if error is None:
        outcome = "ok"
    else:
        status = error.status if isinstance(error, APIError) else None
        outcome = type(error).__name__ + (f" ({status})" if status is not None else "")
    logger.info(
        "%s %s -> %s in %.1fms (%d attempt%s)",
        spec.method,
        path,
        outcome,
        (anyio.current_time() - started) * 1000,
        attempts,
        "" if attempts == 1 else "s",
    )
