"""The retry loop of one call: attempts until one succeeds or ``RetryPolicy`` gives up.

The delays come from ``RetryPolicy`` (``_retry``, the one place that computes them); this
is the one place of the request path that sleeps between attempts. Each failure is cut off
from any foreign exception chained to it (:func:`detach`: aiohttp's hold the request's
headers), reported to ``on_failure`` (the transport penalizes its rate limiter on a 429)
and to the event hooks; the call is logged once at its end.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio

from .._protocol import RequestSpec
from .._retry import RetryPolicy
from ..errors import ZenHireError
from ._aio import detach
from ._log import log_call, log_retry

if TYPE_CHECKING:
    from .._events_dispatch import EventDispatcher

__all__ = ["with_retries"]

T = TypeVar("T")


async def with_retries(
    spec: RequestSpec,
    attempt: Callable[[int], Awaitable[T]],
    *,
    retry: RetryPolicy,
    path: str,
    events: EventDispatcher | None,
    on_failure: Callable[[ZenHireError], Awaitable[None]],
) -> T:
    """Run ``attempt(number)`` until it succeeds or ``retry`` gives up; raise the last error."""
    delays = retry.delays()
    started = anyio.current_time()
    for number in itertools.count(1):
        try:
            result = await attempt(number)
        except ZenHireError as error:
            detach(error)
            await on_failure(error)
            if events is not None:
                events.request_failed(spec, number, error)
            if number > retry.max_retries or not retry.should_retry(
                error, idempotent=spec.idempotent
            ):
                log_call(path, spec, started, number, error)
                raise
            delay = retry.delay_for(error, next(delays))
            if events is not None:
                events.retry_scheduled(number, delay, error)
            log_retry(path, spec, delay, number)
        else:
            log_call(path, spec, started, number, None)
            return result
        await anyio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
