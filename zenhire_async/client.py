"""``ZenHireClient``: configuration, lifecycle and the resources."""

from __future__ import annotations

import os
from types import TracebackType

import aiohttp

from . import _protocol as proto
from ._clock import LoopWallClock
from ._events_dispatch import EventDispatcher, observed
from ._http import Transport, check_base_url
from ._pacing import RequestPacer
from ._redact import redact_key
from ._retry import RetryPolicy
from .events import OnEvent
from .models import JSONObject
from .resources import Personas, Sessions
from .watching import PollBudget

__all__ = ["DEFAULT_BASE_URL", "ZenHireClient"]

DEFAULT_BASE_URL = "https://platform.zenhire.ai"
"""The platform root; the SDK appends ``/api/v1/interview``."""

DOCUMENTED_RATE_LIMIT = 500
"""The per-key budget in requests per minute; polling plans against it when pacing is off."""


class ZenHireClient:
    """An asyncio client for the ZenHire Interview API.

    Use it as an async context manager (or call :meth:`aclose`). One client per event loop;
    share it across the tasks of that loop: it paces every request through one token bucket
    of ``rate_limit_per_minute`` (the key's documented budget; ``None`` turns pacing off).

    ``api_key`` defaults to ``$ZENHIRE_API_KEY``, ``base_url`` (the platform root) to
    ``$ZENHIRE_BASE_URL`` or ``https://platform.zenhire.ai``. ``timeout`` bounds each attempt
    (for recordings: each read), ``max_retries`` the retries of one call. A borrowed aiohttp
    ``session`` is used as is and never closed by the client. ``polling_share`` is the part of
    the request rate that waiting (``await_completion``, ``watch``) may use. ``on_event``
    is a hook or a list of hooks given every :mod:`~zenhire_async.events` event.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit_per_minute: int | None = 500,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        allow_insecure_http: bool = False,
        polling_share: float = 0.5,
        on_event: OnEvent | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ZENHIRE_API_KEY")
        if not key or not key.strip():
            raise ValueError("no API key: pass ZenHireClient(api_key=...) or set ZENHIRE_API_KEY")
        if any(ch.isspace() for ch in key) or not key.isprintable():
            raise ValueError("the API key contains whitespace or unprintable characters")
        root = base_url or os.environ.get("ZENHIRE_BASE_URL") or DEFAULT_BASE_URL
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be a positive integer, got {max_connections!r}")
        self._key_hint = redact_key(key)
        self.base_url = str(check_base_url(root, allow_insecure_http=allow_insecure_http))
        self._clock = LoopWallClock()
        self._transport = Transport(
            api_key=key,
            base_url=check_base_url(root, allow_insecure_http=allow_insecure_http),
            timeout=float(timeout),
            retry=RetryPolicy(max_retries=max_retries),
            pacer=None if rate_limit_per_minute is None else RequestPacer(rate_limit_per_minute),
            session=session,
            max_connections=max_connections,
            events=EventDispatcher.build(on_event, secrets=(key,)),
        )
        self.personas = Personas(self._transport)
        """Interviewer personas."""
        budget = PollBudget(rate_limit_per_minute or DOCUMENTED_RATE_LIMIT, polling_share)
        self.sessions = Sessions(self._transport, self._clock, budget)
        """Interview sessions: links, status, waiting, results."""

    def __repr__(self) -> str:
        state = "closed" if self._transport.closed else "open"
        return f"<ZenHireClient {self.base_url} key={self._key_hint} {state}>"

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._transport.closed

    async def __aenter__(self) -> ZenHireClient:
        if self._transport.closed:
            raise RuntimeError("this ZenHireClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's HTTP session (a borrowed one stays open). Idempotent.

        Waits still running in other tasks (``await_completion``) are woken and raise.
        """
        self.sessions._close()
        await self._transport.aclose()
        if self._transport.events is not None:
            await self._transport.events.aclose()  # coroutine hooks catch up

    @observed("health")
    async def health(self) -> JSONObject:
        """``GET /api/v1/health``: the platform's health document (needs no key)."""
        response = await self._transport.send(proto.health())
        return proto.decode(proto.JSON_OBJECT, response.body, "health")

    @observed("credits")
    async def credits(self) -> JSONObject:
        """``GET /api/v1/credits``: the client's credit balance, as the server sent it."""
        response = await self._transport.send(proto.credits())
        return proto.decode(proto.JSON_OBJECT, response.body, "credits")
