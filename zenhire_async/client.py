"""``ZenHireClient``: configuration, lifecycle and the resources."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping
from types import TracebackType

from multidict import CIMultiDict
from yarl import URL

from . import _protocol as proto
from ._clock import LoopWallClock
from ._coordination import Coordinator, RowClaims
from ._events_dispatch import EventDispatcher, observed
from ._http import DEFAULT_MAX_RESPONSE_BYTES, ClientSession, Transport, check_base_url
from ._log_env import configure_from_env
from ._network_env import ca_context, check_proxy, environment_proxy
from ._pacing import RequestPacer
from ._poll_budget import PollBudget
from ._rate_limit import Priority, check_priority
from ._redact import redact_key
from ._retry import RetryPolicy
from ._validation import has_space_or_control
from .events import OnEvent
from .models import JSONObject
from .resources import Personas, Sessions

__all__ = ["DEFAULT_BASE_URL", "ZenHireClient"]

logger = logging.getLogger("zenhire_async")

DEFAULT_BASE_URL = "https://platform.zenhire.ai"
"""The platform root; the SDK appends ``/api/v1/interview``."""

DOCUMENTED_RATE_LIMIT = 500
"""The per-key budget in requests per minute; polling plans against it when pacing is off."""

# A base_url naming the API rather than the platform root: the SDK appends the prefix itself.
_API_SUFFIXES = (proto.API_PREFIX, "/api/v1")
_REFUSED_HEADERS = frozenset({"x-api-key", "host", "content-length"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def _check_headers(headers: Mapping[str, str] | None) -> CIMultiDict[str]:
    """Default headers: valid names and values, none of the ones the SDK must set itself."""
    if headers is None:
        return CIMultiDict()
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    checked: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if name.lower() in _REFUSED_HEADERS:
            raise ValueError(
                f"headers: {name!r} is set by the client itself and cannot be overridden "
                "(X-API-Key comes from api_key=, Host from base_url=)"
            )
        if not isinstance(value, str):
            raise TypeError(f"headers[{name!r}] must be a string, not {type(value).__name__}")
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError(f"headers[{name!r}] contains a line break or NUL")
        checked[name] = value
    return checked


def _platform_root(url: URL) -> URL:
    """``base_url`` as the platform root: a trailing ``/api/v1/interview`` or ``/api/v1`` goes."""
    path = url.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path == suffix or path.endswith(suffix):
            root = url.with_path(path[: -len(suffix)])
            logger.debug(
                "base_url %s ends in %s: using %s as the platform root (the SDK appends %s)",
                url,
                suffix,
                root,
                proto.API_PREFIX,
            )
            return root
    return url


class ZenHireClient:
    """An asyncio client for the ZenHire Interview API.

    Use it as an async context manager (or call :meth:`aclose`). One client per event loop;
    share it across the tasks of that loop: it paces every request through one token bucket
    of ``rate_limit_per_minute`` (the key's documented budget; ``None`` turns pacing off).

    ``api_key`` defaults to ``$ZENHIRE_API_KEY``, ``base_url`` (the platform root; a trailing
    ``/api/v1/interview`` or ``/api/v1`` is dropped) to ``$ZENHIRE_BASE_URL`` or
    ``https://platform.zenhire.ai``. ``timeout`` bounds each attempt (for recordings: each
    read), ``max_retries`` the retries of one call. ``headers`` are sent with every request
    (``X-API-Key``, ``Host`` and ``Content-Length`` are refused). ``proxy`` routes every
    request through an http(s) proxy; with ``trust_env`` (default) ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are
    honoured as httpx does. A borrowed aiohttp ``session`` is used as is (its own proxy and
    TLS settings; ``proxy=`` is refused with it) and never closed by the client.
    ``polling_share`` is the part of the request rate that waiting (``await_completion``,
    ``watch``) may use. ``priority`` (``"interactive"``, the default, or ``"batch"``) is how
    the client's calls draw on the budget: batch calls never take the last fifth of it, so
    that a person's call waits little beside a bulk job; ``bulk_invite``'s requests and the
    watcher's sweeps are batch whatever the client's priority. ``on_event``
    is a hook or a list of hooks given every :mod:`~zenhire_async.events` event.
    ``coordinator`` (``zenhire_async.redis.RedisCoordinator``) makes the pacing budget the one
    shared by every client of this key that uses the same Redis, in any process, and their
    ``await_completion`` waits one watcher (one leader sweeps for all); closing the client
    does not close it.
    For other options on some calls, see :meth:`with_options`.
    ``max_response_bytes`` caps every non-streamed body, counted once decompressed (a larger
    one raises ``ResponseTooLargeError``); recordings are streamed and have no cap.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limit_per_minute: int | None = 500,
        session: ClientSession | None = None,
        max_connections: int = 100,
        allow_insecure_http: bool = False,
        polling_share: float = 0.5,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        on_event: OnEvent | None = None,
        priority: Priority = "interactive",
        coordinator: Coordinator | None = None,
    ) -> None:
        configure_from_env(logger)
        checked_priority = check_priority(priority)
        key = api_key if api_key is not None else os.environ.get("ZENHIRE_API_KEY")
        if not key or not key.strip():
            raise ValueError("no API key: pass ZenHireClient(api_key=...) or set ZENHIRE_API_KEY")
        if has_space_or_control(key):
            raise ValueError("the API key contains whitespace or unprintable characters")
        root = base_url or os.environ.get("ZENHIRE_BASE_URL") or DEFAULT_BASE_URL
        _check_timeout(timeout)
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be a positive integer, got {max_connections!r}")
        if (
            not isinstance(max_response_bytes, int)
            or isinstance(max_response_bytes, bool)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be a positive integer, got {max_response_bytes!r}"
            )
        default_headers = _check_headers(headers)
        platform = _platform_root(check_base_url(root, allow_insecure_http=allow_insecure_http))
        if session is not None and proxy is not None:
            raise ValueError(
                "proxy= is not used with a borrowed session=: configure the proxy on that "
                "aiohttp.ClientSession (session.request takes proxy=), or drop session="
            )
        proxy_url: URL | None = None
        if proxy is not None:
            proxy_url = check_proxy(proxy)
        elif trust_env and session is None:
            proxy_url = environment_proxy(platform)
        pacer = None
        channel = None
        if coordinator is not None:
            if rate_limit_per_minute is None:
                raise ValueError("coordinator= shares a rate budget: set rate_limit_per_minute")
            pacer = coordinator.limiter(key, rate_limit_per_minute)
            channel = coordinator.watch_channel(key)
        elif rate_limit_per_minute is not None:
            pacer = RequestPacer(rate_limit_per_minute)
        self._key_hint = redact_key(key)
        self.base_url = str(platform)
        self._clock = LoopWallClock()
        self._parent: ZenHireClient | None = None
        self._transport = Transport(
            api_key=key,
            base_url=platform,
            timeout=float(timeout),
            retry=RetryPolicy(max_retries=max_retries),
            pacer=pacer,
            session=session,
            max_connections=max_connections,
            max_response_bytes=max_response_bytes,
            headers=default_headers,
            proxy=proxy_url,
            ssl_context=ca_context() if trust_env and session is None else None,
            events=EventDispatcher.build(on_event, secrets=(key,)),
            priority=checked_priority,
        )
        self.personas = Personas(self._transport)
        """Interviewer personas."""
        budget = PollBudget(rate_limit_per_minute or DOCUMENTED_RATE_LIMIT, polling_share)
        claims = None
        if coordinator is not None:
            held = coordinator  # a closure, not a partial: no repr ever shows the key

            def claims(persona_id: str) -> RowClaims:
                return held.claims(key, persona_id)

        self.sessions = Sessions(
            self._transport, self._clock, budget, claims=claims, channel=channel
        )
        """Interview sessions: links, status, waiting, results."""

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
        on_event: OnEvent | None = None,
        priority: Priority | None = None,
    ) -> ZenHireClient:
        """A client with other options that shares this one's pool, pacing and watcher.

        ``fast = zh.with_options(timeout=5.0, max_retries=0)`` then ``await
        fast.sessions.get(sid)``: this is how to give some calls their own options (the
        methods take none per call). Options not given are this client's; ``headers``
        merge over this client's (names case-insensitive; the same ones are refused);
        ``on_event`` hooks are added to this client's; ``priority`` is how its calls draw on
        the shared budget (see the class; bulk invites and sweeps stay batch). Cheap enough
        to make per request.
        Closing the derived client closes nothing; closing this one makes the derived one
        unusable (``RuntimeError``), as does closing the derived one itself. Waits
        (``await_completion``) join this client's shared watcher and poll with its options.
        """
        if timeout is not None:
            _check_timeout(timeout)
        checked_priority = None if priority is None else check_priority(priority)
        retry = self._transport.retry_policy
        if max_retries is not None:
            retry = dataclasses.replace(retry, max_retries=max_retries)
        transport = self._transport.derive(
            timeout=float(timeout) if timeout is not None else self._transport.timeout,
            retry=retry,
            headers=_check_headers(headers),
            priority=checked_priority,
        )
        child = ZenHireClient.__new__(ZenHireClient)
        transport.events = EventDispatcher.derive(
            self._transport.events, on_event, secrets=(self._transport._api_key,)
        )
        child._key_hint = self._key_hint
        child.base_url = self.base_url
        child._clock = self._clock
        child._parent = self
        child._transport = transport
        child.personas = Personas(transport)
        child.sessions = self.sessions._derive(transport)
        return child

    def __repr__(self) -> str:
        state = "closed" if self._transport.closed else "open"
        derived = " derived" if self._parent is not None else ""
        return f"<ZenHireClient{derived} {self.base_url} key={self._key_hint} {state}>"

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

        Waits still running in other tasks (``await_completion``) are woken and raise. A
        client from :meth:`with_options` only stops being usable: the session and the waits
        are its parent's.
        """
        if self._parent is None:
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


def _check_timeout(timeout: object) -> None:
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
