"""The one request path: :class:`Transport` sends every request of a client (see the
package's docstring for the theory of operation).

It is the only module that awaits the network and sleeps between retries; a derived
transport (``with_options``; the batch one of bulk invites and sweeps) has its own timeout,
retries, headers and token ``priority`` over its home's session, pool gate, pacer and loop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import anyio
from multidict import CIMultiDict
from yarl import URL

from .._protocol import RequestSpec
from .._rate_limit import Priority, RateLimiter
from .._retry import RetryPolicy
from ..errors import APIConnectionError, APIError, DecodeError, TooManyRedirectsError, ZenHireError
from ._aio import (
    NETWORK_ERRORS,
    USER_AGENT,
    StreamedBody,
    attempt_timeouts,
    connection_error,
    detach,
    new_session,
)
from ._headers import HeaderSets, ProxyRoute
from ._limits import DEFAULT_MAX_RESPONSE_BYTES, error_of, is_json, read_body
from ._log import log_attempt
from ._pool import pool_gate
from ._redirects import (
    ARTIFACT_ROUTES,
    MAX_POINTER_BODY,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    redirect_target,
    storage_pointer,
)
from ._retrying import with_retries
from ._state import ClientState

if TYPE_CHECKING:
    from .._events_dispatch import EventDispatcher

__all__ = ["Response", "Transport"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Response:
    """A complete (non-streamed) successful response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Owns (or borrows) the aiohttp session and sends :class:`RequestSpec`s through it."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: URL,
        timeout: float,
        retry: RetryPolicy,
        pacer: RateLimiter | None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
        proxy: URL | None = None,
        ssl_context: ssl.SSLContext | None = None,
        events: EventDispatcher | None = None,
        priority: Priority = "interactive",
    ) -> None:
        self.events = events  # None when no hook listens: every emit checks that first
        self._api_key = api_key
        self._max_body = max_response_bytes
        self._base_url = base_url
        self.pacer = pacer
        self.priority: Priority = priority
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._root = base_url.path.rstrip("/")
        self._proxy = ProxyRoute(proxy, base_url)
        self._ssl_context = ssl_context
        # A derived transport (``with_options``) shares its home's session, pool gate and
        # loop, and is closed when its parent is (``_state`` then records its own closing).
        self._parent: Transport | None = None
        self._home: Transport = self
        self._configure(timeout, retry, CIMultiDict(headers or {}))
        self._state = ClientState.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None  # the home's, once OPENED
        self._slots: anyio.Semaphore | None = None  # the home's pool gate, once OPENED

    def _configure(self, timeout: float, retry: RetryPolicy, headers: CIMultiDict[str]) -> None:
        self._timeout = timeout
        self._retry = retry
        # Built once: each request reuses them (they are immutable).
        self._timeouts = attempt_timeouts(timeout)
        self._headers = HeaderSets(
            api_key=self._api_key,
            user_agent=USER_AGENT,
            defaults=headers,
            own_session=self._owns_session,
            proxy_auth=self._proxy.request_auth,
        )

    def derive(
        self,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        priority: Priority | None = None,
    ) -> Transport:
        """A transport with other options over this one's session, pool, pacer and loop.

        Options not given are this one's; ``headers`` merge over its (case-insensitive).
        Closing the derived transport closes nothing; closing this one makes it unusable.
        """
        child = Transport.__new__(Transport)
        child.__dict__.update(self.__dict__)
        merged = CIMultiDict(self._headers.defaults)
        merged.update(headers or {})
        child._configure(timeout or self._timeout, retry or self._retry, merged)
        child.priority = priority or self.priority
        child._parent = self
        child._state = ClientState.UNOPENED
        return child

    @property
    def timeout(self) -> float:
        """The per-attempt timeout in seconds."""
        return self._timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed attempts are retried."""
        return self._retry

    @property
    def state(self) -> ClientState:
        """CLOSED once this transport or one it derives from is closed, else its home's."""
        transport: Transport | None = self
        while transport is not None:
            if transport._state is ClientState.CLOSED:
                return ClientState.CLOSED
            transport = transport._parent
        return self._home._state

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called, on this transport or on its parent."""
        return self.state is ClientState.CLOSED

    def check_usable(self) -> None:
        """Raise ``RuntimeError`` when closed or first used in another event loop.

        The first call opens the client (binds it to the running loop). Long operations
        (waits, watches, bulk invites, downloads) call it before they start, so that a
        second loop gets this clear error up front rather than from deep inside a task group.
        """
        state = self.state
        if state is ClientState.CLOSED:
            raise RuntimeError("this ZenHireClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        home = self._home
        if state is ClientState.UNOPENED:
            home._bind(loop)
        elif home._loop is not loop:
            raise RuntimeError(
                "this ZenHireClient was first used in another event loop; "
                "create one client per event loop"
            )

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """UNOPENED -> OPENED (on the home transport): bind ``loop``, build the pool gate."""
        self._slots = pool_gate(self._max_connections, self._session, self._owns_session)
        self._loop = loop
        self._state = ClientState.OPENED

    def _client_session(self) -> aiohttp.ClientSession:
        home = self._home
        if home._session is None:
            home._session = new_session(home._max_connections, home._ssl_context)
        return home._session

    async def _take_slot(self) -> anyio.Semaphore | None:
        """Check the client is usable and take a place in the pool (see :func:`pool_gate`);
        the caller releases it after the attempt. A free place is taken without an await
        (every request pays this; ``acquire_nowait`` costs a tenth of ``async with``)."""
        self.check_usable()
        gate = self._home._slots
        if gate is not None:
            try:
                gate.acquire_nowait()
            except anyio.WouldBlock:
                await gate.acquire()
        return gate

    async def aclose(self) -> None:
        """Close the session if we created it (a borrowed one is left to its owner).

        A derived transport is only marked closed: its session is its home's.
        """
        self._state = ClientState.CLOSED
        if self._home is not self:
            return
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def _pace(self) -> None:
        if self.pacer is not None:
            waited = await self.pacer.acquire(1, self.priority)
            if waited and self.events is not None:
                self.events.pacing_waited(waited, self.priority)

    async def _note_failure(self, error: ZenHireError) -> None:
        if self.pacer is not None and isinstance(error, APIError) and error.status == 429:
            # Capped: a server asking for hours (or 1e300 s) must not freeze the client.
            wait = error.retry_after if error.retry_after is not None else 1.0
            await self.pacer.penalize(min(wait, self._retry.max_retry_after))

    async def _open(
        self, spec: RequestSpec, *, stream: bool, attempt: int = 1
    ) -> tuple[aiohttp.ClientResponse, bytes | None]:
        """One attempt (with its redirects): a successful response, and its body if read.

        The body is read here only when an artifact route answered JSON (it might name a
        storage URL); otherwise it is ``None`` and left unread. The caller (:meth:`_attempt`)
        owns the response: it enters ``async with resp`` at once, with no await in between,
        and maps network failures while reading the body, so that a truncated body is a
        retryable failure too.
        """
        session = self._client_session()
        await self._pace()
        loop = self._home._loop
        started = loop.time() if loop is not None else 0.0
        url = self._base_url.with_path(self._root + spec.path)
        if spec.params:
            url = url.with_query(list(spec.params))
        timeout = self._timeouts[stream]
        offsite = False  # at a storage origin: no key, ever again in this attempt
        status = 0
        events = self.events
        for hop in range(MAX_REDIRECTS + 1):
            if hop:
                await self._pace()  # a followed redirect is one more request to the server
            elif events is not None:
                events.request_sent(spec, attempt)
            failure: APIConnectionError | None = None
            try:
                resp = await session.request(
                    spec.method,
                    url,
                    data=None if offsite else spec.body,
                    # Not a local variable: a traceback formatted with its locals shows them.
                    headers=self._headers.for_hop(spec, stream=stream, offsite=offsite),
                    proxy=self._proxy.url,
                    proxy_headers=self._proxy.connect_headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
                status = resp.status
                if status in REDIRECT_STATUSES:
                    async with resp:
                        location = resp.headers.get("Location")
                        url, offsite = redirect_target(
                            spec, self._base_url, url, status, location, offsite
                        )
                    continue
                if status >= 400:
                    async with resp:
                        raise await error_of(resp, self._max_body, self._api_key)
                if not offsite and spec.route in ARTIFACT_ROUTES and is_json(resp):
                    async with resp:
                        limit = MAX_POINTER_BODY if stream else self._max_body
                        body = await read_body(resp, limit)
                    target = storage_pointer(spec, body, status)
                    if target is not None:
                        url, offsite = target, True
                        continue
                    if stream:
                        raise DecodeError(
                            f"unexpected {spec.route} answer: JSON, neither audio nor a URL"
                        )
                    self._answered(spec, attempt, started, status, resp.headers.get("X-Request-Id"))
                    return resp, body
                self._answered(spec, attempt, started, status, resp.headers.get("X-Request-Id"))
                return resp, None
            except NETWORK_ERRORS as exc:
                failure = connection_error(exc, timeout=self._timeout)
            except ZenHireError as error:
                if isinstance(error, APIError):
                    self._answered(spec, attempt, started, error.status, error.request_id, error)
                else:
                    path = self._root + spec.path
                    log_attempt(path, spec, started, None, None, self._api_key, error)
                raise
            raise failure  # here, outside the handler: aiohttp's exception is not chained
        raise TooManyRedirectsError(
            f"the server redirected {spec.route} more than {MAX_REDIRECTS} times",
            status=status,
        )

    def _answered(
        self,
        spec: RequestSpec,
        attempt: int,
        started: float,
        status: int,
        request_id: str | None,
        error: APIError | None = None,
    ) -> None:
        """Log (and emit) the server's answer to one attempt, an error answer included."""
        log_attempt(self._root + spec.path, spec, started, status, request_id, self._api_key, error)
        events = self.events
        if events is not None:
            events.response_received(spec, attempt, status, started, request_id)

    @asynccontextmanager
    async def _attempt(
        self, spec: RequestSpec, *, stream: bool, attempt: int
    ) -> AsyncIterator[tuple[aiohttp.ClientResponse, bytes | None]]:
        """One attempt: a place in the pool, :meth:`_open`, and the successful response
        held open (with its body, if :meth:`_open` read it) while the caller reads it.

        Network failures in the caller's block (a body that breaks off) are mapped here;
        the place in the pool is released when the block exits. The one path of every
        attempt, whole or streamed.
        """
        gate = await self._take_slot()
        try:
            resp, body = await self._open(spec, stream=stream, attempt=attempt)
            failure: APIConnectionError | None = None
            try:
                async with resp:
                    yield resp, body
            except NETWORK_ERRORS as exc:
                failure = connection_error(exc, timeout=self._timeout)
            if failure is not None:
                raise failure
        finally:
            if gate is not None:
                gate.release()

    async def _call(self, spec: RequestSpec, attempt: Callable[[int], Awaitable[T]]) -> T:
        """``attempt(number)`` under this transport's retry policy (:func:`with_retries`)."""
        return await with_retries(
            spec,
            attempt,
            retry=self._retry,
            path=self._root + spec.path,
            events=self.events,
            on_failure=self._note_failure,
        )

    async def send(self, spec: RequestSpec) -> Response:
        """Send ``spec`` (with retries) and return the whole successful response."""

        async def once(number: int) -> Response:
            async with self._attempt(spec, stream=False, attempt=number) as (resp, body):
                if body is None:
                    body = await read_body(resp, self._max_body)
                return Response(resp.status, resp.headers, body)

        return await self._call(spec, once)

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[StreamedBody]:
        """Send ``spec`` and hold the successful response open while the caller reads it.

        Only getting the response is retried; a failure in the middle of the body is raised.
        """
        async with AsyncExitStack() as stack:

            async def once(number: int) -> StreamedBody:
                attempt = self._attempt(spec, stream=True, attempt=number)
                resp, _ = await stack.enter_async_context(attempt)
                return StreamedBody(resp)

            body = await self._call(spec, once)
            try:
                yield body
            except ZenHireError as error:
                detach(error)  # raised while the caller read the body
                raise

    async def fetch_streamed(
        self, spec: RequestSpec, consume: Callable[[StreamedBody], Awaitable[T]]
    ) -> T:
        """Send ``spec`` and let ``consume`` read the successful response's body, with retries.

        Unlike :meth:`stream`, a failure while ``consume`` reads the body (a connection that
        breaks off, a body shorter than its ``Content-Length``: ``APIConnectionError``) fails
        the whole attempt, and the request is sent again under the retry policy. ``consume``
        must therefore start from scratch each time it is called (``download_recording``
        writes a fresh temporary file).
        """

        async def once(number: int) -> T:
            async with self._attempt(spec, stream=True, attempt=number) as (resp, _):
                return await consume(StreamedBody(resp))

        return await self._call(spec, once)
